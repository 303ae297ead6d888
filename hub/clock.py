"""The one place that reads the wall clock, and the calendar arithmetic of account validity.

Times are stored in UTC and shown in Europe/Paris. Month arithmetic happens on the Paris calendar
so that an account created on 31/01 at 00:30 (Paris) shows the expiry date a person expects.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def utcnow() -> datetime:
    return datetime.now(UTC)


def add_months(moment: datetime, months: int) -> datetime:
    """`moment` plus whole calendar months, the day clamped to the target month's last day."""
    local = moment.astimezone(PARIS)
    month_index = local.month - 1 + months
    year, month = local.year + month_index // 12, month_index % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day).astimezone(UTC)


def to_paris(moment: datetime) -> datetime:
    return moment.astimezone(PARIS)


def paris_day_start(day: date) -> datetime:
    """The instant `day` begins in Paris (midnight exists every day: clocks change at 2-3 h)."""
    return datetime.combine(day, time(0), tzinfo=PARIS).astimezone(UTC)


def paris_date(moment: datetime) -> str:
    """« 22/05/2028 »: how dates are shown to people."""
    return moment.astimezone(PARIS).strftime("%d/%m/%Y")


def paris_datetime(moment: datetime) -> str:
    return moment.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")
