#!/usr/bin/env python3
"""neurorad's two commands, for a fresh machine that has only python3.

    python3 run.py main    # all five studies on the built-in synthetic cohorts -> reports/index.html
    python3 run.py test    # the test suite

Both create (once) and reuse a project-local virtual environment in ``.venv/`` and install
neurorad into it (editable, with its test and dl extras: the tests, and PyTorch, MONAI and
timm for the deep-learning study) from the package index. The install is
repeated only when ``pyproject.toml`` changes. Extra arguments after the command are passed
on (to ``neurorad run-all`` for ``main``, to pytest for ``test``).
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".neurorad-install-stamp"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")

# pytest exit codes: 0 all passed, 1 some failed, 5 nothing collected (never a success here).
PYTEST_NO_TESTS = 5


def _say(msg: str) -> None:
    print(f"[run.py] {msg}", flush=True)


def _install_fingerprint() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def ensure_venv() -> None:
    """Create .venv and install neurorad[test,dl] into it unless already up to date."""
    if sys.version_info < (3, 11):
        sys.exit(f"neurorad needs Python >= 3.11; this is {sys.version.split()[0]}")
    if not PY.exists():
        _say(f"creating virtual environment in {VENV}")
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    fingerprint = _install_fingerprint()
    if STAMP.exists() and STAMP.read_text().strip() == fingerprint:
        return
    _say("installing neurorad and its dependencies into .venv (first run takes a few minutes)")
    pip = [str(PY), "-m", "pip", "install", "--disable-pip-version-check"]
    subprocess.run(pip + ["-q", "--upgrade", "pip"], check=True)
    subprocess.run(pip + ["-q", "-e", f"{ROOT}[test,dl]"], check=True)
    STAMP.write_text(fingerprint)


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    # UTF-8 whatever the locale: CI and servers often run with LANG unset (ASCII).
    env.setdefault("PYTHONUTF8", "1")
    # No MPLBACKEND here: set, it would stop Jupyter kernels from showing figures inline.
    return env


def run_main(args: list[str]) -> int:
    return subprocess.call([str(BIN / "neurorad"), "run-all", *args], cwd=ROOT, env=_environment())


def run_tests(args: list[str]) -> int:
    code = subprocess.call([str(PY), "-m", "pytest", *args], cwd=ROOT, env=_environment())
    if code == PYTEST_NO_TESTS:
        _say("pytest collected no tests: treating this as a failure")
        return 1
    return code


def main(argv: list[str]) -> int:
    commands = {"main": run_main, "test": run_tests}
    if not argv or argv[0] not in commands:
        print(__doc__)
        return 2
    ensure_venv()
    return commands[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
