# %% [markdown]
# # Glioma histological type: "digital biopsy"
#
# **Published design** (Danilov et al.): 83 patients, MRI; four types (WHO 2016):
# oligodendroglioma, anaplastic oligodendroglioma, anaplastic astrocytoma, glioblastoma;
# fixed-size ROIs placed inside the tumour (several per patient); one-vs-rest classification
# per type, SVM best for every type: BACC 99.3 / 97.1 / 96.6 / 94.0 % and ROC AUC 99.0 / 99.8 /
# 99.9 / 97.5 %.
#
# **What this reproduction adds.** Several ROIs per patient split at ROI level leak patient
# identity into the test set; picking the best model per class after the fact inflates the
# result; glioblastoma is the majority class. Here every model, the null model included, is
# reported for every type with all seven published metrics, grouped by patient next to the
# leaky split, plus a multiclass model.
#
# **Design of the default run: the published one.** Equal-interval and equal-probability
# binning at 2 to 128 grey levels (`levels` x `binnings`: 14 discretisations), the studies'
# feature families without shape (the ROIs are fixed-size cubes), `repeats` repeats of grouped
# 5-fold CV with two-value tuning grids (`fast`), `n_permutations` label permutations (p-values
# down to 1/(1 + n_permutations)). `--quick` (smoke tests) lowers these.

# %% tags=["parameters"]
# Parameters (papermill injects a cell after this one; `neurorad run-study glioma -p KEY VALUE`).
manifest = "work/cohorts/glioma/manifest.yaml"   # study manifest (data_manifests/README.md)
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
work_dir = "work/features/glioma"  # feature cache (finished cases are skipped on rerun)
output_dir = "reports/glioma"      # tables, headline and provenance of this report
quick = False                 # smoke-test mode (tests, CI): fewer repeats, fast models
run_label = ""                # shown on the index page (`run-all --null` sets "null cohort")
target = "histology"
control_targets = ["random_label"]   # null targets (synthetic cohorts)
headline_class = None         # type of the headline (default: glioblastoma, else the commonest)
headline_metric = "roc_auc"   # bacc, acc, sens, spec, f1, roc_auc or pr_auc

# %%
# %matplotlib inline
import pandas as pd
from IPython.display import Markdown, display

from neurorad import plots
from neurorad.reports import provenance as prov
from neurorad.reports.figures import show_figure
from neurorad.reports.format import metric_label, report_table
from neurorad.studies.headline import write_headline
from neurorad.studies import common, validation

clock = prov.RunClock()
# Quick mode (lowers the design); defines output, options, notes, inner_cv and PARAMETERS (every parameter).
common.prepare_run("glioma", globals())

# %% [markdown]
# ## Manifest check

# %%
manifest_obj, report = common.load_checked_manifest(manifest, data_root, study="glioma")
print(common.manifest_summary(manifest_obj, report))

from neurorad.studies import glioma
display(manifest_obj.target_table()[target].value_counts().rename("patients").to_frame().T)

# %% [markdown]
# ## Feature extraction
# IBSI features at the chosen grey levels (fixed bin number, relative to each ROI's range as
# RIA does). Finished cases are cached in `work_dir`, so a rerun only computes what is new.

# %%
run_settings = common.study_settings(settings, levels, methods=binnings,
                                    families=families, filters=filters)
selected = common.select(manifest_obj, images=None, rois=None)
batch = common.extract(selected, run_settings, common.resolve(work_dir), data_root=data_root,
                       scheduler=scheduler, workers=workers, device=device, progress=False)
print(common.extraction_summary(batch))
if batch.n_failed:
    display(batch.failures.head(10))

# %%
table = common.model_table(batch.wide(), manifest_obj.target_table())
print(f"model table: {table.n_rows} ROIs x {table.X.shape[1]} features, "
      f"{table.groups.nunique()} patients")

# %% [markdown]
# ## One-vs-rest per type: the published table's columns for every model
# Grouped by patient (honest) first, then the leaky ROI-level split.

# %%
ovr, ovr_results = glioma.one_vs_rest(
    table, target, models=models, outer_folds=outer_folds, repeats=repeats, seed=seed,
    n_permutations=n_permutations, **options)
display(report_table(glioma.published_layout(ovr, "grouped"),
                     "Grouped by patient: estimate [95% CI] per type and model"))
display(report_table(glioma.published_layout(ovr, "leaky"),
                     "Leaky (ROIs split regardless of patient): estimate [95% CI]"))
head_model = "svm" if "svm" in models else models[-1]
head_class = glioma.headline_class(table.targets[target].dropna().astype(str),
                                   table.groups[table.targets[target].notna()],
                                   ovr["class"].dropna().unique(), headline_class)
show_figure(plots.plot_grouped_vs_leaky(ovr[ovr.model == head_model], headline_metric,
                                        by="class", title=f"one-vs-rest, {head_model}"),
            f"One-vs-rest {metric_label(headline_metric)} of {head_model} for each "
            "histological type with "
            "its 95% interval, validated grouped by patient (blue) and with ROIs split "
            "regardless of patient (red, the published design); dotted line: chance.",
            key=True, output_dir=output)

# %% [markdown]
# ## Multiclass model (all four types at once)

# %%
y = table.targets[target].astype(str).to_numpy()
multi, multi_results = validation.grouped_and_leaky(
    table.X, y, table.groups.to_numpy(), task="classification", models=models,
    outer_folds=validation.feasible_folds(y, table.groups, outer_folds), repeats=repeats,
    seed=seed, **options)
display(report_table(validation.side_by_side(multi[multi["class"].isna()],
                                             ["bacc", "acc", "roc_auc"]),
                     "Multiclass: estimate [95% CI], grouped and leaky"))

# %% [markdown]
# ## Label-permutation control
# The grouped validation repeated with the labels permuted between patients: on the same
# partitions, each training set's label-free preprocessing (imputation, variance and
# correlation filters, scaling) is reused and everything that sees labels (tuning, selection,
# fitting) is redone. Its mean must sit at chance (ROC AUC 0.5, rho 0): if it does
# not, information leaks from test to training data.

# %%
permutation = pd.concat([validation.permutation_table(r["grouped"]).assign(type=c)
                         for c, r in ovr_results.items()], ignore_index=True)
display(report_table(permutation.set_index("type").drop(columns="method"),
                     "Observed ROC AUC against its label-permutation null, per type",
                     n_permutations=n_permutations))

# %% [markdown]
# ## Null target control
# A label independent of the images (synthetic cohorts) must be at chance when grouped.

# %%
control_metrics = validation.null_target_control(
    table, control_targets, task="classification", outer_folds=outer_folds, repeats=repeats,
    seed=seed, **options)
if not control_metrics.empty:
    display(report_table(control_metrics[control_metrics.metric == "roc_auc"][
        ["target", "split", "model", "estimate", "ci_low", "ci_high"]],
        "ROC AUC for a label independent of the images"))

# %% [markdown]
# ## Performance versus discretisation level
# The same grouped validation of one model, once per grey-level count; each level's model sees
# that level's texture features plus the level-free ones (shape, statistics, fractal).

# %%
by_level = validation.by_discretisation(
    table.X, y, table.groups.to_numpy(), task="classification", model="lasso_lr",
    outer_folds=validation.feasible_folds(y, table.groups, outer_folds), repeats=1,
    seed=seed, **options)
display(report_table(by_level[by_level.metric.isin(["roc_auc", "bacc"])][
    ["discretisation", "metric", "n_features", "estimate", "ci_low", "ci_high"]],
    "Multiclass LASSO logistic regression per discretisation"))
show_figure(plots.plot_performance_vs_discretisation(
    by_level, metric="bacc", title="multiclass balanced accuracy (chance 0.25)", chance=0.25),
    "Multiclass LASSO logistic regression: grouped balanced accuracy with its 95% interval "
    "at each discretisation; dotted line: chance (0.25 for four types).")

# %% [markdown]
# ## Features of filtered images
# With the `filters` parameter (IBSI-2 filter specs, `docs/filters.md`), features are also
# computed on each filter response map (tags end in `__<filter>`, `docs/features.md`), and
# the same grouped validation of one model runs on each image's features alone. The
# published studies used no filters, which is the default. Example:
# `-p filters "[{filter: log, dimensions: 3d, boundary: mirror, sigma_mm: 2.0, cutoff_sigmas: 4.0}]"`.

# %%
by_filter = validation.by_filter(
    table.X, y, table.groups.to_numpy(), task="classification", model="lasso_lr",
    outer_folds=validation.feasible_folds(y, table.groups, outer_folds), repeats=1,
    seed=seed, **options)
validation.show_by_filter(by_filter, ["roc_auc", "bacc"], output, "glioma_by_filter")

# %% [markdown]
# ## Our results next to the published ones

# %%
comparison = validation.published_comparison(ovr, "glioma", "one_vs_rest")
display(report_table(comparison.drop(columns="published"),
                     "Published values next to this run's grouped and leaky estimates"))

# %%
common.save_tables(output, glioma_one_vs_rest=ovr, glioma_multiclass=multi,
                   glioma_permutation=permutation, glioma_control_targets=control_metrics,
                   glioma_by_discretisation=by_level, glioma_comparison=comparison)
head = validation.headline(ovr, study="glioma", model=head_model, metric=headline_metric,
                           task="one_vs_rest", target_class=head_class,
                           metric_class=head_class, notes=notes,
                           permutation=permutation[permutation.type == head_class],
                           n_permutations=n_permutations,
                           cohort=validation.cohort_text(table))
write_headline(head, output)

# %% [markdown]
# ## Methods (generated from this run's parameters)
# Paste-able into a paper; every number below comes from the run, not from defaults.

# %%
from neurorad.reports.methods import ValidationDesign, methods_markdown
text = methods_markdown(
    study_sentence=(f"{table.groups.nunique()} patients with glioma "
                    f"({', '.join(sorted(set(y)))}) were analysed with fixed-size ROIs "
                    "inside the tumour; each type was classified against the others and all "
                    "types jointly."),
    n_subjects=len(manifest_obj.subjects), n_groups=table.groups.nunique(),
    n_rois=table.n_rows, images=sorted(next(iter(manifest_obj.subjects)).images),
    settings=run_settings.to_dict(), settings_id=run_settings.settings_id,
    validation=ValidationDesign(scheme="grouped_cv", outer_folds=outer_folds, repeats=repeats,
                                models=tuple(models), permutations=n_permutations,
                                inner=inner_cv,
                                ci_method="percentile bootstrap over patients"),
    packages=prov.package_versions(), seed=seed,
    extra_sentences=["Every model is reported for every type (no selection of the best "
                     "model per class); the same models were also validated with ROIs split "
                     "regardless of patient (leaky) for comparison with the published design."])
display(Markdown(text))

# %%
provenance = prov.collect_provenance(
    PARAMETERS, manifest_path=common.resolve(manifest), settings_id=run_settings.settings_id,
    clock=clock, extra={"cases": batch.n_cases, "failed cases": batch.n_failed,
                        "quick mode": bool(quick)})
prov.write_provenance(provenance, output)
display(Markdown("## Provenance\n" + prov.provenance_markdown(provenance)))
