"""Content hashes, per-case result cache and atomic file writes for batch extraction.

A case (one subject, ROI and image) is identified by *what it computes*, not by its name:

    key = SHA-256( "neurorad-case-v1" | image_sha256 | mask_sha256 | label | settings_id )

so a rerun skips a case whose image, mask, label and settings are unchanged, whatever the
manifest calls it, and recomputes it as soon as any input byte or setting changes.

Every file is written atomically: the bytes go to a temporary file in the destination folder,
are flushed to disk, and ``os.replace`` (atomic on POSIX and Windows within one file system)
moves it into place. A crash leaves either the old file or the new one, never half of one.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import tempfile
from pathlib import Path

import pandas as pd

from neurorad.errors import InputError
from neurorad.io.manifest import file_sha256

CASE_KEY_VERSION = "neurorad-case-v1"
#: Folder of the cache where unreadable entries are moved (CaseCache.load_or_set_aside).
UNREADABLE_DIRNAME = "unreadable"

log = logging.getLogger("neurorad.batch")


class InputFileError(InputError, OSError):
    """An input file cannot be hashed: missing, a symbolic-link loop, permission denied.

    ``path`` is the file, ``reason`` what is wrong with it (no path in it).
    """

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class MissingInputError(InputFileError, FileNotFoundError):
    """An input file does not exist."""


def _stat_signature(path: Path) -> list:
    """(size, mtime_ns) of a file, or of each file below a folder: changes when content may have."""
    if path.is_dir():
        return sorted([p.relative_to(path).as_posix(), p.stat().st_size, p.stat().st_mtime_ns]
                      for p in path.rglob("*") if p.is_file())
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


class HashMemo:
    """Remembers input hashes between runs so that a rerun over thousands of scans does not
    re-read every byte: an entry is reused only while the file's size and modification time
    (for a folder: those of each of its files) are unchanged.

    Parameters
    ----------
    memo_path : path of the JSON memo (written atomically by :meth:`save`).
    """

    def __init__(self, memo_path: str | os.PathLike):
        self.memo_path = Path(memo_path)
        self._entries: dict[str, dict] = {}
        self._dirty = False
        if self.memo_path.exists():
            try:
                self._entries = json.loads(self.memo_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                # A corrupt memo only costs re-hashing; never trust part of it.
                self._entries = {}

    def sha256(self, path: str | os.PathLike) -> str:
        """SHA-256 of ``path`` (``neurorad.io.manifest.file_sha256``: a file's bytes, or a
        DICOM folder's files concatenated in sorted order), memoised by stat signature."""
        from neurorad.io.images import path_problem

        problem = path_problem(path)
        if problem:
            missing = not os.path.lexists(path)
            raise (MissingInputError if missing else InputFileError)(Path(path), problem)
        path = Path(os.path.realpath(path))
        sig = _stat_signature(path)
        entry = self._entries.get(str(path))
        if entry is not None and entry.get("stat") == sig:
            return entry["sha256"]
        digest = file_sha256(path)
        self._entries[str(path)] = {"stat": sig, "sha256": digest}
        self._dirty = True
        return digest

    def save(self) -> None:
        if self._dirty:
            atomic_write_json(self._entries, self.memo_path)
            self._dirty = False


def case_key(image_sha256: str, mask_sha256: str, label: int | str, settings_id: str) -> str:
    """Cache key of one case (formula in the module docstring); ``label`` is a label value or,
    for an RTSTRUCT/SEG mask, a structure name."""
    text = "|".join([CASE_KEY_VERSION, image_sha256, mask_sha256, str(label), str(settings_id)])
    return hashlib.sha256(text.encode()).hexdigest()


def current_umask() -> int:
    """This process's file-mode creation mask (Linux: read from /proc, without changing it;
    elsewhere set and restored at once)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(data: bytes, path: str | os.PathLike) -> Path:
    """Write ``data`` to ``path`` atomically (temp file in the same folder + ``os.replace``).

    The file gets the mode an ordinary ``open(path, "w")`` would give it (0666 less the
    umask): ``mkstemp`` creates 0600 files, which would hide results from the group a lab
    shares them with although the user's umask allows it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if hasattr(os, "fchmod"):
                os.fchmod(fh.fileno(), 0o666 & ~current_umask())
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        # Leave no stray temp file behind, whatever interrupted the write.
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def atomic_write_parquet(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a DataFrame as Parquet atomically (the index is not stored)."""
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return atomic_write_bytes(buf.getvalue(), path)


def atomic_write_json(obj, path: str | os.PathLike) -> Path:
    """Write JSON atomically (indented, keys in insertion order)."""
    return atomic_write_bytes((json.dumps(obj, indent=2, default=str) + "\n").encode(), path)


class CaseCache:
    """Per-case feature results, one Parquet file per case key, in ``cache_dir``.

    Only successful cases are stored: a failed case has no entry and is retried by the next
    run. An entry holds the columns ``feature`` (str) and ``value`` (float64), in the
    extractor's order; names of subject/ROI/image are attached when the batch is assembled,
    because the entry is keyed by content, not by name.
    """

    def __init__(self, cache_dir: str | os.PathLike):
        self.cache_dir = Path(cache_dir)
        self.cache_dir.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.cache_dir / f"{key}.parquet"

    def has(self, key: str) -> bool:
        return self.path(key).exists()

    def store(self, key: str, features: dict[str, float]) -> Path:
        frame = pd.DataFrame(
            {"feature": pd.Series(list(features.keys()), dtype=str),
             "value": pd.Series([float(v) for v in features.values()], dtype="float64")}
        )
        return atomic_write_parquet(frame, self.path(key))

    def load(self, key: str) -> pd.DataFrame:
        return pd.read_parquet(self.path(key))

    def load_or_set_aside(self, key: str) -> pd.DataFrame | None:
        """The entry of ``key``; None when there is none or it cannot be read.

        An unreadable entry (zero bytes, truncated, not Parquet, wrong columns: a full disk
        or a crash outside our atomic writes) is moved into ``<cache>/unreadable/``, named in
        the log, and the caller recomputes the case: one bad file never blocks a rerun.
        """
        path = self.path(key)
        if not path.exists():
            return None
        try:
            entry = pd.read_parquet(path)
            if list(entry.columns) != ["feature", "value"]:
                raise ValueError(f"columns {list(entry.columns)[:4]}, expected feature, value")
        except Exception as exc:  # noqa: BLE001 - any unreadable entry is recomputed
            aside = self.cache_dir / UNREADABLE_DIRNAME / path.name
            aside.parent.mkdir(exist_ok=True)
            os.replace(path, aside)
            log.warning("cache entry %s cannot be read (%s: %s); moved to %s, the case is "
                        "recomputed", path.name, type(exc).__name__,
                        " ".join(str(exc).split())[:200], aside)
            return None
        return entry
