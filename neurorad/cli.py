"""The ``neurorad`` command line.

Each subcommand lives in the module that owns its logic; the module exposes
``register(subparsers)``, which adds its parser and sets ``func`` (called with the parsed
arguments, returning an exit code). This file assembles them and maps errors to exit codes
in one place: a command returns 0 (success) or 1 (it ran, some cases failed) and raises a
:class:`~neurorad.errors.NeuroradError` for bad input, which is printed as one line
(``neurorad COMMAND: error: ...``) and exits with :func:`~neurorad.errors.exit_code_for`:
2 bad input or usage, 3 interrupted, 4 resource limit (README, "Exit codes").
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from neurorad import __version__
from neurorad.errors import NeuroradError, exit_code_for

# Modules providing subcommands, in the order `neurorad --help` lists them.
COMMAND_MODULES = [
    "neurorad.io.cli",
    "neurorad.batch.cli",
    "neurorad.reports.cli",
    "neurorad.settings.cli",
    "neurorad.synth.cli",
    "neurorad.ingest.cli",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neurorad",
        description="IBSI-compliant neuro-radiomics: validate manifests, extract features, "
        "generate synthetic cohorts, run study notebooks and render reports.",
    )
    parser.add_argument("--version", action="version", version=f"neurorad {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt as exc:
        # One line: what the interrupted command left behind, when it says (extract:
        # "interrupted; N cases cached; rerun to resume").
        print(str(exc) or "interrupted", file=sys.stderr)
        return exit_code_for(exc)
    except NeuroradError as exc:
        # One line naming the file and what to do, never a traceback (exit codes: errors.py).
        print(f"neurorad {args.command}: error: {exc}", file=sys.stderr)
        return exit_code_for(exc)
    except BrokenPipeError:
        # `neurorad validate ... | head`: the reader went away; exit quietly like other CLIs.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
