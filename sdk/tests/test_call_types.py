"""Dispatch call types: an agency's mapping file (CSV or YAML) resolved through the API's
call-type crosswalk, by the SDK and the CLI, online and offline from a snapshot: the same
indicators as the API's own `?apco_incident=` filter."""

from __future__ import annotations

import json

import pytest
import yaml
from htcontent import Client, HTContentError
from htcontent.calltypes import CallTypeMap, _flat_yaml
from htcontent.cli import main

from sdk.tests.test_offline import offline

CSV = """call_type,maps_to
10-38,TSTOP
10-16,DVA
10-16,DVNA
HOTEL-CHK,hotel
STOP-AND-HOTEL,TSTOP
STOP-AND-HOTEL,hotel
FIRE,ALRF
"""
YAML = """# the same agency's mapping, as YAML
"10-38": TSTOP
'10-16': [DVA, DVNA]
HOTEL-CHK: hotel   # a setting, straight
STOP-AND-HOTEL:
  - TSTOP
  - hotel
FIRE: ALRF
"""


@pytest.fixture(scope="module")
def mappings(tmp_path_factory):
    folder = tmp_path_factory.mktemp("agency")
    (folder / "calls.csv").write_text(CSV)
    (folder / "calls.yaml").write_text(YAML)
    return folder


def ids(records) -> list[str]:
    return sorted(record.id for record in records)


def test_a_mapping_file_resolves_like_the_apis_own_filter(api, mappings):
    with Client(api["url"], call_type_map=mappings / "calls.csv") as client:
        crosswalk = {c.apco_code: c.settings for c in client.call_types.list()}
        assert crosswalk["TSTOP"] == ("traffic_stop",)
        stop = ids(client.indicators.for_call_type("10-38"))
        assert stop and stop == ids(client.indicators.list(apco_incident="TSTOP")) == ids(
            client.indicators.list(setting="traffic_stop"))
        domestic = ids(client.indicators.for_call_type("10-16"))
        assert domestic == ids(client.indicators.list(apco_incident="DVA,DVNA"))
        both = ids(client.indicators.for_call_type("STOP-AND-HOTEL"))
        assert both == ids(client.indicators.list(setting="traffic_stop,hotel"))
        assert set(stop) < set(both)
        assert list(client.indicators.for_call_type("FIRE")) == []  # ALRF: no setting
        with pytest.raises(HTContentError, match="not in the agency's mapping"):
            list(client.indicators.for_call_type("10-99"))
        for call_type in ("10-38", "10-16", "HOTEL-CHK", "STOP-AND-HOTEL"):
            assert ids(client.indicators.for_call_type(
                call_type, mapping=mappings / "calls.yaml")) == ids(
                client.indicators.for_call_type(call_type))


def test_offline_from_a_snapshot_the_same_indicators(api, mappings, tmp_path):
    snapshot = tmp_path / "snapshot.json"
    with Client(api["url"]) as online:
        online.export(snapshot)
        live = {code: ids(online.indicators.for_call_type(code, mapping=mappings / "calls.csv"))
                for code in ("10-38", "10-16", "HOTEL-CHK", "STOP-AND-HOTEL", "FIRE")}
        codes = [c.apco_code for c in online.call_types.list()] + ["ALRF", "TSTOP,VICE"]
        by_incident = {code: ids(online.indicators.list(apco_incident=code))
                       for code in codes}
        with_setting = ids(online.indicators.list(apco_incident="VICE", setting="hotel"))
    with offline(snapshot, call_type_map=mappings / "calls.yaml") as down:
        for code, expected in live.items():
            assert ids(down.indicators.for_call_type(code)) == expected, code
        assert down.last_response_source == "snapshot"
        # the API's own filter, offline: every APCO code the crosswalk names, and more
        for code, expected in by_incident.items():
            assert ids(down.indicators.list(apco_incident=code)) == expected, code
        assert ids(down.indicators.list(apco_incident="VICE", setting="hotel")) == with_setting


def test_the_cli_takes_the_mapping_too(api, mappings, capsys):
    assert main(["--base-url", api["url"], "--json", "indicators", "--call-type", "10-38",
                 "--call-types", str(mappings / "calls.csv")]) == 0
    printed = json.loads(capsys.readouterr().out)
    with Client(api["url"]) as client:
        assert sorted(r["id"] for r in printed) == ids(client.indicators.list(
            apco_incident="TSTOP"))
    assert main(["--base-url", api["url"], "--json", "indicators", "--call-type", "FIRE",
                 "--call-types", str(mappings / "calls.yaml")]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == []
    assert ("no indicators for call type FIRE: it maps to ALRF, that is to no setting: the "
            "crosswalk (/api/v1/call-types) covers none of them") in captured.err
    assert main(["--base-url", api["url"], "indicators", "--call-type", "10-38"]) == 1
    assert "--call-types" in capsys.readouterr().err


def test_the_flat_yaml_reader_reads_what_pyyaml_reads(tmp_path):
    assert _flat_yaml(YAML) == yaml.safe_load(YAML)
    broken = tmp_path / "broken.csv"
    broken.write_text("call_type,maps_to\n10-38\n")
    with pytest.raises(HTContentError, match="line 2"):
        CallTypeMap.load(broken)
    with pytest.raises(HTContentError, match="cannot read"):
        CallTypeMap.load(tmp_path / "missing.csv")


def test_a_mapping_is_checked_when_it_is_read(tmp_path):
    """A typo is an error, not an empty list on an officer's screen."""
    cases = {
        "typo.csv": "call_type,maps_to\n10-38,TSTOPP\n",
        "lowercase.csv": "10-38,tstop\n",
        "nested.yaml": "10-38:\n  TSTOP: yes\n",
        "mixed.yaml": "10-38: TSTOP\n  - VICE\n",
        "empty.csv": "call_type,maps_to\n10-38,\n",
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(HTContentError):
            CallTypeMap.load(tmp_path / name)
    (tmp_path / "excel.csv").write_bytes("10-38,TSTOP\nCAFÉ,VICE\n".encode("cp1252"))
    with pytest.raises(HTContentError, match="UTF-8"):
        CallTypeMap.load(tmp_path / "excel.csv")
    (tmp_path / "good.csv").write_text("# the agency's table\ncall_type,maps_to,note\n"
                                       "10-38,TSTOP,stops\n10-38,hotel,motel lots\n")
    assert CallTypeMap.load(tmp_path / "good.csv").mapping == {"10-38": ("TSTOP", "hotel")}
    (tmp_path / "keys.yaml").write_text("010: TSTOP\n10.10: [DVA]\nNO: VICE\n")
    assert CallTypeMap.load(tmp_path / "keys.yaml").mapping == {
        "010": ("TSTOP",), "10.10": ("DVA",), "NO": ("VICE",)}  # keys as written


def test_offline_filters_through_call_types_answer_as_the_api_does(api, tmp_path, mappings):
    snapshot = tmp_path / "snapshot.json"
    with Client(api["url"]) as online:
        online.export(snapshot)
        spaced = ids(online.indicators.list(apco_incident="TSTOP,VICE"))
    with offline(snapshot) as down:
        assert ids(down.indicators.list(apco_incident="TSTOP, VICE")) == spaced
        with pytest.raises(HTContentError, match="NOPE"):
            list(down.indicators.list(apco_incident="NOPE"))
        with pytest.raises(HTContentError, match="not listed by call type"):
            list(down.hotlines.for_call_type("10-38", mapping=mappings / "calls.csv"))
        narrowed = ids(down.indicators.for_call_type("10-16", mapping=mappings / "calls.csv",
                                                     category="behavioral"))
        assert set(narrowed) <= set(ids(down.indicators.for_call_type(
            "10-16", mapping=mappings / "calls.csv")))
