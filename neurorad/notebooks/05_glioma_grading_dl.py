# %% [markdown]
# # Glioma WHO grade: 3-D DenseNet on whole MRI vs 2-D ResNeSt on slices
#
# **Published design** (Danilov et al., Stud Health Technol Inform 2022;290:675-678): 707 MRI
# studies / 17,730 slices, WHO grades I-IV; a 3-D DenseNet on whole MRI volumes (one object =
# one MRI study) against a 2-D ResNeSt-200e on single slices (one object = one slice); Adam,
# learning rate 1e-4, cross-entropy. Published: 3-D accuracy 83 %, ROC AUC 0.95; 2-D accuracy
# 50 %, ROC AUC 0.72.
#
# **What this reproduction adds.** Nothing in the publication says whether the slices of one
# patient, or one patient's several MRI studies, were kept together. Here both networks are
# validated grouped by patient and stratified by grade; the 2-D network also with slices split
# regardless of patient (the leaky design), and scored per slice *and* per study (slice
# probabilities averaged), so that both arms are compared on the same objects. A null model and
# a null-label control (grades permuted among patients) give the chance level.
#
# **Default run.** On a CPU the networks are small members of the same families (`size`
# `small`: a MONAI DenseNet with 16 initial features, growth 16 and blocks 2-2-2; a timm
# ResNeSt-14d narrowed to widths 8-16-32-64) on volumes block-averaged to 8-mm voxels
# (`downsample` 2): DenseNet-121 and ResNeSt-200e need minutes per epoch on two cores, the
# small ones seconds, which keeps the study within the main job's budget. On a CUDA GPU
# (`device` `auto` or `gpu`) the published sizes train on the full-resolution volumes.

# %% tags=["parameters"]
# Parameters (papermill injects a cell after this one; `neurorad run-study grading -p KEY VALUE`).
manifest = "work/cohorts/grading/manifest.yaml"   # study manifest (a subject is one MRI study)
data_root = None              # overrides the manifest's data root
settings = "seed-protocol"    # radiomics arm: settings preset name or YAML file
levels = [32]                 # radiomics arm: FBN grey levels
models = ["densenet3d", "resnest2d"]   # the two networks (both are always trained)
outer_folds = 5               # grouped, grade-stratified folds
repeats = 1                   # the networks are trained once per fold
seed = 0
device = "auto"               # cpu | gpu | auto (CUDA when PyTorch sees a GPU)
scheduler = None              # radiomics arm: Dask scheduler (None: local cluster)
workers = None                # CPU: folds trained at once, one thread each (default: usable CPUs)
work_dir = "work/features/grading"  # radiomics arm: feature cache
output_dir = "reports/grading"      # tables, headline and provenance of this report
quick = False                 # smoke-test mode (tests, CI): 3 folds, 2 epochs
run_label = ""                # shown on the index page (`run-all --null` sets "null cohort")
target = "grade"
sequences = ["T1", "T1c", "FLAIR"]
size = "auto"                 # small | published | auto (published on a GPU, small on the CPU)
downsample = "auto"           # block-averaging of the volumes (auto: 1 on a GPU, 2 on the CPU)
n_slices = 4                  # axial slices per study through the tumour (2-D arm)
epochs_3d = 30
epochs_2d = 20
batch_3d = 8                  # volumes per mini-batch
batch_2d = 16                 # slices per mini-batch
learning_rate = 0.0001        # Adam, as published
class_weighting = "balanced"  # balanced (inverse class frequency) | none
leaky_3d = False              # also the 3-D arm with studies split regardless of patient
n_permutations = 1            # null-label control: grades permuted among patients, retrained
radiomics = True              # third arm: radiomics of the tumour ROI + LASSO-LR / null

# %%
# %matplotlib inline
import pandas as pd
from IPython.display import Markdown, display

from neurorad import plots
from neurorad.modeling import deep
from neurorad.reports import provenance as prov
from neurorad.reports.figures import show_figure
from neurorad.reports.format import report_table
from neurorad.studies import grading_dl
from neurorad.studies.headline import write_headline

clock = prov.RunClock()
# Device, network size, quick mode; defines output, design, n_bootstrap, n_workers, notes and
# PARAMETERS (every parameter).
grading_dl.prepare_run(globals())
versions = deep.framework_versions(torch_device)
print(f"device {torch_device}; networks: {size}; volumes block-averaged by {downsample}; "
      f"{n_workers} fold(s) at a time")

# %% [markdown]
# ## Cohort
# One subject of the manifest is one MRI study; its group is the patient. The volumes are
# normalised per sequence (divided by the median head intensity); the 2-D arm takes axial
# slices spread over the tumour's extent.

# %%
data = grading_dl.load_cohort(manifest, data_root, target=target, sequences=sequences,
                              n_slices=n_slices, downsample=downsample, study="grading")
print(f"{data.studies['patient'].nunique()} patients, {len(data.studies)} MRI studies, "
      f"{len(data.slices)} slices; volume {data.volumes.shape[1:]} (channels, z, y, x)")
display(report_table(data.summary(), "Patients, MRI studies and slices per WHO grade"))
show_figure(grading_dl.plot_examples(data),
            "One axial slice through the tumour of one study per grade, as the networks see "
            "it (normalised; the columns are the sequences).")

# %% [markdown]
# ## Networks
# Trained from random initialisation: no weights are downloaded.

# %%
descriptions = [deep.network_description(n, size, len(sequences), len(data.classes))
                for n in models]
display(report_table(pd.DataFrame(descriptions), "The two networks of this run"))

# %% [markdown]
# ## Training and cross-validation
# Every fold trains both networks from scratch: grouped by patient (the honest design), the
# 2-D network also with slices split regardless of patient (leaky), and both again on grades
# permuted among patients (null-label control).

# %%
results = grading_dl.run_grading(data, design, seed=seed, device=torch_device,
                                 workers=n_workers, n_bootstrap=n_bootstrap)
metrics = results.metrics
training = results.training
display(report_table(training.groupby(["network", "split", "labels"])[
    ["n_train", "final_loss", "seconds", "cpu_seconds"]].mean().reset_index(),
    "Training per fold (means over folds): training samples, final loss, time"))

# %% [markdown]
# ## 3-D vs 2-D, grouped vs leaky
# Accuracy, balanced accuracy, macro one-vs-rest ROC AUC and Brier score with 95 % patient
# bootstrap intervals. The null model predicts the training grade frequencies (AUC 0.5).

# %%
display(report_table(grading_dl.overview(metrics).reset_index(),
                     "Both arms, grouped by patient and leaky, with the null model"))
show_figure(plots.plot_grouped_vs_leaky(grading_dl.arms_table(metrics), "roc_auc", by="arm",
                                        title="macro ROC AUC, grades I-IV",
                                        leaky_label="leaky (slice split)"),
            "Macro one-vs-rest ROC AUC of each arm with its 95 % interval, validated grouped "
            "by patient (blue) and, for the 2-D network, with slices split regardless of "
            "patient (red); the dotted line is chance.", key=True, output_dir=output)

# %% [markdown]
# ## Per grade: precision, recall and F1
# The published table's layout, with patient-bootstrap intervals (grouped validation).

# %%
for network, unit in grading_dl.SCORED_UNITS:
    display(report_table(grading_dl.per_grade(metrics, network, unit).reset_index(),
                         f"{network} per {unit}: precision, recall, F1 per grade"))

# %% [markdown]
# ## Confusion matrices and calibration

# %%
import matplotlib.pyplot as plt
fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
for ax, (network, unit) in zip(axes, grading_dl.SCORED_UNITS):
    result = results.results[(network, unit, "grouped", "true")]
    plots.plot_confusion(result, network, ax=ax)
    ax.set_title(f"{network} per {unit}")
show_figure(fig, "Confusion matrices of the grouped validation (rows: true grade, columns: "
                 "predicted; counts of studies or slices over the test folds).")

# %%
calibration = []
for network, unit in grading_dl.SCORED_UNITS:
    result = results.results[(network, unit, "grouped", "true")]
    table, ece = grading_dl.confidence_calibration(result, network)
    calibration.append(table.assign(network=network, unit=unit, ece=ece))
calibration = pd.concat(calibration, ignore_index=True)
display(report_table(calibration.groupby(["network", "unit"])["ece"].first().rename(
    "expected calibration error").reset_index(), "Expected calibration error (top label)"))
fig, ax = plt.subplots(figsize=(5, 4.5))
for (network, unit), part in calibration.groupby(["network", "unit"], sort=False):
    ax.plot(part["confidence"], part["accuracy"], marker="o", label=f"{network} per {unit}")
ax.plot([0, 1], [0, 1], ls=":", color="grey")
ax.set(xlabel="confidence (largest predicted probability)", ylabel="accuracy", xlim=(0, 1),
       ylim=(0, 1))
ax.legend(fontsize="small")
show_figure(fig, "Top-label calibration: accuracy against mean confidence in bins of the "
                 "largest class probability; points below the diagonal are over-confident.")

# %% [markdown]
# ## Null-label control
# The grouped validation rerun with grades permuted among patients (each patient keeps one
# label for all its studies): every interval must contain chance (ROC AUC 0.5).

# %%
null_metrics = metrics[metrics.labels == "permuted"]
if null_metrics.empty:
    print("not run (n_permutations = 0)")
else:
    display(report_table(grading_dl.overview(metrics, ("bacc", "roc_auc"),
                                             labels="permuted").reset_index(),
                         "Grades permuted among patients: every interval must contain chance"))

# %% [markdown]
# ## Radiomics arm
# The tumour ROI's IBSI features (first-order statistics, GLCM, shape) on the three sequences,
# LASSO logistic regression against the null model, validated grouped by patient and
# stratified by grade (one study = one sample; `outer_folds` folds, `levels` grey levels).

# %%
radiomics_metrics = pd.DataFrame()
if radiomics:
    from neurorad.studies import common, validation
    manifest_obj = data.manifest
    run_settings = common.study_settings(settings, levels,
                                         families=["statistics", "glcm", "morphology"])
    batch = common.extract(common.select(manifest_obj, rois=["tumour"]), run_settings,
                           common.resolve(work_dir), data_root=data_root, scheduler=scheduler,
                           workers=workers, device=device, progress=False)
    table = common.model_table(batch.wide(), manifest_obj.target_table())
    y = table.targets[target].astype(str).to_numpy()
    radiomics_metrics, _ = validation.grouped_and_leaky(
        table.X, y, table.groups.to_numpy(), task="classification",
        models=["null", "lasso_lr"], outer_folds=design.n_folds, repeats=1, seed=seed,
        leaky=False, fast=True, n_bootstrap=n_bootstrap)
    display(report_table(radiomics_metrics[radiomics_metrics["class"].isna()
                                           & radiomics_metrics.metric.isin(
        ["acc", "bacc", "roc_auc", "brier"])][["model", "metric", "estimate", "ci_low", "ci_high"]],
        "Radiomics arm (tumour ROI features), grouped by patient"))
else:
    print("not run (radiomics = False)")

# %% [markdown]
# ## Our results next to the published ones

# %%
comparison = grading_dl.published_comparison(metrics)
display(report_table(comparison, "Published values next to this run's estimates"))

# %%
from neurorad.studies import common
common.save_tables(output, grading_metrics=metrics, grading_comparison=comparison,
                   grading_calibration=calibration,
                   grading_training=training.drop(columns=["loss_per_epoch"]),
                   grading_folds=results.folds, grading_radiomics=radiomics_metrics)
head = grading_dl.headline(metrics, notes=notes,
                           cohort=f"{data.studies['patient'].nunique()} patients, "
                                  f"{len(data.studies)} MRI studies, {len(data.slices)} slices")
write_headline(head, output)

# %% [markdown]
# ## Methods (generated from this run's parameters)

# %%
display(Markdown(grading_dl.methods_text(data, design, device=torch_device, seed=seed,
                                         versions=versions, descriptions=descriptions)))

# %%
provenance = prov.collect_provenance(
    PARAMETERS, manifest_path=common.resolve(manifest), clock=clock,
    extra={"frameworks": versions, "networks": descriptions, "quick mode": bool(quick),
           "training seconds": float(training["seconds"].sum()),
           "training CPU seconds": float(training["cpu_seconds"].sum())})
prov.write_provenance(provenance, output)
display(Markdown("## Provenance\n" + prov.provenance_markdown(provenance)))
