"""The README's SDK example runs as written, against the live API."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_sdk_example_runs(api, tmp_path, monkeypatch, capsys):
    section = README.read_text(encoding="utf-8").split("## SDK", 1)[1].split("\n## ", 1)[0]
    [code] = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    code = code.replace("http://127.0.0.1:8000", api["url"])
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})  # noqa: S102 - the README's own example
    out = capsys.readouterr().out
    assert "National Human Trafficking Hotline" in out
    assert "network" in out and "404" in out
    assert (tmp_path / "partner.sqlite").exists() and (tmp_path / "snapshot.json").exists()
