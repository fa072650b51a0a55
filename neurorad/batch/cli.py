"""``neurorad extract``: batch feature extraction over a manifest (see docs/batch.md)."""
from __future__ import annotations

import argparse
import sys

from neurorad.backend import DEVICES
from neurorad.errors import InputError, as_input_error

EPILOG = """\
outputs in --out: features.parquet (tidy: subject, group, roi, image, settings_id, feature,
value), failures.parquet (one row per failed case, with the error), provenance.json, and
cache/ (per-case results: a rerun skips finished cases and retries failed ones).

exit status: 0 all cases extracted; 1 some cases failed (see failures.parquet);
2 bad manifest, settings or options; 3 interrupted (Ctrl-C: "interrupted; N cases cached;
rerun to resume", the same command resumes); 4 a resource limit.

examples:
  neurorad extract data_manifests/nf2.yaml --settings seed-protocol --out results/nf2
  neurorad extract study.yaml --settings my_settings.yaml --out out --workers 2
  neurorad extract study.yaml --settings ibsi-phantom --out out --scheduler tcp://head:8786
  neurorad extract study.yaml --settings ibsi-phantom --out out --scheduler synchronous
"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "extract", help="extract features for every subject/ROI/image of a manifest (Dask)",
        description="Extract IBSI features for every (subject, ROI, image) of a manifest, in "
        "parallel on a local Dask cluster (default), an existing cluster, or synchronously.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("manifest", help="manifest YAML (data_manifests/README.md)")
    p.add_argument("--settings", required=True, metavar="NAME_OR_FILE",
                   help="settings preset name (`neurorad settings list`) or YAML file")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--scheduler", default="local", metavar="local|synchronous|ADDRESS",
                   help="'local' (default): a local cluster on this machine (127.0.0.1 only); "
                   "'synchronous': in this process, for debugging; or the address of a running "
                   "Dask scheduler, e.g. tls://10.0.0.5:8786 (reached with the security "
                   "settings of your Dask configuration)")
    p.add_argument("--dashboard", action="store_true",
                   help="with the local cluster: serve the Dask dashboard on 127.0.0.1 "
                   "(port 8787 or a free one; readable by every local user while it runs). "
                   "Default: no HTTP server at all")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="worker processes of the local cluster (default: usable CPUs; "
                   "with --device gpu: number of GPUs)")
    p.add_argument("--device", choices=DEVICES, default=None,
                   help="cpu, gpu or auto (default: the settings' device, else auto; "
                   "NEURORAD_FORCE_CPU=1 forces cpu)")
    p.add_argument("--cases-per-task", type=int, default=None, metavar="N",
                   help="cases extracted together per task (texture matrices batched across "
                   "them; default 16 with --device gpu, else all ROIs of one (subject, image))")
    p.add_argument("--data-root", default=None, metavar="DIR",
                   help="folder the manifest's relative paths are relative to")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from neurorad.batch.runner import extract_manifest

    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers must be >= 1, got {args.workers}")
    try:
        result = extract_manifest(
            args.manifest, args.settings, args.out, data_root=args.data_root,
            scheduler=args.scheduler, workers=args.workers, device=args.device,
            progress=not args.no_progress, cases_per_task=args.cases_per_task,
            dashboard=args.dashboard,
        )
    except (ValueError, RuntimeError, OSError) as exc:
        # Manifest and settings errors list every problem; a file the cluster cannot open or
        # start is bad input too (exit code 2, one message: neurorad.cli).
        raise as_input_error(exc) from exc
    print(f"{result.n_cases} cases: {result.n_computed} computed, {result.n_cached} from cache, "
          f"{result.n_failed} failed ({result.elapsed_s:.1f} s)")
    print(f"features:   {result.features_path}")
    print(f"failures:   {result.failures_path}")
    print(f"provenance: {result.provenance_path}")
    return 1 if result.n_failed else 0
