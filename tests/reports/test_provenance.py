"""Provenance: hashes, git revision, versions and the Markdown block."""
from __future__ import annotations

import hashlib
import json
import subprocess

from neurorad.io.manifest import file_sha256
from neurorad.reports.provenance import (RunClock, collect_provenance, git_revision,
                                         package_versions, provenance_markdown,
                                         write_provenance)


def _git(cwd, *args):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


def test_git_revision_reports_commit_and_dirty_state(tmp_path):
    _git(tmp_path, "init", "-q")
    (tmp_path / "a.txt").write_text("1")
    _git(tmp_path, "add", "a.txt")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x")
    head = _git(tmp_path, "rev-parse", "HEAD")
    assert git_revision(tmp_path) == {"commit": head, "dirty": False}
    (tmp_path / "a.txt").write_text("2")
    assert git_revision(tmp_path) == {"commit": head, "dirty": True}


def test_git_revision_outside_a_checkout(tmp_path):
    assert git_revision(tmp_path) == {"commit": None, "dirty": None}


def test_package_versions_omit_missing_distributions():
    import numpy

    versions = package_versions(("numpy", "no-such-distribution-xyz"))
    assert versions == {"numpy": numpy.__version__}


def test_collect_provenance_is_json_and_carries_the_inputs(tmp_path):
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text("neurorad_manifest: 1\n")
    clock = RunClock()
    clock.started -= 12.0  # pretend the run began 12 s ago
    prov = collect_provenance({"seed": 3, "levels": [8, 16], "out": tmp_path},
                              manifest_path=manifest, settings_id="abc123", clock=clock,
                              extra={"cases": 10})
    assert prov["manifest_sha256"] == hashlib.sha256(manifest.read_bytes()).hexdigest()
    assert prov["parameters"] == {"seed": 3, "levels": [8, 16], "out": str(tmp_path)}
    assert 12.0 <= prov["run_time_s"] < 60
    assert prov["hardware"]["cpu_count"] >= 1 and prov["hardware"]["memory_gib"] > 0
    json.dumps(prov)  # serialisable as is
    text = provenance_markdown(prov)
    assert prov["manifest_sha256"] in text and "`seed=3`" in text and "**cases**: 10" in text
    path = write_provenance(prov, tmp_path / "out")
    assert json.loads(path.read_text(encoding="utf-8")) == prov


def test_hardware_block_has_no_host_or_user_names():
    import getpass
    import platform

    hardware = collect_provenance({})["hardware"]
    text = json.dumps(hardware)
    assert not {"user", "hostname", "node"} & set(hardware)
    if platform.node():
        assert platform.node() not in text
    assert f'"{getpass.getuser()}"' not in text
