"""Argument types shared by every `ga4lake` subcommand (stdlib only)."""

from __future__ import annotations

import argparse
from datetime import date


def day_arg(text: str) -> date:
    """A GA4 event date as YYYY-MM-DD or the export shard form YYYYMMDD."""
    try:
        if "-" in text:
            return date.fromisoformat(text)
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD or YYYYMMDD): {text!r}") from exc
