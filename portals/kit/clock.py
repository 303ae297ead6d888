"""The one place the kit reads the wall clock, and how dates are shown (Europe/Paris)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def utcnow() -> datetime:
    return datetime.now(UTC)


def from_timestamp(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def parse_instant(value: str) -> datetime:
    """An ISO 8601 instant from the hub; a naive one is taken as UTC (the hub stores UTC)."""
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def paris_date(moment: datetime) -> str:
    """« 22/05/2028 »: how dates are shown to people."""
    return moment.astimezone(PARIS).strftime("%d/%m/%Y")


def paris_date_time(moment: datetime) -> str:
    """« 22/05/2028 à 14:05 »: when something happened, to the minute."""
    return moment.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M")
