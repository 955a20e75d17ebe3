"""The report's arguments: the period it covers, and ReportError for what it cannot do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta


class ReportError(ValueError):
    """The report cannot be written: the message names the database or argument and the problem."""


# -- the period ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Period:
    """Call dates start..end, both included."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The same number of days right before this period."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def last_days(self, days: int) -> Period:
        """`days` days ending at this period's end, and never less than the period (the trend window)."""
        return Period(min(self.start, self.end - timedelta(days=days - 1)), self.end)

    def __str__(self) -> str:
        return str(self.start) if self.start == self.end else f"{self.start} – {self.end} ({self.days} days)"


def resolve_period(latest_call_date: date | None, date_from: date | None, date_to: date | None) -> Period:
    """The report's period: both dates given -> that; none -> the latest call date (today in an empty
    database); only date_from -> from it up to the latest call date; only date_to -> that one day."""
    if date_from and date_to and date_from > date_to:
        raise ReportError(f"--from {date_from} is after --to {date_to}")
    if date_from and date_to:
        return Period(date_from, date_to)
    if date_from:
        end = latest_call_date if latest_call_date and latest_call_date >= date_from else date_from
        return Period(date_from, end)
    if date_to:
        return Period(date_to, date_to)
    day = latest_call_date or date.today()
    return Period(day, day)
