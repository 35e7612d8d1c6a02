"""``GET /api/v1/{collection}?format=csv``: a collection's records as a spreadsheet, in the
form its type declares (:class:`schemas.registry.CsvExport`)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from schemas.registry import CsvExport

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


def records_csv(export: CsvExport, records: list[dict[str, Any]],
                link_for: Callable[[str], str]) -> bytes:
    """Localized records as CSV (UTF-8 with a byte order mark, CRLF line ends)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(export.columns)
    for record in records:
        link = link_for(record["id"])
        for row in export.rows(record):
            row = {**row, "link": link}
            writer.writerow([_cell(row.get(column)) for column in export.columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
