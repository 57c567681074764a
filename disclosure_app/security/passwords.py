"""Staff password rules (ASVS 5.0 V6.2): at least 12 characters, up to 1,024 accepted, no
composition rules and no forced periodic change; refused if it is a common or breached password
or built from words about this service (the force's name, "police"); compared byte-exact by
Argon2 (no truncation, no case folding: the hash covers every UTF-8 byte)."""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from importlib import resources

MIN_LENGTH = 12
MAX_LENGTH = 1024

_NOT_LETTERS = re.compile(r"[^a-z]+")


@cache
def common_bases() -> frozenset[str]:
    listed = resources.files("disclosure_app.security.data").joinpath("common_passwords.txt")
    text = listed.read_text(encoding="utf-8")
    words = []
    for line in text.splitlines():
        if not line.startswith("#"):
            words.extend(line.split())
    return frozenset(words)


def _letters(value: str) -> str:
    folded = unicodedata.normalize("NFKD", value).casefold()
    return _NOT_LETTERS.sub("", folded)


def problem(password: str, *, context: tuple[str, ...] = ()) -> str | None:
    """Why ``password`` may not be used, or None. ``context`` holds words about this service and
    person (force name, email, name) that a password must not be built from."""
    if len(password) < MIN_LENGTH:
        return f"Password must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"Password must be {MAX_LENGTH} characters or fewer"
    core = _letters(password)
    context_words = {w for phrase in context for w in re.split(r"[^a-z]+", _letters_keep(phrase))
                     if len(w) >= 4}
    if not core or core in common_bases() or _only_words(core, common_bases() | context_words):
        return "Choose a password that is harder to guess: this one is common or easily guessed"
    if any(word in core for word in context_words) and len(_strip(core, context_words)) < 6:
        return ("Choose a password that is harder to guess: do not build it from the force's "
                "name, your name or your email address")
    return None


def _letters_keep(value: str) -> str:
    return unicodedata.normalize("NFKD", value).casefold()


def _strip(core: str, words: set[str]) -> str:
    for word in sorted(words, key=len, reverse=True):
        core = core.replace(word, "")
    return core


def _only_words(core: str, words: frozenset[str] | set[str]) -> bool:
    """True if ``core`` is one or two listed words run together (e.g. "passwordpolice")."""
    return any(core[:i] in words and core[i:] in words for i in range(1, len(core)))
