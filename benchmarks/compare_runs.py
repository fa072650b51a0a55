"""Are two runs' numbers identical to the last digit? (a restructure must change none)

    python benchmarks/compare_runs.py BEFORE AFTER [REPORTS]

BEFORE and AFTER are the folders given to ``neurorad run-all --work BEFORE/work --output
BEFORE/reports`` (and the same for AFTER): every feature table
``work/features/<study>/features.parquet`` (rows sorted by subject, ROI, image, feature),
every result table ``<REPORTS>/<study>/*.parquet`` (default ``reports``) and every
``headline.json`` must be equal exactly (values, dtypes, order of columns). Prints one line
per difference and a count; exits 1 when anything differs.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

KEYS = ["subject", "group", "roi", "image", "feature"]


def compare(before: Path, after: Path, reports: str = "reports") -> tuple[int, list[str]]:
    """(number of comparisons, differences) between two run folders."""
    n, diffs = 0, []

    def same(x: pd.DataFrame, y: pd.DataFrame, what: str) -> None:
        nonlocal n
        n += 1
        try:
            pd.testing.assert_frame_equal(x, y, check_exact=True)
        except AssertionError as exc:
            diffs.append(f"{what}: {str(exc).splitlines()[0]}")

    for path in sorted((before / "work" / "features").glob("*/features.parquet")):
        other = after / path.relative_to(before)
        x, y = pd.read_parquet(path), pd.read_parquet(other)
        keys = [k for k in KEYS if k in x]
        same(x.sort_values(keys).reset_index(drop=True), y.sort_values(keys).reset_index(drop=True),
             f"features {path.parent.name} ({len(x)} values)")
    for path in sorted((before / reports).glob("*/*.parquet")):
        other = after / path.relative_to(before)
        if not other.is_file():
            n += 1
            diffs.append(f"{other}: missing")
            continue
        same(pd.read_parquet(path), pd.read_parquet(other), str(path.relative_to(before)))
    for path in sorted((before / reports).glob("*/headline.json")):
        n += 1
        x = json.loads(path.read_text(encoding="utf-8"))
        y = json.loads((after / path.relative_to(before)).read_text(encoding="utf-8"))
        if x != y:
            diffs.append(f"headline {path.parent.name}: "
                         f"{ {k: (x[k], y.get(k)) for k in x if x[k] != y.get(k)} }")
    return n, diffs


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__)
        return 2
    n, diffs = compare(Path(argv[0]), Path(argv[1]), *(argv[2:] or ["reports"]))
    for line in diffs:
        print("DIFF", line)
    print(f"{n} comparisons, {len(diffs)} different")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
