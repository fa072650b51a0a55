"""Write the four study notebooks (without outputs) from the cell texts below.

The notebooks are the product; this script only keeps their shared cells (setup, extraction,
methods, provenance) identical across the four. Study cells live in ``cells/<study>.py``. Edit there, run
``python notebooks/build_notebooks.py``, commit the regenerated ``.ipynb`` files.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent


def md(text: str):
    return new_markdown_cell(text.strip())


def code(text: str, tags=None):
    cell = new_code_cell(text.strip())
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


STUDY_FAMILIES = '["morphology", "statistics", "glcm", "glrlm", "fractal"]'
# Standardised fixed-size ROIs (DAI discs, glioma cubes) have the same shape in every
# subject: shape and fractal features carry no information there and are not computed.
FIXED_ROI_FAMILIES = '["statistics", "glcm", "glrlm"]'


def parameters(study: str, extra: str, families: str = STUDY_FAMILIES,
               fast: str = "True") -> object:
    return code(f'''
# Parameters (papermill injects a cell after this one; `neurorad run-study {study} -p KEY VALUE`).
manifest = "work/cohorts/{study}/manifest.yaml"   # study manifest (data_manifests/README.md)
data_root = None              # overrides the manifest's data root
settings = "seed-protocol"    # settings preset name or YAML file
families = {families}  # of the studies' set: statistics, GLCM, GLRLM, shape, fractal
levels = [8, 32]              # FBN grey levels (published: 2, 4, 8, 16, 32, 64, 128)
models = ["null", "lasso_lr", "svm", "rf"]
outer_folds = 5
repeats = 1                   # repeats of grouped K-fold CV
fast = {fast:<22}# two-value grids, untuned RF (100 trees), at most 3 repeats; False: full
n_permutations = 5            # label permutations of the control
seed = 0
device = "auto"               # cpu | gpu | auto
scheduler = None              # None/"local": local Dask cluster; "synchronous"; "tcp://host:8786"
workers = None                # processes for extraction and CV splits (default: usable CPUs)
work_dir = "work/features/{study}"  # feature cache (finished cases are skipped on rerun)
output_dir = "reports/{study}"      # tables, headline and provenance of this report
quick = False                 # smoke-test mode (tests, CI): fewer repeats, fast models
run_label = ""                # shown on the index page (`run-all --null` sets "null cohort")
{extra}
'''.strip(), tags=["parameters"])


SETUP = '''
%matplotlib inline
import warnings
from pathlib import Path

import pandas as pd
from IPython.display import Markdown, display

from neurorad.reports import provenance as prov
from neurorad.reports.index import write_headline
from neurorad import plots
from neurorad.studies import common, validation

clock = prov.RunClock()
pd.set_option("display.max_columns", 30, "display.width", 160, "display.precision", 3)
output = common.resolve(output_dir)
output.mkdir(parents=True, exist_ok=True)
if quick:
    # Smoke test: a single repeat, small tuning grids and few bootstrap replicates.
    repeats, n_permutations, outer_folds = 1, min(n_permutations, 2), min(outer_folds, 3)
    models = [m for m in models if m in ("null", "lasso_lr")]
options = {"fast": bool(fast or quick), "n_bootstrap": 200 if quick else 500,
           "n_jobs": common.parallel_jobs(workers)}  # outer CV splits fitted in parallel
notes = "; ".join(x for x in (run_label, "quick mode" if quick else "") if x)
inner_cv = (f"3-fold inner CV over {'two-value' if options['fast'] else 'full'} "
            "hyper-parameter grids")
PARAMETERS = {k: globals()[k] for k in ["manifest", "data_root", "settings", "families",
              "levels", "models", "outer_folds", "repeats", "fast", "n_permutations", "seed",
              "device", "scheduler", "workers", "work_dir", "output_dir", "quick",
              "run_label"]}
'''

VALIDATE = '''
manifest_obj, report = common.load_checked_manifest(manifest, data_root)
print(f"{len(manifest_obj.subjects)} subjects, "
      f"{len(set(s.group for s in manifest_obj.subjects))} patients, "
      f"{sum(len(s.rois) for s in manifest_obj.subjects)} ROIs; "
      f"{len(report.warnings)} warning(s)")
'''

EXTRACT_MD = '''
## Feature extraction
IBSI features at the chosen grey levels (fixed bin number, relative to each ROI's range as
RIA does). Finished cases are cached in `work_dir`, so a rerun only computes what is new.
'''


def extract(images: str = "None", rois: str = "None") -> str:
    """The extraction cell; ``images``/``rois`` are Python expressions selecting what to use."""
    return f'''
run_settings = common.study_settings(settings, levels, families=families)
selected = common.select(manifest_obj, images={images}, rois={rois})
batch = common.extract(selected, run_settings, common.resolve(work_dir), data_root=data_root,
                       scheduler=scheduler, workers=workers, device=device, progress=False)
print(f"{{batch.n_cases}} cases: {{batch.n_computed}} computed, {{batch.n_cached}} from cache, "
      f"{{batch.n_failed}} failed; {{batch.features.feature.nunique()}} features per case")
if batch.n_failed:
    display(batch.failures.head(10))
'''


PERMUTATION_MD = '''
## Label-permutation control
The whole grouped validation (splits, in-fold filters, tuning, fitting) rerun with the labels
permuted between patients. Its mean must sit at chance (ROC AUC 0.5, rho 0): if it does
not, information leaks from test to training data.
'''

DISCRETISATION_MD = '''
## Performance versus discretisation level
The same grouped validation of one model, once per grey-level count; each level's model sees
that level's texture features plus the level-free ones (shape, statistics, fractal).
'''

METHODS_MD = '''
## Methods (generated from this run's parameters)
Paste-able into a paper; every number below comes from the run, not from defaults.
'''

PROVENANCE = '''
provenance = prov.collect_provenance(
    PARAMETERS, manifest_path=common.resolve(manifest), settings_id=run_settings.settings_id,
    clock=clock, extra={"cases": batch.n_cases, "failed cases": batch.n_failed,
                        "quick mode": bool(quick)})
prov.write_provenance(provenance, output)
display(Markdown("## Provenance\\n" + prov.provenance_markdown(provenance)))
'''


def notebook(cells) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def write(name: str, cells) -> Path:
    path = HERE / name
    nbformat.write(notebook(cells), path)
    return path


if __name__ == "__main__":
    import sys
    from importlib import import_module

    for study in sys.argv[1:] or ("nf2", "pet", "dai", "glioma"):
        mod = import_module(f"cells.{study}")
        print(write(mod.NOTEBOOK, mod.cells()))
