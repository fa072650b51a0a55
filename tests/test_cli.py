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
