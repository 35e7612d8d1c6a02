"""``GET /api/v1/hotlines?format=csv``: a row per channel, ready for a spreadsheet."""

from __future__ import annotations

import csv
import io
from typing import Any

COLUMNS = ["id", "version", "name", "organization", "purpose", "available_24_7",
           "service_area", "channel_kind", "channel_value", "channel_display",
           "channel_keywords", "channel_languages", "channel_hours", "channel_notes", "notes",
           "verification_status", "verified_on", "review_due", "updated_at", "link"]
#: Cells a spreadsheet would read as a formula are prefixed with an apostrophe (OWASP CSV
#: injection guidance); spreadsheets hide it, and numbers like +1866... keep their plus sign.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        value = "; ".join(map(str, value))
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def hotlines_csv(records: list[dict[str, Any]], link_for: Any) -> bytes:
    """Localized hotline records as CSV (UTF-8 with a byte order mark, CRLF line ends)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for record in records:
        base = {"id": record["id"], "version": record["version"], "name": record.get("name"),
                "organization": record.get("organization"), "purpose": record.get("purpose"),
                "available_24_7": record.get("available_24_7"),
                "service_area": record.get("service_area"), "notes": record.get("notes"),
                "verification_status": record.get("verification_status"),
                "verified_on": record.get("verified_on"), "review_due": record.get("review_due"),
                "updated_at": record.get("updated_at"),
                "link": link_for(record["id"])}
        for channel in record.get("channels", []):
            row = {**base, **{f"channel_{name}": channel.get(name) for name in
                              ("kind", "value", "display", "keywords", "languages", "hours",
                               "notes")}}
            writer.writerow([_cell(row.get(column)) for column in COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
