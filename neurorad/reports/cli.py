"""``neurorad run-study``, ``neurorad report`` and ``neurorad run-all``.

run-study NAME [-p KEY VALUE ...]
    Execute the study notebook (papermill) with parameters; NAME is nf2, pet, dai, glioma, grading
    or all. The executed notebook and its tables go to ``<output>/<study>/``.
report [STUDY ...] [--all] [--no-code]
    Render executed notebooks to self-contained HTML (``<output>/<study>.html``) and write
    ``<output>/index.html``.
run-all
    Generate the synthetic cohorts if missing, run and render all five studies, write the
    index: what ``python3 run.py main`` calls.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import yaml

from neurorad.reports.run import executed_path, run_study
from neurorad.studies import STUDIES
from neurorad.synth.cohort import ensure_cohort

STUDY_CHOICES = (*STUDIES, "all")


def parse_parameter_value(text: str):
    """A ``-p`` value as YAML (``8`` -> int, ``[8, 16]`` -> list, ``true`` -> bool), else str."""
    from neurorad.yamlsafe import load_yaml

    try:
        return load_yaml(text, source="-p value")
    except yaml.YAMLError:
        return text


def _study_name(text: str) -> str:
    if text not in STUDY_CHOICES:
        raise argparse.ArgumentTypeError(
            f"unknown study {text!r}; choose from {', '.join(STUDY_CHOICES)}")
    return text


def _parameters(pairs) -> dict:
    return {key: parse_parameter_value(value) for key, value in (pairs or [])}


def _studies(names) -> list[str]:
    if not names or "all" in names:
        return list(STUDIES)
    return list(dict.fromkeys(names))


def render_reports(studies, output: Path, *, hide_code: bool = False,
                   quiet: bool = False) -> list[Path]:
    """Render the executed notebooks of ``studies`` and rebuild the index page."""
    from neurorad.reports.index import build_index
    from neurorad.reports.render import render_html

    written = []
    for study in studies:
        html = render_html(executed_path(study, output), output / f"{study}.html",
                           hide_code=hide_code, title=STUDIES[study].title,
                           entry=STUDIES[study])
        written.append(html)
        if not quiet:
            print(f"[{study}] report -> {html}", flush=True)
    index = build_index(output)
    if not quiet:
        print(f"index -> {index}", flush=True)
    return written


def _cmd_run_study(args) -> int:
    params = _parameters(args.parameter)
    if args.quick:
        params["quick"] = True
    output = Path(args.output)
    failed = []
    for study in _studies([args.name]):
        if _run_or_report(study, params, output, progress=not args.quiet):
            failed.append(study)
    if args.render:
        render_reports(_studies([args.name]), output, hide_code=args.no_code,
                       quiet=args.quiet)
    return 1 if failed else 0


def _run_or_report(study: str, params: dict, output: Path, *, progress: bool) -> bool:
    """Run ``study``; True when a notebook cell failed (reported in one line: the executed
    notebook and its report show the cell). Input errors stop the command (exit code 2)."""
    try:
        run_study(study, params, output, progress=progress)
    except Exception as exc:  # noqa: BLE001 - only a failed cell is reported and passed over
        if type(exc).__name__ != "PapermillExecutionError":
            raise
        print(f"[{study}] FAILED: {exc.ename}: {exc.evalue} (the report shows the cell)",
              file=sys.stderr, flush=True)
        return True
    return False


def _cmd_report(args) -> int:
    output = Path(args.output)
    studies = _studies(args.studies if not args.all else ["all"])
    if not args.all and not args.studies:
        # Without names: every study that has been executed.
        studies = [s for s in STUDIES if executed_path(s, output).is_file()]
        if not studies:
            print(f"no executed notebooks under {output}; run `neurorad run-study` first",
                  file=sys.stderr)
            return 1
    render_reports(studies, output, hide_code=args.no_code)
    return 0


def _cmd_run_all(args) -> int:
    started = time.time()
    work = Path(args.work)
    output = Path(args.output)
    studies = _studies(args.studies)
    params = _parameters(args.parameter)
    if args.quick:
        params["quick"] = True
    failed = []
    for i, study in enumerate(studies, 1):
        print(f"== [{i}/{len(studies)}] {STUDIES[study].title} ==", flush=True)
        manifest = ensure_cohort(study, work / "cohorts", null=args.null, seed=args.seed)
        suffix = "-null" if args.null else ""
        study_params = {"manifest": str(manifest),
                        "work_dir": str(work / "features" / f"{study}{suffix}"),
                        **({"run_label": "null cohort"} if args.null else {}), **params}
        if _run_or_report(study, study_params, output, progress=True):
            failed.append(study)
        render_reports([study], output, hide_code=args.no_code)
    print(f"all done in {time.time() - started:.0f} s; open {output / 'index.html'}",
          flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


def register(subparsers) -> None:
    """Add ``run-study``, ``report`` and ``run-all`` to the ``neurorad`` command."""
    p = subparsers.add_parser(
        "run-study", help="execute a study notebook with papermill",
        description="Execute a study notebook (papermill) with parameters; the executed "
        "notebook, tables (CSV/Parquet) and provenance go to OUTPUT/<study>/.")
    p.add_argument("name", choices=STUDY_CHOICES, help="study to run (all: every study)")
    p.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("KEY", "VALUE"),
                   help="notebook parameter (value parsed as YAML: 8, [8, 16], true); "
                   "repeatable, e.g. -p manifest data_manifests/my.yaml -p repeats 20")
    p.add_argument("--quick", action="store_true", help="set the notebook's quick switch")
    p.add_argument("--output", default="reports", help="report folder (default: reports)")
    p.add_argument("--render", action="store_true", help="also render the HTML report")
    p.add_argument("--no-code", action="store_true", help="with --render: hide code cells")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=_cmd_run_study)

    r = subparsers.add_parser(
        "report", help="render executed study notebooks to offline HTML + index",
        description="Render executed study notebooks to self-contained HTML (images "
        "embedded, no network resources) and write OUTPUT/index.html.")
    r.add_argument("studies", nargs="*", type=_study_name, metavar="STUDY",
                   help="studies to render (default: every executed one)")
    r.add_argument("--all", action="store_true", help="render all five studies")
    r.add_argument("--no-code", action="store_true", help="hide code cells")
    r.add_argument("--output", default="reports", help="report folder (default: reports)")
    r.set_defaults(func=_cmd_report)

    a = subparsers.add_parser(
        "run-all", help="synthetic cohorts -> all five studies -> reports/index.html",
        description="Generate the synthetic cohorts if missing (WORK/cohorts), run the five "
        "study notebooks and render their reports and the index page.")
    a.add_argument("studies", nargs="*", type=_study_name, metavar="STUDY",
                   help="subset of nf2, pet, dai, glioma, grading (default: all)")
    a.add_argument("--work", default="work", help="work folder (default: work)")
    a.add_argument("--output", default="reports", help="report folder (default: reports)")
    a.add_argument("--null", action="store_true",
                   help="use the null cohorts (no planted effects): every headline must be "
                   "at chance")
    a.add_argument("--seed", type=int, default=0, help="cohort seed (default 0)")
    a.add_argument("--quick", action="store_true", help="quick mode (smoke test)")
    a.add_argument("--no-code", action="store_true", help="hide code cells in the reports")
    a.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("KEY", "VALUE"),
                   help="notebook parameter for every study (repeatable)")
    a.set_defaults(func=_cmd_run_all)
