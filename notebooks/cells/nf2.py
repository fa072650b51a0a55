"""Cells of 01_nf2_radiogenomics.ipynb."""
from build_notebooks import (DISCRETISATION_MD, EXTRACT_MD, METHODS_MD, PERMUTATION_MD,
                             PROVENANCE, SETUP, VALIDATE, code, extract, md, parameters)

NOTEBOOK = "01_nf2_radiogenomics.ipynb"


def cells():
    return [
        md('''
# NF2-associated schwannomatosis: radiogenomics (exploratory)

**Published design** (Danilov et al.): 53 patients, one MRI each (T1, T1 + contrast, T2,
T2-FLAIR); every tumour outlined; genotype targets mosaic vs germline variant, truncating vs
non-truncating, CNV vs SNV; the exon coloured the plots. The study was exploratory: 2-D maps
of the feature space coloured by genotype, **no predictive metric was published**.

**What this reproduction adds.** NF2 patients often have several tumours, so lesions of one
patient are not independent: every test and every validation below is grouped by patient.
A 2-D map of thousands of features always shows *some* structure, so each colouring is
tested against a patient-level permutation null. Tumour size alone can separate genotypes
(germline patients have larger and more tumours), so every predictive check is repeated with
tumour volume as the only feature.

**Reduced settings of the default run** (to fit the ten-minute budget of `python3 run.py
main` on two CPU cores): fixed-bin-number discretisation at the levels in `levels` (published:
2, 4, ..., 128 grey levels, equal-interval and equal-probability), the studies' feature
families only (first-order statistics, GLCM, GLRLM, shape, fractal), `repeats` repeats of
5-fold grouped cross-validation with small tuning grids (`fast`), `n_permutations` label
permutations and `embedding_permutations` permutations of each map colouring. Raise them with
`-p levels "[2, 4, 8, 16, 32, 64, 128]" -p repeats 10 -p fast false -p n_permutations 100`.
'''),
        parameters("nf2", 'embedding_method = "pca"     # pca | tsne | mds | isomap\n'
                          'embedding_permutations = 199\n'
                          'fdr = 0.05                    # Benjamini-Hochberg false discovery rate\n'
                          'headline_target = "variant_origin"'),
        code(SETUP + '''
if quick:
    # 19 permutations: the fewest whose smallest p-value, 1/20, still reaches 0.05.
    embedding_permutations = min(embedding_permutations, 19)
'''),
        md("## Manifest check\nEvery problem of the manifest is reported at once; the run "
           "stops on errors."),
        code(VALIDATE + '''
from neurorad.studies import nf2
targets = nf2.genotype_targets(manifest_obj)
annotations = nf2.annotation_targets(manifest_obj)
display(manifest_obj.target_table()[targets + annotations].describe().T)
'''),
        md(EXTRACT_MD),
        code(extract()),
        code('''
table = common.model_table(batch.wide(), manifest_obj.target_table())
print(f"model table: {table.n_rows} lesions x {table.X.shape[1]} features, "
      f"{table.groups.nunique()} patients")
lesions_per_patient = table.groups.value_counts().value_counts().sort_index()
display(lesions_per_patient.rename("patients").rename_axis("lesions per patient").to_frame().T)
'''),
        md('''
## Feature-space maps with a permutation null
The embedding is computed once from the features alone. For each genotype (and the exon) we
measure how well its classes separate in the map (mean silhouette width) and compare with
the same statistic after permuting the labels between patients. A label whose silhouette
does not exceed its null is not a pattern, however suggestive the colours look.
'''),
        code('''
labels = table.targets[targets + annotations]
coords, separation = nf2.embedding_with_null(
    table, labels, method=embedding_method,
    n_permutations=embedding_permutations, seed=seed)
display(separation)
plots.plot_embedding(coords[["dim1", "dim2"]], coords[targets + annotations],
                     separation=separation);
'''),
        md('''
## Univariate tests with false-discovery-rate control
Each feature against each genotype on patient means (Mann-Whitney U; rank-biserial effect
size), Benjamini-Hochberg adjusted per target.
'''),
        code('''
univariate = nf2.univariate_by_target(table, targets, fdr=fdr)
print("features significant at FDR", fdr)
display(univariate.groupby("target")["significant"].sum().rename("n significant").to_frame().T)
display(univariate.groupby("target", sort=False).head(5)[
    ["target", "feature", "p_value", "q_value", "effect_size"]])
plots.plot_volcano(univariate, facet="target", fdr=fdr, label_top=3);
'''),
        md('''
## Predictive checks per genotype
Nested cross-validation grouped by patient (all lesions of a patient in the same fold), with
all features and with tumour volume alone; the leaky column splits lesions ignoring the
patient, as a lesion-level analysis would.
'''),
        code('''
checks, check_results = nf2.predictive_checks(
    table, targets, models=models, outer_folds=outer_folds, repeats=repeats, seed=seed,
    n_permutations=n_permutations, **options)
display(nf2.summary_table(checks, "roc_auc"))
plots.plot_grouped_vs_leaky(
    checks[(checks.model == "lasso_lr") & (checks.feature_set == "all")], "roc_auc",
    by="target", title="LASSO logistic regression, all features");
'''),
        md(PERMUTATION_MD),
        code('''
permutation = pd.concat([validation.permutation_table(res["grouped"]).assign(target=t)
                         for (t, feature_set), res in check_results.items()
                         if feature_set == "all"], ignore_index=True)
display(permutation)
'''),
        md(DISCRETISATION_MD),
        code('''
by_level = validation.by_discretisation(
    table.X, table.targets[headline_target].astype(str).to_numpy(), table.groups.to_numpy(),
    task="classification", model="lasso_lr", outer_folds=outer_folds, repeats=1, seed=seed,
    **options)
display(by_level[by_level.metric == "roc_auc"][["discretisation", "n_features", "estimate",
                                                "ci_low", "ci_high"]])
plots.plot_performance_vs_discretisation(by_level, metric="roc_auc", title=headline_target);
'''),
        md('''
## Our results next to the published ones
The study published no predictive metric, only maps; the comparison is with its conclusion
("radiomics reveals imaging patterns of tumours of different genotype"): the table below
says, per genotype, whether the map separation beats its permutation null, whether any
feature survives FDR, and the grouped AUC with all features and with volume alone.
'''),
        code('''
comparison = nf2.comparison_table(targets, separation, univariate, checks)
display(comparison)
'''),
        code('''
common.save_tables(output, nf2_predictive_checks=checks, nf2_univariate=univariate,
                   nf2_embedding_separation=separation, nf2_permutation=permutation,
                   nf2_by_discretisation=by_level, nf2_comparison=comparison,
                   nf2_embedding=coords.astype({c: str for c in labels.columns}))
head = validation.headline(
    checks[(checks.target == headline_target) & (checks.feature_set == "all")],
    study="nf2", model="lasso_lr", metric="roc_auc", task=headline_target,
    notes="; ".join(x for x in (notes, "no metric published") if x))
write_headline(head, output)
print(head)
'''),
        md(METHODS_MD),
        code('''
from neurorad.reports.methods import ValidationDesign, methods_paragraph
text = methods_paragraph(
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
'''),
        code(PROVENANCE),
    ]
