"""The content check (schemas/checks.py): each rule refuses what a dispatcher must not read, the
seed keeps every rule, `flask content check` fails the build, and the seed loader refuses."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from schemas.checks import check
from seed.loader import read_seed
from tests.conftest import SEED_DIR

SEED = read_seed(SEED_DIR)


def _with(record_id: str, **changes: Any) -> list[tuple[str, dict[str, Any]]]:
    """The seed with one record changed."""
    out = []
    for record_type, content in SEED:
        content = copy.deepcopy(content)
        if content["id"] == record_id:
            content.update(changes)
        out.append((record_type, content))
    return out


def _eeoc() -> dict[str, Any]:
    return next(content for _, content in SEED if content["id"] == "eeoc")


def test_the_seed_keeps_every_rule():
    assert check(SEED) == []


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"notes": {"en": "This number is unverified: our notes say so.",
                "es": "Número sin verificar."}},
     "verification_status", "call it unverified"),
    ({"organization": {"en": "HHS; operated by Polaris since 2007, formerly by others"}},
     "organization", "not a short name"),
    ({"service_area": {"en": "United States", "es": "United States"}},
     "service_area", "same as English"),
    ({"sources": []}, "sources", "needs a source"),
])
def test_each_rule_names_the_record_and_the_field(changes, field, words):
    found = check(_with("eeoc", **changes))
    assert [(f.record_id, f.field) for f in found] == [("eeoc", field)]
    assert words in found[0].message


def test_a_display_that_dials_another_number_is_found():
    channels = copy.deepcopy(_eeoc()["channels"])
    channels[0]["display"] = "1-800-669-4001"
    channels[1]["display"] = "1-800-669-6820 (1-800-NOT-6820)"  # spelled out: checked too
    found = check(_with("eeoc", channels=channels))
    assert [f.field for f in found] == ["channels[0].display", "channels[1].display"]
    assert "does not dial +18006694000" in found[0].message


def test_an_area_code_in_parentheses_and_notes_are_part_of_a_display():
    channels = copy.deepcopy(_eeoc()["channels"])
    channels[0]["display"] = "(800) 669-4000"
    channels[1]["display"] = "1-800-669-6820 (TTY, option 2)"
    assert check(_with("eeoc", channels=channels)) == []


def test_untranslated_nested_text_is_found():
    channels = copy.deepcopy(_eeoc()["channels"])
    channels[2]["notes"] = {"en": "ASL video phone.", "es": "ASL video phone."}
    assert [f.field for f in check(_with("eeoc", channels=channels))] == ["channels[2].notes"]


def test_a_public_record_naming_a_restricted_one_is_found():
    restricted = next(c["id"] for _, c in SEED if c.get("visibility") == "law_enforcement")
    found = check(_with("eeoc", related=[restricted]))
    assert [(f.record_id, f.field) for f in found] == [("eeoc", "related")]


def _broken_seed(tmp_path: Path) -> Path:
    seed = tmp_path / "seed"
    shutil.copytree(SEED_DIR, seed, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    document = json.loads((seed / "hotlines.json").read_text(encoding="utf-8"))
    for record in document["records"]:
        if record["id"] == "eeoc":
            record["channels"][0]["display"] = "1-800-669-4001"
    (seed / "hotlines.json").write_text(json.dumps(document), encoding="utf-8")
    return seed


def test_the_command_fails_on_a_broken_record_and_passes_the_database(editor_app, tmp_path):
    runner = editor_app.test_cli_runner()
    passed = runner.invoke(args=["content", "check"])
    assert passed.exit_code == 0, passed.output
    assert "0 problem(s)" in passed.output
    failed = runner.invoke(args=["content", "check", "--seed", str(_broken_seed(tmp_path))])
    assert failed.exit_code == 1
    assert "eeoc: channels[0].display: '1-800-669-4001' does not dial +18006694000" in \
        failed.output


def test_the_seed_loader_refuses_a_broken_record(editor_app, tmp_path):
    before = editor_app.test_client().get("/api/v1/hotlines/eeoc").get_json()["data"]
    result = editor_app.test_cli_runner().invoke(
        args=["seed", "--path", str(_broken_seed(tmp_path))])
    assert result.exit_code == 1
    assert "hotlines.json (eeoc): field 'channels[0].display'" in result.output
    after = editor_app.test_client().get("/api/v1/hotlines/eeoc").get_json()["data"]
    assert after == before  # nothing was loaded
