"""YAML alias bombs and oversized values stop with a named error instead of hanging
(issue 14, finding 2); non-UTF-8 settings name their file (finding 11)."""
from __future__ import annotations

import pytest

from neurorad.cli import main
from neurorad.io.manifest import load_manifest, parse_manifest
from neurorad.io.validate import validate_manifest
from neurorad.settings import SettingsError, load_settings
from neurorad.yamlsafe import (MAX_ALIASES, MAX_EXPANDED_NODES, YAMLLimitError, load_yaml,
                               short_repr)


def bomb(levels: int = 9, width: int = 9) -> str:
    """Anchors l0..l{levels}: each a list of ``width`` aliases to the previous one, so the
    last expands to width**levels scalars (9**9 = 387 million)."""
    lines = ['l0: &l0 ["lol"]']
    for i in range(1, levels + 1):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    return "\n".join(lines)


def _plant_bomb(cohort, place: str):
    """Write the cohort's manifest with the bomb's anchors under ``x_bomb`` (an extension key)
    and its top alias at ``place`` (a line ``<key>: BOMB`` of the manifest)."""
    path = cohort.write()
    anchors = "x_bomb:\n  " + bomb().replace("\n", "\n  ") + "\n"
    text = path.read_text(encoding="utf-8")
    assert f"{place}: BOMB" in text
    path.write_text(anchors + text.replace(f"{place}: BOMB", f"{place}: *l9"), encoding="utf-8")
    return path


@pytest.mark.timeout(60)
def test_alias_bomb_in_description_is_a_named_problem(cohort):
    cohort.raw["description"] = "BOMB"
    path = _plant_bomb(cohort, "description")
    report = validate_manifest(path)
    assert not report.ok
    (error,) = report.errors
    assert error.file == path.as_posix()
    assert f"more than {MAX_EXPANDED_NODES:,} values" in error.message
    assert "line " in error.message


@pytest.mark.timeout(60)
def test_alias_bomb_in_a_target_value(cohort):
    cohort.subject("s1")["targets"]["uptake"] = "BOMB"
    path = _plant_bomb(cohort, "uptake")
    _, problems = parse_manifest(path)
    assert [p.severity for p in problems] == ["error"]
    assert "expanded" in problems[0].message


def test_recursive_alias_and_too_many_aliases_are_refused():
    with pytest.raises(YAMLLimitError, match="contains it"):
        load_yaml("a: &a [1, *a]", source="m.yaml")
    many = "a: &a 1\nb: [" + ", ".join(["*a"] * (MAX_ALIASES + 1)) + "]"
    with pytest.raises(YAMLLimitError, match=f"more than {MAX_ALIASES} YAML aliases"):
        load_yaml(many, source="m.yaml")


def test_ordinary_anchors_still_work(cohort):
    cohort.raw["x_defaults"] = {"variant_origin": "germline", "uptake": 2.5, "exon": 8}
    path = cohort.write()
    text = path.read_text(encoding="utf-8").replace("x_defaults:", "x_defaults: &d", 1)
    path.write_text(text, encoding="utf-8")
    data = load_yaml(text)
    assert data["x_defaults"]["uptake"] == 2.5
    assert load_manifest(path).study == "tiny"


def test_short_repr_never_walks_a_huge_shared_value():
    level = ["lol"]
    for _ in range(30):  # 9**30 elements once expanded; repr() would never finish
        level = [level] * 9
    text = short_repr(level)
    assert len(text) <= 40 and text.startswith("[[")


@pytest.mark.timeout(60)
def test_settings_file_with_an_alias_bomb(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(bomb() + "\nfamilies: *l9\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"bomb\.yaml, line \d+: more than"):
        load_settings(path)


def test_non_utf8_settings_file_names_the_file(tmp_path, capsys):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("description: Größe\n".encode("latin-1"))
    with pytest.raises(SettingsError, match=r"latin1\.yaml: not UTF-8 text \(byte 0xf6"):
        load_settings(path)
    assert main(["settings", "show", str(path)]) == 2
    err = capsys.readouterr().err
    assert "latin1.yaml: not UTF-8" in err and "Traceback" not in err


def test_yaml_error_messages_are_bounded(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("a: [" + "x, " * 100_000, encoding="utf-8")
    with pytest.raises(SettingsError) as info:
        load_settings(path)
    assert len(str(info.value)) < 500
