"""The application exactly as ``make run`` ships it, for the smoke and browser tests.

A throwaway instance folder (``DISCLOSURE_INSTANCE_PATH``) gets what ``make config`` writes (a
``config.py`` with a random ``SECRET_KEY``, nothing else, nothing copied from the developer's
``instance/``); ``flask db upgrade`` and ``flask seed-demo`` run as commands; ``flask run`` serves
it as a subprocess on a free 127.0.0.1 port with ``DISCLOSURE_PRODUCTION=false``, like the
Makefile. Nothing is switched off: rate limits, CSRF and the minimum fill time are the defaults,
and the database is the SQLite file in the instance folder.

``Visitor`` is a person's browser without JavaScript (stdlib only): cookies, forms read from the
page, a loopback source address of its own (127.0.0.2, 127.0.0.3, ...) so that each test is a
different client for the per-address limits, and a limit of ``TIMEOUT`` seconds on every
answer, so that a hang fails fast instead of waiting for a 60-second lock timeout.
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import signal
import socket
import sqlite3
import subprocess  # nosec B404 # the test runs the project's own commands
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from html import unescape
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest

import disclosure_app

PROJECT_ROOT = Path(disclosure_app.__file__).resolve().parent.parent
# Every answer within this many seconds, or the test fails (a locked database waits 30 s a try).
TIMEOUT = 10.0
START_SECONDS = 60.0


def write_instance_config(instance: Path) -> None:
    """What ``make config`` writes on a fresh clone: a random SECRET_KEY and nothing else."""
    instance.mkdir(parents=True, exist_ok=True)
    (instance / "config.py").write_text(f"SECRET_KEY = {secrets.token_hex(32)!r}\n",
                                        encoding="utf-8")


def shipped_environment(instance: Path) -> dict[str, str]:
    """The environment ``make run`` gives the app: the caller's, less anything that would
    configure the app or Flask differently, plus ``DISCLOSURE_PRODUCTION=false``."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("DISCLOSURE_", "FLASK_"))
           and name not in ("DATABASE_URL", "TEST_DATABASE_URL")}
    env |= {"DISCLOSURE_PRODUCTION": "false", "DISCLOSURE_INSTANCE_PATH": str(instance),
            "PYTHONUNBUFFERED": "1"}
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class DemoLogin:
    email: str
    password: str
    totp_secret: str


@dataclass
class ShippedServer:
    instance: Path
    env: dict[str, str]
    url: str = ""
    process: subprocess.Popen[bytes] | None = None
    demo_logins: dict[str, DemoLogin] = field(default_factory=dict)
    demo_status_path: str | None = None
    hung: bool = False  # a request got no answer: its thread may still hold a lock
    _app: Any = None

    @property
    def database(self) -> Path:
        return self.instance / "disclosure.sqlite"

    @property
    def log_path(self) -> Path:
        return self.instance / "server.log"

    def flask(self, *args: str) -> str:
        """Run ``flask --app disclosure_app ARGS`` as ``make`` does; returns what it printed."""
        done = subprocess.run(  # noqa: S603 # nosec B603 # fixed arguments
            [sys.executable, "-m", "flask", "--app", "disclosure_app", *args],
            cwd=PROJECT_ROOT, env=self.env, capture_output=True, text=True, timeout=300,
            check=False)
        output = done.stdout + done.stderr
        assert done.returncode == 0, f"flask {' '.join(args)} failed:\n{output}"
        return output

    def seed_demo(self) -> None:
        """``flask seed-demo``, keeping the logins and the status link it prints once."""
        output = self.flask("seed-demo")
        for match in re.finditer(r"(\S+@\S+)\s+(\S+)\s+([A-Z2-7]{32})\s*$", output, re.M):
            self.demo_logins[match.group(1)] = DemoLogin(*match.groups())
        assert self.demo_logins, output
        status = re.search(r"Status link for the newest application: (/status/\S+)", output)
        self.demo_status_path = status.group(1) if status else None

    def start(self) -> None:
        """``flask run --host 127.0.0.1 --port PORT``, its output in ``server.log``; returns
        once the start page answers."""
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 # nosec B603 # fixed arguments
            [sys.executable, "-m", "flask", "--app", "disclosure_app", "run",
             "--host", "127.0.0.1", "--port", str(port)],
            cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"flask run stopped at start:\n{self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"flask run did not listen within {START_SECONDS} s:\n"
                             f"{self.log_tail()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)  # Ctrl+C, as a person stops `make run`
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def restart_if_hung(self) -> None:
        """After a hang, a new server process on the same instance folder, so that the next
        test fails (or passes) on its own account, not on a lock left by the one before."""
        if self.hung:
            self.stop()
            self.start()
            self.hung = False

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])

    @property
    def app(self) -> Any:
        """The same app in this process (same instance folder, configuration and database
        file), for test data made through the services and for reading what was stored."""
        if self._app is None:
            with pytest.MonkeyPatch.context() as patch:
                for name in list(os.environ):
                    if name.startswith(("DISCLOSURE_", "FLASK_")) or name == "DATABASE_URL":
                        patch.delenv(name)
                for name, value in self.env.items():
                    if name.startswith("DISCLOSURE_"):
                        patch.setenv(name, value)
                self._app = disclosure_app.create_app()
        return self._app

    def dispose(self) -> None:
        if self._app is not None:
            self._app.extensions["db_engine"].dispose()

    @property
    def sqlite(self) -> bool:
        return "DISCLOSURE_DATABASE_URL" not in self.env

    def query(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        """Read what is stored (``:name`` parameters). On SQLite, the file directly, read-only:
        no lock is taken, so a server that holds one cannot stall the test's own reads."""
        if not self.sqlite:
            from sqlalchemy import text

            with self.app.extensions["db_engine"].connect() as conn:
                return [tuple(row) for row in conn.execute(text(sql), params)]
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=TIMEOUT) as db:
            return db.execute(sql, params).fetchall()

    def row_counts(self, *, leave_out: tuple[str, ...] = ()) -> dict[str, int]:
        tables = [name for (name,) in self.query(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        return {name: self.query(f'SELECT count(*) FROM "{name}"')[0][0]  # noqa: S608 # nosec B608
                for name in tables if name not in leave_out}


@contextmanager
def shipped_server(instance: Path, *, seed: bool = True,
                   settings: Mapping[str, str] | None = None) -> Iterator[ShippedServer]:
    """A fresh instance folder migrated (and seeded) by the commands, served by ``flask run``.
    ``settings``: ``DISCLOSURE_*`` variables a deployment would set (a PostgreSQL database);
    none for the configuration ``make run`` ships."""
    write_instance_config(instance)
    env = shipped_environment(instance) | dict(settings or {})
    assert all(name.startswith("DISCLOSURE_") for name in settings or {}), settings
    server = ShippedServer(instance=instance, env=env)
    server.flask("db", "upgrade")
    if seed:
        server.seed_demo()
    try:
        server.start()
        yield server
    finally:
        server.stop()
        server.dispose()


# --- A person's browser, without JavaScript ----------------------------------------------------


@dataclass
class Field:
    tag: str
    type: str
    name: str
    value: str
    checked: bool = False
    id: str = ""
    options: list[tuple[str, bool]] = field(default_factory=list)  # select: (value, selected)


@dataclass
class Form:
    action: str
    method: str
    fields: list[Field] = field(default_factory=list)

    def names(self) -> set[str]:
        return {f.name for f in self.fields if f.name}

    def fill(self, answers: Mapping[str, Any] | None = None) -> list[tuple[str, str]]:
        """The pairs a browser sends after a person typed ``answers``: text (a tuple for a
        GOV.UK date: day, month, year), True to tick a box, a value to choose a radio button
        or option. Hidden fields are sent as they are; unknown names fail."""
        answers = dict(answers or {})
        unknown = set(answers) - self.names()
        assert not unknown, f"no such fields on the form {self.action}: {sorted(unknown)}"
        pairs: list[tuple[str, str]] = []
        for f in self.fields:
            if not f.name or f.type in ("submit", "button", "reset", "file"):
                continue
            wanted = answers.get(f.name)
            if f.type == "radio":
                if (f.value == str(wanted)) if f.name in answers else f.checked:
                    pairs.append((f.name, f.value))
            elif f.type == "checkbox":
                ticked = (wanted is True or (isinstance(wanted, list | tuple) and f.value in wanted)
                          ) if f.name in answers else f.checked
                if ticked:
                    pairs.append((f.name, f.value or "on"))
            elif f.tag == "select":
                chosen = str(wanted) if f.name in answers else next(
                    (v for v, selected in f.options if selected),
                    f.options[0][0] if f.options else "")
                pairs.append((f.name, chosen))
            elif f.type == "hidden" or f.name not in answers:
                pairs.append((f.name, f.value))
            elif isinstance(wanted, tuple):  # a date: the part named by the input's id
                part = f.id.rsplit("-", 1)[-1]
                pairs.append((f.name, wanted[("day", "month", "year").index(part)]))
            else:
                pairs.append((f.name, str(wanted)))
        return pairs


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._text: Field | None = None  # the textarea being read
        self._select: Field | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = Form(a.get("action", ""), a.get("method", "get").lower())
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag in ("input", "button"):
            kind = a.get("type", "text" if tag == "input" else "submit").lower()
            self._form.fields.append(Field(tag, kind, a.get("name", ""), a.get("value", ""),
                                           "checked" in a, a.get("id", "")))
        elif tag == "textarea":
            self._text = Field(tag, "textarea", a.get("name", ""), "", id=a.get("id", ""))
            self._form.fields.append(self._text)
        elif tag == "select":
            self._select = Field(tag, "select", a.get("name", ""), "", id=a.get("id", ""))
            self._form.fields.append(self._select)
        elif tag == "option" and self._select is not None:
            self._select.options.append((a.get("value", ""), "selected" in a))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "textarea":
            self._text = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.value += data


@dataclass
class Response:
    method: str
    url: str
    status: int
    headers: Message
    text: str
    seconds: float

    @property
    def location(self) -> str:
        return urljoin(self.url, self.headers.get("Location", ""))

    def forms(self) -> list[Form]:
        parser = _FormParser()
        parser.feed(self.text)
        return parser.forms

    def form(self, action: str) -> Form:
        """The form whose action ends with ``action`` (the last one, if several)."""
        found = [f for f in self.forms() if urlsplit(f.action).path.endswith(action)]
        assert found, f"no form to {action} on {self.url}:\n{self.text[:3000]}"
        return found[-1]

    def main_text(self) -> str:
        """The visible text of <main>, whitespace collapsed."""
        match = re.search(r"<main\b.*?</main>", self.text, re.S)
        body = match.group(0) if match else self.text
        body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
        return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", body))).strip()


class Visitor:
    """One person's browser: cookies, its own loopback address, at most TIMEOUT s an answer."""

    def __init__(self, server: ShippedServer, address: str = "127.0.0.1") -> None:
        self.server = server
        self.address = address
        self.cookies: SimpleCookie = SimpleCookie()

    def get(self, path: str, *, follow: bool = False) -> Response:
        return self.request("GET", path, follow=follow)

    def post(self, path: str, pairs: list[tuple[str, str]], *, follow: bool = False) -> Response:
        return self.request("POST", path, pairs, follow=follow)

    def send(self, form: Form, answers: Mapping[str, Any] | None = None, *,
             follow: bool = False) -> Response:
        return self.post(form.action, form.fill(answers), follow=follow)

    def request(self, method: str, path: str, pairs: list[tuple[str, str]] | None = None, *,
                follow: bool = False) -> Response:
        response = self._once(method, path, pairs)
        for _ in range(5):
            if not (follow and response.status in (301, 302, 303, 307, 308)):
                break
            response = self._once("GET", response.location, None)
        return response

    def _once(self, method: str, path: str, pairs: list[tuple[str, str]] | None) -> Response:
        from urllib.parse import urlencode

        url = urljoin(self.server.url + "/", path)
        parts = urlsplit(url)
        assert parts.hostname == "127.0.0.1", url  # only this machine's own server
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT,
                                                source_address=(self.address, 0))
        headers = {"Connection": "close", "User-Agent": "smoke-test"}
        cookie = "; ".join(f"{k}={m.value}" for k, m in self.cookies.items())
        if cookie:
            headers["Cookie"] = cookie
        body = None
        if pairs is not None:
            body = urlencode(pairs).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        started = time.monotonic()
        try:
            connection.request(method, target, body=body, headers=headers)
            answer = connection.getresponse()
            text = answer.read().decode("utf-8", errors="replace")
        except TimeoutError:
            self.server.hung = True
            raise AssertionError(
                f"{method} {target}: no answer within {TIMEOUT:.0f} s (a hang)\n"
                f"--- server log ---\n{self.server.log_tail()}") from None
        finally:
            connection.close()
        seconds = time.monotonic() - started
        for header in answer.headers.get_all("Set-Cookie") or []:
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if not morsel.value or morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel
        return Response(method, url, answer.status, answer.headers, text, seconds)
