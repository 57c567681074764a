"""Working days and local days for the scheme's clocks (DOMAIN.md §6.1).

A working day is Monday to Friday and not in ``non_working``: the bank holidays of the force's
nation plus any closure days an administrator adds. Weekends are always non-working, so a
holiday that falls on a weekend changes nothing (its substitute day is passed in as a holiday of
its own, as the published lists do).

The calendar is handed in: this module never looks holidays up (the app builds the set, from the
``holidays`` package and the force's own closure days), so it stays pure and testable.

Every count is arithmetic, not a walk: days are numbered by ordinal, weekdays up to an ordinal
are counted in whole weeks, and the holidays in a range are counted by bisecting one sorted tuple.
The clocks call these for every case on every queue page, and the forecast backtest for every
snapshot, so a span of hundreds of days costs a handful of operations.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_WEEKDAYS_PER_WEEK = 5
_ONE_DAY = timedelta(days=1)


def _weekdays_upto(ordinal: int) -> int:
    """Mondays to Fridays among ordinals 1 .. ``ordinal`` (ordinal 1, 1 January 1, is a Monday)."""
    weeks, rest = divmod(ordinal, 7)
    return weeks * _WEEKDAYS_PER_WEEK + min(rest, _WEEKDAYS_PER_WEEK)


def _weekday_numbered(count: int) -> int:
    """The ordinal of the weekday that is the ``count``-th since ordinal 1 (the inverse of
    ``_weekdays_upto`` on weekdays)."""
    weeks, rest = divmod(count, _WEEKDAYS_PER_WEEK)
    # A multiple of five is the Friday of the previous week: ordinal 7w - 2.
    return weeks * 7 - 2 if rest == 0 else weeks * 7 + rest


@dataclass(frozen=True)
class WorkingCalendar:
    """Bank holidays and closure days of one force, and the force's local time zone."""

    non_working: frozenset[date] = frozenset()  # bank holidays + closure days
    tz: str = "Europe/London"  # the force's local time (a zoneinfo key)
    # Derived once: the ordinals of the non-working days that fall on a weekday, sorted, so that
    # "how many in a range" is two bisections. Weekend entries would be counted twice otherwise.
    _holidays: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        days = frozenset(self.non_working)  # a set or list is accepted; stored as a frozenset
        object.__setattr__(self, "non_working", days)
        weekday_ordinals = sorted(d.toordinal() for d in days if d.weekday() < 5)
        object.__setattr__(self, "_holidays", tuple(weekday_ordinals))
        object.__setattr__(self, "_zone", ZoneInfo(self.tz))  # an unknown zone fails here

    # --- Working days

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.non_working

    def add_working_days(self, start: date, n: int) -> date:
        """The ``n``-th working day after ``start`` (``start`` itself never counts); ``n == 0``
        gives ``start`` rolled forward to a working day."""
        if n < 0:
            raise ValueError("n must be 0 or more (use subtract_working_days to go back)")
        if n == 0:
            return self.roll_forward(start)
        return self._working_day_numbered(self._count_upto(start.toordinal()) + n)

    def subtract_working_days(self, start: date, n: int) -> date:
        """The ``n``-th working day before ``start`` (``start`` itself never counts); ``n == 0``
        gives ``start`` rolled back to a working day."""
        if n < 0:
            raise ValueError("n must be 0 or more (use add_working_days to go forward)")
        if n == 0:
            return self._working_day_numbered(self._count_upto(start.toordinal()))
        return self._working_day_numbered(self._count_upto(start.toordinal() - 1) - n + 1)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; negative (the same count, negated) when end < start."""
        return self._count_upto(end.toordinal()) - self._count_upto(start.toordinal())

    def roll_forward(self, day: date) -> date:
        """``day`` if it is a working day, else the next working day."""
        if self.is_working_day(day):
            return day
        return self._working_day_numbered(self._count_upto(day.toordinal()) + 1)

    def _count_upto(self, ordinal: int) -> int:
        """Working days among ordinals 1 .. ``ordinal``: every difference of two of these is a
        count of working days in a half-open range."""
        return _weekdays_upto(ordinal) - bisect_right(self._holidays, ordinal)

    def _working_day_numbered(self, count: int) -> date:
        """The working day whose ``_count_upto`` is ``count``.

        Guess the weekday numbered ``count``, then push it on by the holidays up to the guess,
        and again by any holidays the push crossed, until no new holiday is crossed. The first
        fixed point is a working day (were it a holiday, the weekday before it would already
        have been a fixed point); loops are one per run of holidays crossed, not one per day.
        """
        skipped = 0
        while True:
            guess = _weekday_numbered(count + skipped)
            crossed = bisect_right(self._holidays, guess)
            if crossed == skipped:
                return date.fromordinal(guess)
            skipped = crossed

    # --- Local days (Europe/London is GMT in winter and BST, UTC+1, in summer)

    def local_date(self, instant: datetime) -> date:
        """The force's local calendar date at an aware instant."""
        _require_aware(instant)
        return instant.astimezone(self._zone).date()

    def start_of_local_day(self, day: date) -> datetime:
        """The first instant of the local ``day``, as an aware UTC datetime."""
        # Midnight exists on every day in the UK (the clocks change at 01:00 and 02:00). In a zone
        # that skips midnight, zoneinfo reads the missing time with the offset before the change.
        local_midnight = datetime.combine(day, time(0), tzinfo=self._zone)
        return local_midnight.astimezone(UTC)

    def end_of_local_day(self, day: date) -> datetime:
        """The first instant of the local day after ``day``, as an aware UTC datetime: a target
        "by the end of ``day``" is met by anything strictly before it."""
        return self.start_of_local_day(day + _ONE_DAY)

    def last_day(self, due_at: datetime) -> date:
        """The local day a target ending at ``due_at`` ends on: ``end_of_local_day``'s inverse."""
        return self.local_date(due_at - _LAST_MOMENT)


_LAST_MOMENT = timedelta(microseconds=1)


def _require_aware(instant: datetime) -> None:
    # A naive datetime would be read as the server's local time: silently an hour out in summer.
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("expected an aware datetime (UTC), got a naive one")
