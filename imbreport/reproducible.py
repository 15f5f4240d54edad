"""Dates in outputs: the one a build system asks for with ``SOURCE_DATE_EPOCH``, else the run's
date unless byte-identical output was asked for (``--no-timings``).

Reproducible output (https://reproducible-builds.org/specs/source-date-epoch/) shows no
wall-clock time; the report's date and the PDF's metadata come from here alone.
"""

from __future__ import annotations

import datetime
import os

from imbreport.errors import ConfigError


def source_date() -> datetime.datetime | None:
    """``SOURCE_DATE_EPOCH`` as an aware UTC datetime, or ``None``."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:
        return None
    try:
        return datetime.datetime.fromtimestamp(int(epoch), tz=datetime.UTC)
    except (ValueError, OverflowError, OSError):
        raise ConfigError(f"SOURCE_DATE_EPOCH must be a Unix timestamp, got '{epoch}'.") from None


def created_date(today: bool = False) -> str | None:
    """The report date (``YYYY-MM-DD``): ``SOURCE_DATE_EPOCH``'s; else, with ``today``, the
    run's own date (UTC); else ``None`` (byte-identical reruns)."""
    moment = source_date()
    if moment is None and today:
        moment = datetime.datetime.now(tz=datetime.UTC)
    return None if moment is None else moment.strftime("%Y-%m-%d")
