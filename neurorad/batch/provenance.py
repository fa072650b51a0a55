"""provenance.json for a batch: what was computed, from which inputs, with what software, where.

Deliberately contains no patient identifiers: inputs are listed by their path relative to the
data root (absolute when outside it; manifests use pseudonymous ids) and their SHA-256; nothing is read from image
headers; the host is described by CPU/GPU model and counts, not by host or user name.
"""
from __future__ import annotations

import datetime as _dt
import importlib.metadata
import os
import platform
import sys

from neurorad import __version__
from neurorad.backend import gpu_names

# Packages whose version changes numbers or speed; cupy only if installed.
PROVENANCE_PACKAGES = (
    "numpy", "scipy", "pandas", "pyarrow", "SimpleITK", "scikit-image", "dask", "distributed",
    "PyYAML", "pydicom", "cupy", "cupy-cuda12x", "cupy-cuda13x",
)


def utc_now() -> str:
    """Current time, ISO 8601 in UTC with seconds."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def package_versions(names=PROVENANCE_PACKAGES) -> dict[str, str]:
    """Installed versions of ``names`` (packages that are not installed are omitted)."""
    out = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def cpu_model() -> str:
    """CPU model name (Linux: /proc/cpuinfo; elsewhere platform.processor())."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def host_info() -> dict:
    """CPU model, logical CPU count, usable CPUs, GPU models, OS and machine type."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count()
    return {
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "gpus": gpu_names(),
        "os": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
    }


def build_provenance(*, settings_dict: dict, settings_id: str, input_hashes: dict[str, str],
                     started: str, finished: str, device: str, scheduler: str,
                     counts: dict[str, int], manifest_name: str | None = None) -> dict:
    """The provenance record written next to the feature table.

    Parameters
    ----------
    settings_dict, settings_id : the extraction settings (``Settings.to_dict()``, ``.settings_id``).
    input_hashes : SHA-256 of every input, keyed by its path relative to the data root (its
        absolute path when outside the root; never the bare file name).
    started, finished : ISO 8601 UTC times (:func:`utc_now`).
    device : the requested device (``cpu | gpu | auto``); each worker resolves ``auto`` itself.
    scheduler : ``local``, ``synchronous`` or ``distributed`` (an address is not recorded:
        it may name an internal host).
    counts : cases total / computed / cached / failed.
    """
    return {
        "neurorad_version": __version__,
        "manifest": manifest_name,
        "settings_id": settings_id,
        "settings": settings_dict,
        "started_utc": started,
        "finished_utc": finished,
        "device": device,
        "scheduler": scheduler,
        "counts": counts,
        "python": sys.version.split()[0],
        "packages": package_versions(),
        "host": host_info(),
        "inputs_sha256": dict(sorted(input_hashes.items())),
    }
