"""APCO ANS 2.103.1-2012, "Public Safety Communications Common Incident Types for Data
Exchange": the standard list of incident types that computer-aided dispatch (CAD) systems map
their own call types to. ``data/apco-incident-types.csv`` holds its 197 codes, names and
definitions as NIEM 5.2 carries them (``xsd/codes/apco.xsd``, ``apco:IncidentCategoryCode``)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

SOURCE_URL = ("https://github.com/NIEM/NIEM-Releases/blob/"
              "56c0c8e7ccd42e407e2587e553f83297d56730fd/xsd/codes/apco.xsd")
STANDARD_URL = "https://www.apcointl.org/standards/common-incident-types-for-data-exchange/"


@dataclass(frozen=True)
class IncidentType:
    code: str
    name: str
    definition: str


def _read() -> dict[str, IncidentType]:
    path = Path(__file__).resolve().parent / "data" / "apco-incident-types.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["code"]: IncidentType(row["code"], row["name"], row["definition"])
                for row in csv.DictReader(handle)}


#: Every APCO incident type, by code (``TSTOP``...), in the standard's order.
INCIDENT_TYPES: dict[str, IncidentType] = _read()
