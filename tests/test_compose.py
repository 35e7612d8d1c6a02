"""docker-compose.yml is a valid Compose file and refers only to files that exist."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from jsonschema import Draft7Validator

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = Path(__file__).resolve().parent / "data" / "compose-spec.schema.json"


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_file_is_valid_against_the_compose_specification():
    schema = json.loads(SCHEMA.read_text())
    errors = sorted(Draft7Validator(schema).iter_errors(compose()), key=str)
    assert errors == [], [e.message for e in errors]


def test_compose_file_refers_only_to_files_that_exist():
    services = compose()["services"]
    for name, service in services.items():
        build = service.get("build")
        if build is not None:
            context = ROOT / (build if isinstance(build, str) else build.get("context", "."))
            dockerfile = "Dockerfile" if isinstance(build, str) else build.get(
                "dockerfile", "Dockerfile")
            assert (context / dockerfile).is_file(), name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), (name, source)


def test_the_deployment_has_what_it_needs():
    services = compose()["services"]
    assert services["api"]["deploy"]["replicas"] >= 2
    assert "healthcheck" in services["postgres"] and "healthcheck" in services["redis"]
    assert services["api"]["depends_on"]["migrate"]["condition"] == \
        "service_completed_successfully"
    worker = services["worker"]
    assert worker["command"][:5] == ["flask", "--app", "api", "webhooks", "work"]
    assert worker["deploy"]["replicas"] >= 1
    assert worker["environment"] == services["api"]["environment"]
    assert "HTCONTENT_SECRET_KEY" in services["api"]["environment"]
    environment = services["api"]["environment"]
    assert environment["DATABASE_URL"].startswith("postgresql://")
    assert environment["REDIS_URL"].startswith("redis://")
    dockerfile = (ROOT / "Dockerfile").read_text()
    for copied in ("api", "schemas", "seed", "migrations", "gunicorn.conf.py", "openapi.yaml"):
        assert copied in dockerfile and (ROOT / copied).exists()
