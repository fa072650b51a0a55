# %% [markdown]
# # Diffuse axonal injury: diffusion kurtosis MRI
#
# **Published design** (Danilov et al.): 31 patients and 12 healthy volunteers; 10 DKI maps
# (AK, AWF, AxEAD, FA, MD, KA, MK, RadEAD, RK, TORT); 15 standardised 2-D ROIs per subject
# (thalamus, lentiform nucleus, centrum semiovale, genu and splenium of the corpus callosum,
# cerebral peduncles, brainstem, anterior and posterior limbs of the internal capsule; paired
# structures on both sides). Tasks: (a) DAI vs intact tissue, LR/SVM/RF **1.000 on every
# metric**; (b) unfavourable vs favourable outcome, SVM **ROC AUC 0.997**, ACC 0.935.
#
# **What this reproduction adds.** With 15 ROIs x 10 maps per subject, splitting by ROI puts
# one subject's ROIs into both training and test sets. Every result is shown twice: grouped by
# subject (honest) and split by ROI (leaky, the published design). Univariate "top
# differentiating features" are tested at the subject level with FDR control.
#
# **Design of the default run: the published one.** All ten DKI maps present in the cohort
# (`maps`), equal-interval and equal-probability binning at 2 to 128 grey levels (`levels` x
# `binnings`: 14 discretisations), the studies' feature families without shape (the ROIs are
# standardised discs), `repeats` repeats of grouped 5-fold CV with two-value tuning grids
# (`fast`), `n_permutations` label permutations (p-values down to 1/(1 + n_permutations)).
# `--quick` (smoke tests) lowers these.

# %% tags=["parameters"]
# Parameters (papermill injects a cell after this one; `neurorad run-study dai -p KEY VALUE`).
manifest = "work/cohorts/dai/manifest.yaml"   # study manifest (data_manifests/README.md)
data_root = None              # overrides the manifest's data root
settings = "seed-protocol"    # settings preset name or YAML file
families = ["statistics", "glcm", "glrlm"]  # of the studies' set: statistics, GLCM, GLRLM, shape, fractal
levels = [2, 4, 8, 16, 32, 64, 128]  # grey levels (as published)
binnings = ["fbn", "ep"]      # equal-interval (IBSI fixed bin number), equal-probability
filters = None                # IBSI-2 filter specs (list, docs/filters.md); None: none, as published
models = ["null", "lasso_lr", "svm", "rf"]
outer_folds = 5
repeats = 5                   # repeats of grouped K-fold CV
fast = True                   # two-value tuning grids, untuned forests (60 trees); False: full
n_permutations = 99           # label permutations of the control: p down to 0.01
seed = 0
device = "auto"               # cpu | gpu | auto
scheduler = None              # None/"local": local Dask cluster; "synchronous"; "tcp://host:8786"
workers = None                # processes for extraction and CV splits (default: usable CPUs)
work_dir = "work/features/dai"  # feature cache (finished cases are skipped on rerun)
output_dir = "reports/dai"      # tables, headline and provenance of this report
quick = False                 # smoke-test mode (tests, CI): fewer repeats, fast models
run_label = ""                # shown on the index page (`run-all --null` sets "null cohort")
maps = ["AK", "AWF", "AxEAD", "FA", "MD", "KA", "MK", "RadEAD", "RK", "TORT"]  # DKI maps (as published)
tasks = ["diagnosis", "outcome"]
headline_metric = "roc_auc"   # of svm (else the last model) on outcome; acc, bacc, f1, ...
control_targets = ["random_label"]      # null targets (synthetic cohorts)
fdr = 0.05

# %%
# %matplotlib inline
import pandas as pd
from IPython.display import Markdown, display

from neurorad import plots
from neurorad.reports import provenance as prov
from neurorad.reports.figures import show_figure
from neurorad.reports.format import report_table
from neurorad.studies.headline import write_headline
from neurorad.studies import common, validation

clock = prov.RunClock()
# Quick mode (lowers the design); defines output, options, notes, inner_cv and PARAMETERS (every parameter).
common.prepare_run("dai", globals())

# %% [markdown]
# ## Manifest check

# %%
manifest_obj, report = common.load_checked_manifest(manifest, data_root, study="dai")
print(common.manifest_summary(manifest_obj, report))

from neurorad.studies import dai
display(manifest_obj.target_table().drop(columns="group").describe().T)

# %% [markdown]
# ## Feature extraction
# IBSI features at the chosen grey levels (fixed bin number, relative to each ROI's range as
# RIA does). Finished cases are cached in `work_dir`, so a rerun only computes what is new.

# %%
run_settings = common.study_settings(settings, levels, methods=binnings,
                                    families=families, filters=filters)
selected = common.select(manifest_obj, images=maps, rois=None)
batch = common.extract(selected, run_settings, common.resolve(work_dir), data_root=data_root,
                       scheduler=scheduler, workers=workers, device=device, progress=False)
print(common.extraction_summary(batch))
if batch.n_failed:
    display(batch.failures.head(10))

# %%
table = common.model_table(batch.wide(), manifest_obj.target_table())
print(f"model table: {table.n_rows} ROI rows x {table.X.shape[1]} features, "
      f"{table.groups.nunique()} subjects, "
      f"{table.X.index.get_level_values('roi').nunique()} ROIs per subject")

# %% [markdown]
# ## Grouped vs leaky validation, both tasks
# Left: folds grouped by subject. Right: folds drawn over ROIs ignoring the subject, as in the
# published analysis.

# %%
task_metrics, task_results = {}, {}
for task in tasks:
    rows = dai.task_rows(table, task)
    y = rows.targets[task].astype(str).to_numpy()
    folds = validation.feasible_folds(y, rows.groups, outer_folds)
    task_metrics[task], task_results[task] = validation.grouped_and_leaky(
        rows.X, y, rows.groups.to_numpy(), task="classification", models=models,
        outer_folds=folds, repeats=repeats, seed=seed, n_permutations=n_permutations,
        **options)
    print(f"{task}: {rows.groups.nunique()} subjects, {folds}-fold")
    display(report_table(validation.side_by_side(task_metrics[task],
                                                 ["roc_auc", "acc", "sens", "spec"]),
                         f"{task.capitalize()}: estimate [95% CI], grouped and leaky"))
    show_figure(plots.plot_grouped_vs_leaky(
        task_metrics[task][task_metrics[task]["class"].isna()], "roc_auc", title=task),
        f"{task.capitalize()}: ROC AUC of each model with its 95% interval, validated "
        "grouped by subject (blue) and with ROIs split regardless of subject (red, the "
        "published design); dotted line: chance.",
        key=(task == ("outcome" if "outcome" in tasks else tasks[0])), output_dir=output)

# %% [markdown]
# ## Label-permutation control
# The grouped validation repeated with the labels permuted between patients: on the same
# partitions, each training set's label-free preprocessing (imputation, variance and
# correlation filters, scaling) is reused and everything that sees labels (tuning, selection,
# fitting) is redone. Its mean must sit at chance (ROC AUC 0.5, rho 0): if it does
# not, information leaks from test to training data.

# %%
permutation = pd.concat([validation.permutation_table(r["grouped"]).assign(task=t)
                         for t, r in task_results.items()], ignore_index=True)
display(report_table(permutation.set_index("task").drop(columns="method"),
                     "Observed ROC AUC against its label-permutation null",
                     n_permutations=n_permutations))

# %% [markdown]
# ## Null target control
# A label drawn independently of the images (synthetic cohorts) must be at chance in the
# grouped design; the leaky design may still "find" it through subject identity.

# %%
control_metrics = validation.null_target_control(
    table, control_targets, task="classification", outer_folds=outer_folds, repeats=repeats,
    seed=seed, **options)
if not control_metrics.empty:
    display(report_table(control_metrics[control_metrics.metric == "roc_auc"][
        ["target", "split", "model", "estimate", "ci_low", "ci_high"]],
        "ROC AUC for a label independent of the images"))

# %% [markdown]
# ## Top differentiating features (subject level, FDR)
# Every ROI-feature (texture at the first grey level of `levels`) tested between the classes
# with one value per subject; the published cut p < 0.0001 is marked next to the FDR decision.

# %%
# The coarsest level when several were computed; with one level (no suffix) or no texture
# family, every feature.
top_level = next(iter(common.discretisations_in(table.X.columns)), None)
top = {task: dai.top_features(table, task, fdr=fdr, discretisation=top_level)
       for task in tasks}
print(f"texture features at {top_level} plus the level-free features" if top_level
      else "all extracted features (one discretisation level or none)")
for task, result in top.items():
    print(f"{task}: {int(result.significant.sum())} ROI-features at FDR {fdr}, "
          f"{int(result.published_threshold.sum())} at p < 1e-4")
    display(report_table(result.head(10)[["feature", "p_value", "q_value", "effect_size"]],
                         f"{task.capitalize()}: the ten ROI-features with the smallest p"))
show_figure(plots.plot_volcano(pd.concat([r.assign(task=t) for t, r in top.items()]),
                               facet="task", fdr=fdr, label_top=3),
            f"Effect size against -log10 p of every ROI-feature, per task; features "
            f"significant at FDR {fdr:g} are marked and the strongest labelled.")

# %% [markdown]
# ## Performance versus discretisation level
# The same grouped validation of one model, once per grey-level count; each level's model sees
# that level's texture features plus the level-free ones (shape, statistics, fractal).

# %%
rows = dai.task_rows(table, tasks[0])
by_level = validation.by_discretisation(
    rows.X, rows.targets[tasks[0]].astype(str).to_numpy(), rows.groups.to_numpy(),
    task="classification", model="lasso_lr", outer_folds=outer_folds, repeats=1, seed=seed,
    **options)
display(report_table(by_level[by_level.metric == "roc_auc"][
    ["discretisation", "n_features", "estimate", "ci_low", "ci_high"]],
    f"LASSO logistic regression, {tasks[0]}: ROC AUC per discretisation"))
show_figure(plots.plot_performance_vs_discretisation(by_level, metric="roc_auc",
                                                     title=tasks[0]),
            f"LASSO logistic regression, {tasks[0]}: grouped ROC AUC with its 95% interval at "
            "each discretisation (texture features of that level plus the level-free ones).")

# %% [markdown]
# ## Features of filtered images
# With the `filters` parameter (IBSI-2 filter specs, `docs/filters.md`), features are also
# computed on each filter response map (tags end in `__<filter>`, `docs/features.md`), and
# the same grouped validation of one model runs on each image's features alone. The
# published studies used no filters, which is the default. Example:
# `-p filters "[{filter: log, dimensions: 3d, boundary: mirror, sigma_mm: 2.0, cutoff_sigmas: 4.0}]"`.

# %%
by_filter = validation.by_filter(
    rows.X, rows.targets[tasks[0]].astype(str).to_numpy(), rows.groups.to_numpy(),
    task="classification", model="lasso_lr", outer_folds=outer_folds, repeats=1, seed=seed,
    **options)
validation.show_by_filter(by_filter, ["roc_auc"], output, "dai_by_filter")

# %% [markdown]
# ## Our results next to the published ones

# %%
comparison = pd.concat([validation.published_comparison(m, "dai", t).assign(task=t)
                        for t, m in task_metrics.items()], ignore_index=True)
display(report_table(comparison.set_index("task").drop(columns=["published", "class"]),
                     "Published values next to this run's grouped and leaky estimates"))

# %%
all_metrics = pd.concat([m.assign(task=t) for t, m in task_metrics.items()],
                        ignore_index=True)
top_table = pd.concat([r.assign(task=t) for t, r in top.items()], ignore_index=True)
common.save_tables(output, dai_metrics=all_metrics, dai_permutation=permutation,
                   dai_control_targets=control_metrics, dai_top_features=top_table,
                   dai_by_discretisation=by_level, dai_comparison=comparison)
headline_task = "outcome" if "outcome" in task_metrics else tasks[0]
head = validation.headline(task_metrics[headline_task], study="dai", model="svm"
                           if "svm" in models else models[-1], metric=headline_metric,
                           task=headline_task, notes=notes,
                           permutation=permutation[permutation.task == headline_task],
                           n_permutations=n_permutations,
                           cohort=validation.cohort_text(table, unit="subjects"))
write_headline(head, output)

# %% [markdown]
# ## Methods (generated from this run's parameters)
# Paste-able into a paper; every number below comes from the run, not from defaults.

# %%
from neurorad.reports.methods import ValidationDesign, methods_markdown
n_patients = int((manifest_obj.target_table()["diagnosis"] == "patient").sum()) \
    if "diagnosis" in table.targets else table.groups.nunique()
text = methods_markdown(
    study_sentence=(f"{table.groups.nunique()} subjects ({n_patients} with diffuse axonal "
                    "injury) were analysed on diffusion-kurtosis parametric maps for the tasks "
                    f"{' and '.join(tasks)}."),
    n_subjects=len(manifest_obj.subjects), n_groups=table.groups.nunique(),
    n_rois=table.n_rows, images=list(maps), settings=run_settings.to_dict(),
    settings_id=run_settings.settings_id,
    validation=ValidationDesign(scheme="grouped_cv", outer_folds=outer_folds, repeats=repeats,
                                models=tuple(models), permutations=n_permutations,
                                inner=inner_cv,
                                ci_method="percentile bootstrap over subjects"),
    packages=prov.package_versions(), seed=seed, fdr_alpha=fdr,
    extra_sentences=["For comparison with the published design the same models were also "
                     "validated with folds drawn over ROIs regardless of subject (leaky)."])
display(Markdown(text))

# %%
provenance = prov.collect_provenance(
    PARAMETERS, manifest_path=common.resolve(manifest), settings_id=run_settings.settings_id,
    clock=clock, extra={"cases": batch.n_cases, "failed cases": batch.n_failed,
                        "quick mode": bool(quick)})
prov.write_provenance(provenance, output)
display(Markdown("## Provenance\n" + prov.provenance_markdown(provenance)))
