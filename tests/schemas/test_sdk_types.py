"""The SDK's record classes and offline filter table are generated from the record schemas
(``make sdk-types``): the committed file must be what the schemas make today."""

from __future__ import annotations

from htcontent import _records

from schemas import sdk_types
from schemas.params import FILTERS
from schemas.records import SCHEMAS


def test_the_generated_sdk_types_are_in_step_with_the_schemas():
    assert sdk_types.TARGET.read_text(encoding="utf-8") == sdk_types.generate(), \
        "sdk/htcontent/_records.py is out of date: run `make sdk-types`"


def test_every_filter_and_field_reaches_the_sdk():
    for record_type, schema_cls in SCHEMAS.items():
        model = _records.MODELS[record_type]
        names = set(model.__dataclass_fields__)
        assert set(schema_cls._declared_fields) - {"type"} <= names, record_type
        for flt in FILTERS[record_type]:
            assert _records.FILTER_FIELDS[flt.param] == flt.path
