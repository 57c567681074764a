"""Slow clients against the shipped server configuration (SECURITY.md §4.3; issue 11).

gunicorn's sync workers (gunicorn.conf.py) serve one connection each and block while a client
sends its request slowly: four clients trickling their headers hold a small host's workers and a
normal request waits. The shipped nginx configuration (deploy/nginx) reads every request in full
before a worker sees it. These tests start gunicorn with the shipped gunicorn.conf.py, and nginx
with the shipped proxy settings, on free ports, and show a normal request still answers quickly
through nginx while, sent straight to gunicorn, it does not.

`make test` installs nginx (Debian's package) as it installs Chromium; without it these tests
skip locally and fail in CI.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.databases import RUNTIME_ROLE, TestDatabase

ROOT = Path(__file__).resolve().parents[2]
PROXY_CONF = ROOT / "deploy" / "nginx" / "disclosure-proxy.conf"
SITE_CONF = ROOT / "deploy" / "nginx" / "disclosure-site.conf"
SLOW_CLIENTS = 4
WORKERS = 1  # fewer than the slow clients (as a small host under a small attack), and quick to boot
QUICK = 5.0  # seconds: a normal page must answer within this

pytestmark = pytest.mark.xdist_group("real_servers")


def nginx_path() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/sbin/nginx") if os.access(p, os.X_OK)), None)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is not installed: `make test` installs it")
        pytest.skip("nginx is not installed (run `make test`, which installs it)")
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(port: int, deadline: float, log: Path) -> None:
    while time.monotonic() < deadline:
        with suppress(OSError):
            status = get(port, timeout=2.0)
            if status == 200:
                return
        time.sleep(0.2)
    raise AssertionError(f"nothing answered on port {port}: {log.read_text()[-3000:]}")


def get(port: int, path: str = "/", timeout: float = QUICK) -> int:
    """A normal request; its status code (socket.timeout if it gets no answer in time)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                     "Connection: close\r\n\r\n".encode())
        head = b""
        while b"\r\n" not in head:
            chunk = conn.recv(1024)
            if not chunk:
                break
            head += chunk
    return int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0


@contextmanager
def slow_clients(port: int, count: int = SLOW_CLIENTS) -> Iterator[None]:
    """``count`` clients that send the start of a request, then one header byte every 0.3 s."""
    stop = threading.Event()
    sockets = []
    for _ in range(count):
        conn = socket.create_connection(("127.0.0.1", port), timeout=5)
        conn.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode())
        sockets.append(conn)

    def trickle() -> None:
        while not stop.wait(0.3):
            for conn in sockets:
                with suppress(OSError):
                    conn.send(b"X")

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    time.sleep(0.5)  # every slow client is connected and has been taken by whoever serves it
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in sockets:
            conn.close()


@contextmanager
def process(args: list[str], log: Path, **kwargs) -> Iterator[subprocess.Popen]:  # type: ignore[type-arg]
    with log.open("ab") as output:
        proc = subprocess.Popen(args, stdout=output, stderr=output, start_new_session=True,
                                **kwargs)
    try:
        yield proc
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGQUIT)  # gunicorn and nginx: quick shutdown
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


@contextmanager
def gunicorn(database: TestDatabase, directory: Path) -> Iterator[int]:
    port = free_port()
    env = {**os.environ,
           "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(WORKERS),
           "DISCLOSURE_PRODUCTION": "false",
           "DISCLOSURE_SECRET_KEY": "slow-clients-test-key-not-for-production-use",
           "DISCLOSURE_DATABASE_URL": database.url,
           # Behind nginx, exactly one proxy (deploy/nginx/disclosure-proxy.conf).
           "DISCLOSURE_PROXY_FIX_X_FOR": "1"}
    if database.engine == "postgresql":
        env |= {"DISCLOSURE_MIGRATION_DATABASE_URL": database.owner_url,
                "DISCLOSURE_DATABASE_RUNTIME_ROLE": RUNTIME_ROLE}
    with process([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
                  "disclosure_app:create_app()"], directory / "gunicorn.log", cwd=ROOT, env=env):
        wait_for(port, time.monotonic() + 20, directory / "gunicorn.log")
        yield port


def nginx_conf(directory: Path, upstream: int, port: int) -> Path:
    conf = directory / "nginx.conf"
    temp = "\n".join(f"{kind}_temp_path {directory / kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf.write_text(f"""
{"user root;" if os.geteuid() == 0 else ""}
worker_processes 1;
daemon off;
pid {directory / "nginx.pid"};
error_log {directory / "error.log"} warn;
events {{ worker_connections 256; }}
http {{
    {temp}
    access_log off;
    upstream disclosure_app {{ server 127.0.0.1:{upstream}; }}
    server {{
        listen 127.0.0.1:{port};
        include {PROXY_CONF};
    }}
}}
""")
    return conf


@contextmanager
def nginx(directory: Path, upstream: int) -> Iterator[int]:
    port = free_port()
    conf = nginx_conf(directory, upstream, port)
    with process([nginx_path(), "-p", str(directory), "-c", str(conf)],
                 directory / "nginx.log"):
        wait_for(port, time.monotonic() + 10, directory / "nginx.log")
        yield port


def test_slow_clients_do_not_hold_the_workers_behind_the_shipped_nginx(database, tmp_path):
    nginx_path()
    with gunicorn(database, tmp_path) as app_port, nginx(tmp_path, app_port) as proxy_port:
        with slow_clients(proxy_port):
            asked = time.monotonic()
            assert get(proxy_port) == 200
            assert time.monotonic() - asked < QUICK
        # Without nginx the same slow clients hold every sync worker: the normal request gets
        # no answer (which is why the proxy is required).
        with slow_clients(app_port), pytest.raises(TimeoutError):
            get(app_port, timeout=3.0)


def test_the_shipped_site_configuration_is_valid_nginx(tmp_path):
    """deploy/nginx/disclosure-site.conf, with this test's certificate and paths, passes
    ``nginx -t``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "disclosure.force.example")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + timedelta(days=1))
            .sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    site = (SITE_CONF.read_text()
            .replace("/etc/ssl/certs/disclosure.pem", str(tmp_path / "cert.pem"))
            .replace("/etc/ssl/private/disclosure.key", str(tmp_path / "key.pem"))
            .replace("/etc/nginx/snippets/disclosure-proxy.conf", str(PROXY_CONF))
            .replace("/var/log/nginx/", f"{tmp_path}/"))
    (tmp_path / "site.conf").write_text(site)
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"""
pid {tmp_path / "nginx.pid"};
error_log {tmp_path / "error.log"} warn;
events {{ worker_connections 64; }}
http {{ include {tmp_path / "site.conf"}; }}
""")
    checked = subprocess.run([nginx_path(), "-t", "-p", str(tmp_path), "-c", str(conf)],
                             capture_output=True, text=True, timeout=20)
    assert checked.returncode == 0, checked.stderr
    assert "/status/[redacted]" in site and "$http_referer" not in site
