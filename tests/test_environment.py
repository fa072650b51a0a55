"""environment.yml (conda users) must declare what pyproject.toml declares, and its pip part
must install the package."""
from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
# conda-forge names differ from PyPI names only by case here; dask[distributed] is two packages.
EXTRAS_AS_PACKAGES = {"dask[distributed]": ["dask", "distributed"]}


def _split(req: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-\[\]]+)\s*(.*)$", req)
    return m.group(1), m.group(2).replace(" ", "")


def _pyproject_requirements() -> dict[str, str]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    out = {}
    for req in deps:
        name, spec = _split(req)
        for pkg in EXTRAS_AS_PACKAGES.get(name.lower(), [name]):
            out[pkg.lower()] = spec
    return out


def _environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))


def _conda_requirements(env: dict) -> dict[str, str]:
    out = {}
    for item in env["dependencies"]:
        if isinstance(item, str):
            name, spec = _split(item)
            if name.lower() not in ("python", "pip"):
                out[name.lower()] = spec
    return out


def test_environment_parses_and_uses_conda_forge():
    env = _environment()
    assert env["name"] == "neurorad"
    assert env["channels"] == ["conda-forge"]
    python = [d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python")]
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["requires-python"]
    assert python == ["python" + requires]


def test_environment_declares_the_same_dependencies_as_pyproject():
    assert _conda_requirements(_environment()) == _pyproject_requirements()


def test_environment_pip_part_installs_the_package(tmp_path):
    pip_part = [d for d in _environment()["dependencies"] if isinstance(d, dict)]
    assert pip_part == [{"pip": ["-e ."]}]
    # conda runs the pip part from the folder of environment.yml; resolve the same way. No
    # dependencies (the conda part provides those): this checks that pip builds and accepts
    # the package itself, with the build backend pyproject.toml asks for.
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps",
         "--disable-pip-version-check", "-e", "."],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Would install neurorad" in result.stdout
