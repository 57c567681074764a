"""A cap on concurrent password-hash checks per host (SECURITY.md finding 5, SEC-30).

One Argon2id verify takes about 0.2 s of a core with the library's default profile; a flood of
sign-in attempts would otherwise keep every gunicorn worker hashing and starve the staff pages.
At most ``PASSWORD_HASH_SLOTS`` verifies run at once on a host (default: cores − 1, at least 1):
each slot is an exclusive ``flock`` on a small file in ``PASSWORD_HASH_SLOT_DIR``, so the cap
holds across worker processes as well as threads. A request that cannot get a slot within
``PASSWORD_HASH_WAIT_SECONDS`` is refused as busy (the same answer for every account).
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import current_app


class HashSlotsBusy(Exception):
    pass


def default_slots() -> int:
    return max(1, (os.cpu_count() or 2) - 1)


def _slot_dir() -> Path:
    configured = current_app.config.get("PASSWORD_HASH_SLOT_DIR")
    path = Path(configured) if configured else Path(tempfile.gettempdir()) / (
        f"disclosure-hash-slots-{os.getuid()}")
    path.mkdir(mode=0o700, exist_ok=True)
    return path


@contextmanager
def hash_slot() -> Iterator[None]:
    slots = int(current_app.config.get("PASSWORD_HASH_SLOTS") or default_slots())
    wait = float(current_app.config.get("PASSWORD_HASH_WAIT_SECONDS", 3))
    directory = _slot_dir()
    deadline = time.monotonic() + wait
    while True:
        for index in range(slots):
            fd = os.open(directory / f"slot-{index}", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            try:
                yield
                return
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
        if time.monotonic() >= deadline:
            raise HashSlotsBusy()
        time.sleep(0.02)
