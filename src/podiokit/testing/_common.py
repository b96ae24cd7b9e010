"""Small shared helpers: Podio's datetime format, JSON encoding, the byline shapes."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

JSON = dict[str, Any]

# Seeded data starts here so a seed is identical on every run and machine.
EPOCH = 1_700_000_000  # 2023-11-14 22:13:20 UTC

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def dumps(obj: Any) -> bytes:
    return _dumps(obj).encode()


def fmt_dt(ts: float) -> str:
    """Podio's datetime form: UTC, no zone suffix."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))


def fmt_date(ts: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


def parse_dt(text: str) -> float | None:
    """Parse "YYYY-MM-DD[ HH:MM:SS]" as UTC; None when it is neither."""
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            parsed = datetime.strptime(text, pattern)
        except ValueError:
            continue
        return parsed.replace(tzinfo=timezone.utc).timestamp()
    return None


def fmt_number(value: Decimal | float) -> str:
    """Numeric field values are strings with four decimals ("6513.5100"). A Decimal keeps
    every digit (a float holds about 16: 12345678901234.5678 would come back changed); a
    fifth decimal rounds half away from zero, as PHP's round() does."""
    if isinstance(value, Decimal):
        # Enough precision for every digit before the point and four after it.
        context = Context(prec=max(value.adjusted(), 0) + 6, rounding=ROUND_HALF_UP)
        return f"{value.quantize(_PLACES, context=context):f}"
    return f"{value:.4f}"


_PLACES = Decimal("0.0001")


def via() -> JSON:
    return {"url": None, "auth_client_id": 1, "display": False, "name": "Podio", "id": 1}


def image(file_id: int) -> JSON:
    link = f"https://d2cmuesa4snpwn.cloudfront.net/public/{file_id}"
    return {
        "hosted_by": "podio",
        "hosted_by_humanized_name": "Podio",
        "thumbnail_link": link,
        "link": link,
        "file_id": file_id,
        "external_file_id": None,
        "link_target": "_blank",
    }
