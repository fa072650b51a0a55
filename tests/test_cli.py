"""`neurorad --help` and `neurorad <command> --help` for every registered command."""
from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from neurorad.cli import COMMAND_MODULES, build_parser


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(actions[0].choices) if actions else {}


def test_every_command_module_registers_a_command():
    assert len(_subcommands()) >= len(COMMAND_MODULES) >= 1


def test_top_level_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: neurorad")
    for name in _subcommands():
        assert name in out


@pytest.mark.parametrize("command", sorted(_subcommands()))
def test_command_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args([command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: neurorad {command}")
    assert len(out.splitlines()) > 3  # a description and options, not just a usage line


def test_installed_entry_point_help():
    # `python -m neurorad` runs the same main() as the console script
    done = subprocess.run([sys.executable, "-m", "neurorad", "--help"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "usage: neurorad" in done.stdout


def test_every_neurorad_error_kind_maps_to_one_exit_code():
    """One mapping (neurorad.errors.exit_code_for) for every existing error class."""
    from neurorad import errors
    from neurorad.batch.cache import InputFileError
    from neurorad.ingest.pet_suv import SuvError
    from neurorad.io.dicom_rt import DicomRtError
    from neurorad.io.dwi import DwiError
    from neurorad.io.images import ImageReadError
    from neurorad.io.manifest import ManifestError
    from neurorad.preprocess.load import ROIError, ROILabelError
    from neurorad.settings import SettingsError
    from neurorad.studies import UnknownStudyError
    from neurorad.studies.common import StudyInputError

    bad_input = [SettingsError, SuvError, ROIError, ROILabelError, DwiError, ImageReadError,
                 DicomRtError, ManifestError, errors.EmptyROIError, InputFileError,
                 StudyInputError, UnknownStudyError]
    for cls in bad_input:
        assert issubclass(cls, errors.NeuroradError), cls
        assert issubclass(cls, ValueError), cls  # `except ValueError` callers keep working
        instance = (OSError if issubclass(cls, OSError) else cls).__new__(cls)
        assert errors.exit_code_for(instance) == errors.EXIT_BAD_INPUT, cls
    assert errors.exit_code_for(errors.ResourceLimitError("x")) == errors.EXIT_RESOURCE
    assert errors.exit_code_for(KeyboardInterrupt()) == errors.EXIT_INTERRUPTED


def test_a_command_raising_bad_input_prints_one_line_and_exits_2(capsys):
    from neurorad.cli import main

    assert main(["settings", "show", "no-such-preset"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("neurorad settings: error: ") and err.count("\n") == 1
