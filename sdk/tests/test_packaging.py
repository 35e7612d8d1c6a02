"""``pip install ./sdk`` in a clean virtual environment brings requests and nothing else."""

from __future__ import annotations

import json
import subprocess
import venv
from pathlib import Path

SDK = Path(__file__).resolve().parents[1]
REQUESTS_AND_ITS_OWN = {"requests", "charset-normalizer", "idna", "urllib3", "certifi"}


def test_the_sdk_installs_alone_with_requests(tmp_path):
    venv.EnvBuilder(with_pip=True).create(tmp_path / "venv")
    python = tmp_path / "venv" / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "--quiet", str(SDK)], check=True,
                   timeout=600)
    listed = subprocess.run([python, "-m", "pip", "list", "--format=json"], check=True,
                            capture_output=True, text=True).stdout
    names = {package["name"].lower() for package in json.loads(listed)}
    assert names - {"pip", "setuptools", "wheel"} == {"htcontent"} | REQUESTS_AND_ITS_OWN
    version = subprocess.run([python, "-c", "import htcontent; print(htcontent.__version__)"],
                             check=True, capture_output=True, text=True).stdout.strip()
    assert version
    assert (tmp_path / "venv" / "bin" / "htcontent").exists()
