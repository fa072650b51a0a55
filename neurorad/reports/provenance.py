"""Provenance of a study run: code version, packages, input hash, parameters, hardware, time.

The block is printed at the end of every report and saved as ``provenance.json`` beside it,
so a number in a paper can be traced to the exact code and data that produced it. It never
reads image headers, so no patient identifier can enter it; only the manifest file (which
holds pseudonymous ids by contract) is hashed, not printed.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from pathlib import Path

from neurorad.io.manifest import file_sha256
from neurorad.reports.safe import markdown_code, markdown_text

#: Distributions whose versions every report records.
DEFAULT_PACKAGES = (
    "neurorad", "numpy", "scipy", "pandas", "scikit-learn", "statsmodels", "SimpleITK",
    "dask", "distributed", "pyarrow", "matplotlib", "papermill", "nbconvert", "cupy",
    "cupy-cuda12x", "cupy-cuda13x",
)


def git_revision(directory: str | os.PathLike | None = None) -> dict:
    """Commit hash of the checkout holding ``directory`` (default: this package) and
    whether its tracked files have uncommitted changes.

    Returns ``{"commit": None, "dirty": None}`` when the code is not in a git checkout (an
    installed wheel) or git is unavailable.
    """
    directory = Path(directory or Path(__file__).resolve().parent)

    def git(*args):
        return subprocess.run(["git", *args], cwd=directory, capture_output=True, text=True,
                              timeout=20)

    try:
        head = git("rev-parse", "HEAD")
        if head.returncode != 0:
            return {"commit": None, "dirty": None}
        status = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.TimeoutExpired):
        return {"commit": None, "dirty": None}
    return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip())}


def package_versions(names=DEFAULT_PACKAGES) -> dict[str, str]:
    """Installed versions of ``names`` (distributions not installed are omitted)."""
    from neurorad.batch.provenance import package_versions as installed_versions

    return installed_versions(names)


def _memory_gib() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def hardware() -> dict:
    """CPU and GPU models and counts, memory, OS, Python (no host or user names)."""
    from neurorad.batch.provenance import host_info

    return {**host_info(), "memory_gib": _memory_gib(), "python": platform.python_version()}


class RunClock:
    """Wall-clock of a study run: create at the start, call :meth:`elapsed` at the end."""

    def __init__(self):
        self.started = time.time()

    def elapsed(self) -> float:
        return time.time() - self.started


def collect_provenance(parameters: dict, *, manifest_path=None, settings_id=None,
                       clock: RunClock | None = None, extra: dict | None = None) -> dict:
    """Everything needed to trace a report back to code, data and machine.

    Parameters
    ----------
    parameters : dict
        The notebook's parameters (papermill injects them); stored verbatim.
    manifest_path : path, optional
        Hashed with SHA-256 (the manifest pins the data files, optionally by their own hash).
    settings_id : str, optional
        ``Settings.settings_id`` of the extraction settings.
    clock : RunClock, optional
        Started at the beginning of the run; gives ``run_time_s``.
    extra : dict, optional
        Study-specific additions (e.g. number of cases extracted, failures).

    Returns
    -------
    dict
        JSON-serialisable; keys ``git``, ``packages``, ``manifest_sha256``, ``settings_id``,
        ``parameters``, ``hardware``, ``started_utc``, ``run_time_s`` (+ ``extra``).
    """
    prov = {
        "git": git_revision(),
        "packages": package_versions(),
        "manifest_sha256": file_sha256(manifest_path) if manifest_path else None,
        "settings_id": settings_id,
        "parameters": _jsonable(parameters),
        "hardware": hardware(),
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                     time.gmtime(clock.started if clock else time.time())),
        "run_time_s": round(clock.elapsed(), 1) if clock else None,
    }
    if extra:
        prov["extra"] = _jsonable(extra)
    return prov


def _jsonable(obj):
    return json.loads(json.dumps(obj, default=str))


def provenance_markdown(prov: dict) -> str:
    """The provenance block as Markdown (one bullet per item) for the report.

    Every value is escaped (:mod:`neurorad.reports.safe`): parameters and extra items come
    from the user and the manifest, and must display as text, never as markup.
    """
    git = prov.get("git") or {}
    commit = git.get("commit") or "not a git checkout"
    if git.get("dirty"):
        commit += " (with uncommitted changes)"
    packages = ", ".join(f"{k} {v}" for k, v in prov["packages"].items() if v)
    hw = prov["hardware"]
    hw_text = (f"{hw['os']} {hw['machine']}, {hw['cpu_model']} ({hw['cpus_usable']} of "
               f"{hw['cpu_count']} CPUs usable), {hw['memory_gib']} GiB RAM, GPU: "
               f"{', '.join(hw['gpus']) or 'none'}, Python {hw['python']}")
    params = ", ".join(markdown_code(f"{k}={v!r}") for k, v in prov["parameters"].items())
    lines = [
        f"- **Code**: neurorad git commit {markdown_code(commit)}",
        f"- **Packages**: {markdown_text(packages)}",
        f"- **Manifest SHA-256**: {markdown_code(prov.get('manifest_sha256'))}",
        f"- **Settings id**: {markdown_code(prov.get('settings_id'))}",
        f"- **Parameters**: {params}",
        f"- **Hardware**: {markdown_text(hw_text)}",
        f"- **Started (UTC)**: {markdown_text(prov['started_utc'])}; **run time**: "
        f"{markdown_text(prov['run_time_s'])} s",
    ]
    for key, value in (prov.get("extra") or {}).items():
        lines.append(f"- **{markdown_text(key)}**: {markdown_text(value)}")
    return "\n".join(lines)


def write_provenance(prov: dict, out_dir: str | os.PathLike) -> Path:
    """Write ``provenance.json`` into ``out_dir`` and return its path."""
    path = Path(out_dir) / "provenance.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(prov, indent=2, sort_keys=True), encoding="utf-8")
    return path
