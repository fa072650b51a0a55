# %% [markdown]
# # NF2-associated schwannomatosis: radiogenomics (exploratory)
#
# **Published design** (Danilov et al.): 53 patients, one MRI each (T1, T1 + contrast, T2,
# T2-FLAIR); every tumour outlined; genotype targets mosaic vs germline variant, truncating vs
# non-truncating, CNV vs SNV; the exon coloured the plots. The study was exploratory: 2-D maps
# of the feature space coloured by genotype, **no predictive metric was published**.
#
# **What this reproduction adds.** NF2 patients often have several tumours, so lesions of one
# patient are not independent: every test and every validation below is grouped by patient.
# A 2-D map of thousands of features always shows *some* structure, so each colouring is
# tested against a patient-level permutation null. Tumour size alone can separate genotypes
# (germline patients have larger and more tumours), so every predictive check is repeated with
# tumour volume as the only feature.
#
# **Design of the default run: the published one.** Equal-interval (fixed bin number) and
# equal-probability binning at 2, 4, ..., 128 grey levels (`levels` x `binnings`: 14
# discretisations), the studies' feature families (first-order statistics, GLCM, GLRLM, shape,
# fractal), `repeats` repeats of grouped 5-fold cross-validation with two-value tuning grids
# (`fast`), `n_permutations` label permutations (p-values down to 1/(1 + n_permutations)) and
# `embedding_permutations` permutations of each map colouring. `--quick` (smoke tests) lowers
# all of these.

# %% tags=["parameters"]
# Parameters (papermill injects a cell after this one; `neurorad run-study nf2 -p KEY VALUE`).
manifest = "work/cohorts/nf2/manifest.yaml"   # study manifest (data_manifests/README.md)
data_root = None              # overrides the manifest's data root
settings = "seed-protocol"    # settings preset name or YAML file
families = ["morphology", "statistics", "glcm", "glrlm", "fractal"]  # of the studies' set: statistics, GLCM, GLRLM, shape, fractal
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
work_dir = "work/features/nf2"  # feature cache (finished cases are skipped on rerun)
output_dir = "reports/nf2"      # tables, headline and provenance of this report
quick = False                 # smoke-test mode (tests, CI): fewer repeats, fast models
run_label = ""                # shown on the index page (`run-all --null` sets "null cohort")
embedding_method = "pca"     # pca | tsne | mds | isomap
embedding_permutations = 199
fdr = 0.05                    # Benjamini-Hochberg false discovery rate
headline_target = "variant_origin"
headline_metric = "roc_auc"   # of lasso_lr (else the last model); acc, bacc, f1, pr_auc, ...

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
common.prepare_run("nf2", globals())

# %% [markdown]
# ## Manifest check
# Every problem of the manifest is reported at once; the run stops on errors.

# %%
manifest_obj, report = common.load_checked_manifest(manifest, data_root, study="nf2")
print(common.manifest_summary(manifest_obj, report))

from neurorad.studies import nf2
targets = nf2.genotype_targets(manifest_obj)
annotations = nf2.annotation_targets(manifest_obj)
display(manifest_obj.target_table()[targets + annotations].describe().T)

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
print(f"model table: {table.n_rows} lesions x {table.X.shape[1]} features, "
      f"{table.groups.nunique()} patients")
lesions_per_patient = table.groups.value_counts().value_counts().sort_index()
display(lesions_per_patient.rename("patients").rename_axis("lesions per patient").to_frame().T)

# %% [markdown]
# ## Feature-space maps with a permutation null
# The embedding is computed once from the features alone. For each genotype (and the exon) we
# measure how well its classes separate in the map (mean silhouette width) and compare with
# the same statistic after permuting the labels between patients. A label whose silhouette
# does not exceed its null is not a pattern, however suggestive the colours look.

# %%
labels = table.targets[targets + annotations]
coords, separation = nf2.embedding_with_null(
    table, labels, method=embedding_method,
    n_permutations=embedding_permutations, seed=seed)
display(report_table(separation, "Class separation in the map against its permutation null"))
show_figure(plots.plot_embedding(coords[["dim1", "dim2"]], coords[targets + annotations],
                                 separation=separation),
            f"Two-dimensional {embedding_method} map of the feature space, one point per "
            "lesion, coloured by each genotype and the exon; the panel titles give the "
            "silhouette width and its permutation p-value.")

# %% [markdown]
# ## Univariate tests with false-discovery-rate control
# Each feature against each genotype on patient means (Mann-Whitney U; rank-biserial effect
# size), Benjamini-Hochberg adjusted per target.

# %%
univariate = nf2.univariate_by_target(table, targets, fdr=fdr)
print("features significant at FDR", fdr)
display(univariate.groupby("target")["significant"].sum().rename("n significant").to_frame().T)
display(report_table(univariate.groupby("target", sort=False).head(5)[
    ["target", "feature", "p_value", "q_value", "effect_size"]],
    "The five features with the smallest p per genotype"))
show_figure(plots.plot_volcano(univariate, facet="target", fdr=fdr, label_top=3),
            f"Effect size (rank-biserial) against -log10 p of every feature, per genotype; "
            f"features significant at FDR {fdr:g} are marked.")

# %% [markdown]
# ## Predictive checks per genotype
# Nested cross-validation grouped by patient (all lesions of a patient in the same fold), with
# all features and with tumour volume alone; the leaky column splits lesions ignoring the
# patient, as a lesion-level analysis would.

# %%
checks, check_results = nf2.predictive_checks(
    table, targets, models=models, outer_folds=outer_folds, repeats=repeats, seed=seed,
    n_permutations=n_permutations, **options)
display(report_table(nf2.summary_table(checks, "roc_auc"),
                     "ROC AUC [95% CI] per genotype: all features and volume alone"))
show_figure(plots.plot_grouped_vs_leaky(
    checks[(checks.model == "lasso_lr") & (checks.feature_set == "all")], "roc_auc",
    by="target", title="LASSO logistic regression, all features"),
    "LASSO logistic regression with all features: ROC AUC per genotype with its 95% "
    "interval, validated grouped by patient (blue) and with lesions split regardless of "
    "patient (red); dotted line: chance.", key=True, output_dir=output)

# %% [markdown]
# ## Label-permutation control
# The grouped validation repeated with the labels permuted between patients: on the same
# partitions, each training set's label-free preprocessing (imputation, variance and
# correlation filters, scaling) is reused and everything that sees labels (tuning, selection,
# fitting) is redone. Its mean must sit at chance (ROC AUC 0.5, rho 0): if it does
# not, information leaks from test to training data.

# %%
permutation = pd.concat([validation.permutation_table(res["grouped"]).assign(target=t)
                         for (t, feature_set), res in check_results.items()
                         if feature_set == "all"], ignore_index=True)
display(report_table(permutation.set_index("target").drop(columns="method"),
                     "Observed ROC AUC against its label-permutation null, per genotype",
                     n_permutations=n_permutations))

# %% [markdown]
# ## Performance versus discretisation level
# The same grouped validation of one model, once per grey-level count; each level's model sees
# that level's texture features plus the level-free ones (shape, statistics, fractal).

# %%
by_level = validation.by_discretisation(
    table.X, table.targets[headline_target].astype(str).to_numpy(), table.groups.to_numpy(),
    task="classification", model="lasso_lr", outer_folds=outer_folds, repeats=1, seed=seed,
    **options)
display(report_table(by_level[by_level.metric == "roc_auc"][
    ["discretisation", "n_features", "estimate", "ci_low", "ci_high"]],
    f"LASSO logistic regression, {headline_target}: ROC AUC per discretisation"))
show_figure(plots.plot_performance_vs_discretisation(by_level, metric="roc_auc",
                                                     title=headline_target),
            f"LASSO logistic regression, {headline_target}: grouped ROC AUC with its 95% "
            "interval at each discretisation (texture features of that level plus the "
            "level-free ones).")

# %% [markdown]
# ## Features of filtered images
# With the `filters` parameter (IBSI-2 filter specs, `docs/filters.md`), features are also
# computed on each filter response map (tags end in `__<filter>`, `docs/features.md`), and
# the same grouped validation of one model runs on each image's features alone. The
# published studies used no filters, which is the default. Example:
# `-p filters "[{filter: log, dimensions: 3d, boundary: mirror, sigma_mm: 2.0, cutoff_sigmas: 4.0}]"`.

# %%
by_filter = validation.by_filter(
    table.X, table.targets[headline_target].astype(str).to_numpy(), table.groups.to_numpy(),
    task="classification", model="lasso_lr", outer_folds=outer_folds, repeats=1, seed=seed,
    **options)
validation.show_by_filter(by_filter, ["roc_auc"], output, "nf2_by_filter")

# %% [markdown]
# ## Our results next to the published ones
# The study published no predictive metric, only maps; the comparison is with its conclusion
# ("radiomics reveals imaging patterns of tumours of different genotype"): the table below
# says, per genotype, whether the map separation beats its permutation null, whether any
# feature survives FDR, and the grouped AUC with all features and with volume alone.

# %%
comparison = nf2.comparison_table(targets, separation, univariate, checks)
display(report_table(comparison, "The published conclusion checked per genotype"))

# %%
common.save_tables(output, nf2_predictive_checks=checks, nf2_univariate=univariate,
                   nf2_embedding_separation=separation, nf2_permutation=permutation,
                   nf2_by_discretisation=by_level, nf2_comparison=comparison,
                   nf2_embedding=coords.astype({c: str for c in labels.columns}))
head = validation.headline(
    checks[(checks.target == headline_target) & (checks.feature_set == "all")],
    study="nf2", model="lasso_lr" if "lasso_lr" in models else models[-1],
    metric=headline_metric, task=headline_target,
    notes="; ".join(x for x in (notes, "no metric published") if x),
    permutation=permutation[permutation.target == headline_target],
    n_permutations=n_permutations, cohort=validation.cohort_text(table, rows="lesions"))
write_headline(head, output)

# %% [markdown]
# ## Methods (generated from this run's parameters)
# Paste-able into a paper; every number below comes from the run, not from defaults.

# %%
from neurorad.reports.methods import ValidationDesign, methods_markdown
text = methods_markdown(
    study_sentence=(f"Lesions of {table.groups.nunique()} patients with NF2-associated "
                    f"schwannomatosis were analysed against the genotype targets "
                    f"{', '.join(targets)}."),
    n_subjects=len(manifest_obj.subjects), n_groups=table.groups.nunique(),
    n_rois=table.n_rows, images=sorted(next(iter(manifest_obj.subjects)).images),
    settings=run_settings.to_dict(), settings_id=run_settings.settings_id,
    validation=ValidationDesign(scheme="grouped_cv", outer_folds=outer_folds, repeats=repeats,
                                models=tuple(models), permutations=n_permutations,
                                inner=inner_cv,
                                ci_method="percentile bootstrap over patients"),
    packages=prov.package_versions(), seed=seed, fdr_alpha=fdr,
    extra_sentences=[f"The feature space was embedded with {embedding_method.upper()} and the "
                     "separation of each label (mean silhouette width) compared with "
                     f"{embedding_permutations} patient-level label "
                     "permutations; every predictive check was repeated with tumour volume "
                     "as the only feature."])
display(Markdown(text))

# %%
provenance = prov.collect_provenance(
    PARAMETERS, manifest_path=common.resolve(manifest), settings_id=run_settings.settings_id,
    clock=clock, extra={"cases": batch.n_cases, "failed cases": batch.n_failed,
                        "quick mode": bool(quick)})
prov.write_provenance(provenance, output)
display(Markdown("## Provenance\n" + prov.provenance_markdown(provenance)))
