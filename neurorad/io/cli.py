"""The ``neurorad validate`` subcommand."""
from __future__ import annotations

import argparse
import logging


def register(subparsers) -> None:
    """Add ``validate`` to the ``neurorad`` command's subparsers."""
    parser = subparsers.add_parser(
        "validate",
        help="check a study manifest and every file it lists",
        description="Check a study manifest (format: data_manifests/README.md) and the images "
        "and masks it lists: schema, missing/unreadable/corrupt files, SHA-256, image/mask "
        "geometry, empty ROIs, undeclared mask labels, NaN/inf voxels, duplicate subjects, "
        "targets. All problems are reported at once. Exit status: 0 when there is no error "
        "(warnings allowed), 1 otherwise.",
    )
    parser.add_argument("manifest", metavar="MANIFEST", help="the study manifest (YAML)")
    parser.add_argument(
        "--data-root", metavar="DIR", default=None,
        help="folder the manifest's relative paths start from (overrides $NEURORAD_DATA_ROOT "
        "and the manifest's data_root)")
    parser.add_argument(
        "--no-images", dest="check_images", action="store_false",
        help="check the manifest, file existence and hashes only; do not open images")
    parser.add_argument(
        "--headers-only", dest="read_voxels", action="store_false",
        help="take image geometry from headers without reading voxels (faster; skips NaN "
        "checks and misses truncated voxel data except in NIfTI files; masks are still read)")
    parser.add_argument("--no-progress", dest="progress", action="store_false", default=None,
                        help="never show a progress bar (default: shown on a terminal for large "
                        "manifests)")
    parser.set_defaults(func=run_validate)


def run_validate(args: argparse.Namespace) -> int:
    """Print the validation report; 1 when it has errors, else 0."""
    from neurorad.io.validate import validate_manifest

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    report = validate_manifest(args.manifest, args.data_root, check_images=args.check_images,
                               read_voxels=args.read_voxels, progress=args.progress)
    print(report)
    return 0 if report.ok else 1
