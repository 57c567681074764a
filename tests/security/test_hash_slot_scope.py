"""SEC-30's hashing slots cap CPU, so they are held while hashing and never while waiting for
the database. Before this, the sign-in view held the slot across the whole password check,
including the failed-attempt count's write transaction: on a busy PostgreSQL run one sign-in
waiting for a row lock kept the host's only slot, and another sign-in got "busy" (503)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from disclosure_app.core.errors import InputInvalid
from disclosure_app.db import get_session
from disclosure_app.models import User
from disclosure_app.security import sign_in
from disclosure_app.security.hash_slots import HashSlotsBusy
from disclosure_app.web.context import now
from tests.factories import PASSWORD


class RecordingSlot:
    """A hashing slot that records, on entry and exit, whether a database transaction was
    open on the session."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.entries = 0
        self.in_transaction: list[bool] = []

    @contextmanager
    def __call__(self) -> Iterator[None]:
        self.entries += 1
        self.in_transaction.append(self.session.in_transaction())
        try:
            yield
        finally:
            self.in_transaction.append(self.session.in_transaction())


class BusySlot:
    @contextmanager
    def __call__(self) -> Iterator[None]:
        raise HashSlotsBusy()
        yield  # pragma: no cover


@pytest.mark.parametrize("password", [PASSWORD, "not-the-password-at-all"])
def test_a_password_check_holds_its_hashing_slot_outside_any_transaction(app, staff, password):
    with app.app_context():
        session = get_session()
        slot = RecordingSlot(session)
        sign_in.check_password(session, staff["auditor"].email, password, now=now(),
                               policy=sign_in.LockoutPolicy(), slot=slot)
        assert slot.entries == 1
        assert slot.in_transaction == [False, False]


def test_an_unknown_address_pays_for_its_dummy_hash_inside_a_slot_too(app):
    with app.app_context():
        session = get_session()
        slot = RecordingSlot(session)
        result = sign_in.check_password(session, "nobody@example.org", "whatever", now=now(),
                                        policy=sign_in.LockoutPolicy(), slot=slot)
        assert result.outcome is sign_in.Outcome.refused
        assert slot.entries == 1 and slot.in_transaction == [False, False]


def test_a_password_check_refused_as_busy_stores_nothing(app, staff):
    with app.app_context():
        session = get_session()
        user_id = staff["auditor"].id
        before = session.get(User, user_id).failed_logins
        session.commit()
        with pytest.raises(HashSlotsBusy):
            sign_in.check_password(session, staff["auditor"].email, "wrong-wrong-wrong",
                                   now=now(), policy=sign_in.LockoutPolicy(), slot=BusySlot())
        session.expire_all()
        assert session.get(User, user_id).failed_logins == before


def test_a_password_change_hashes_inside_a_slot_and_writes_outside_it(app, staff):
    with app.app_context():
        session = get_session()
        slot = RecordingSlot(session)
        sign_in.change_password(session, staff["auditor"].id, "a brand new long passphrase 42",
                                now=now(), current_password=PASSWORD, context=(), slot=slot)
        assert slot.entries == 1 and slot.in_transaction == [False, False]


def test_a_refused_password_change_still_releases_its_slot(app, staff):
    with app.app_context():
        session = get_session()
        slot = RecordingSlot(session)
        with pytest.raises(InputInvalid):
            sign_in.change_password(session, staff["auditor"].id, "another long passphrase 7",
                                    now=now(), current_password="wrong", context=(), slot=slot)
        assert slot.entries == 1 and slot.in_transaction == [False, False]
