"""``neurorad demo-data``: write the synthetic cohorts (images, masks, manifest, truth.json)."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from neurorad.errors import InputError, exit_code_for
from neurorad.synth.cohort import make_cohort
from neurorad.studies import STUDIES


def register(subparsers) -> None:
    """Add the ``demo-data`` subcommand."""
    parser = subparsers.add_parser(
        "demo-data",
        help="write synthetic cohorts mirroring the five studies",
        description="Write synthetic cohorts (NIfTI/DICOM images, label maps, manifest.yaml, "
                    "truth.json) of the NF2, PET, DAI, glioma and glioma-grading designs into OUT/<study>/. "
                    "The manifest path(s) are printed as the last line(s).")
    parser.add_argument("study", choices=[*STUDIES, "all"], help="which design ('all': every study)")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--null", action="store_true",
                        help="same design with no planted effects (targets independent of "
                             "the images)")
    parser.add_argument("--workers", type=int, default=None,
                        help="processes rendering subjects (default: up to 2)")
    parser.add_argument("--n-subjects", type=int, default=None,
                        help="smaller cohort for quick tries (class proportions kept)")
    parser.set_defaults(func=run_demo_data)


def run_demo_data(args: argparse.Namespace) -> int:
    """Generate the requested cohort(s); print one manifest path per line."""
    studies = tuple(STUDIES) if args.study == "all" else (args.study,)
    manifests = []
    for study in studies:
        started = time.perf_counter()
        try:
            manifests.append(make_cohort(study, args.out / study, seed=args.seed,
                                         null=args.null, workers=args.workers,
                                         n_subjects=args.n_subjects))
        except InputError as exc:
            print(f"neurorad demo-data: error: {study}: {exc}", file=sys.stderr)
            return exit_code_for(exc)
        print(f"[{study}] done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    for path in manifests:
        print(path)
    return 0
