"""Texture batched over discretisations and ROIs equals the one-ROI, one-discretisation path.

The reference (second method) is the per-discretisation path: each family's public
``*_features(binned, n_levels, ...)`` called once per discretisation
(``tests.features.oracle.features_one_by_one``), and ``extract_features`` called once per ROI.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import SimpleITK as sitk

import neurorad
from neurorad import backend
from neurorad.features import glcm, glszm, ngtdm
from neurorad.extraction import (extract_features_batch, features_from_roi,
                                       features_from_rois)
from neurorad.features.texture_batch import TextureItem, chunk_items
from neurorad.features.texture_kernels import batched_bincount
from neurorad.preprocess.pipeline import PreprocessedROI, preprocess_roi
from tests.features.ibsi_phantom_data import AVAILABLE, PHANTOM
from tests.features.oracle import features_one_by_one

SEED = neurorad.load_settings("seed-protocol")
# Every aggregation, two FBN levels and one equal-probability level, IVH on the grey levels:
# exercises the per-slice matrices and the discretisation suffixes at a modest cost.
ALL_AGGREGATIONS = neurorad.load_settings({
    "name": "test-batch", "resample": None,
    "discretisation": [{"method": "fbn", "n_bins": [4, 16]}, {"method": "ep", "n_bins": 8}],
    "families": "all", "aggregations": ["2D", "2_5D", "3D"], "device": "cpu",
    "texture": {"glcm_distance": 1, "ngtdm_distance": 1, "ngldm_distance": 1,
                "ngldm_coarseness": 1},
})


def assert_same_features(got: dict, expected: dict, rtol: float = 1e-12):
    """Same tags in the same order, NaN in the same places, values within ``rtol``."""
    assert list(got) == list(expected)
    bad = [(k, got[k], expected[k]) for k in expected
           if not (math.isnan(got[k]) and math.isnan(expected[k]))
           and not abs(got[k] - expected[k]) <= rtol * max(abs(got[k]), abs(expected[k]))]
    assert not bad, bad[:5]


def random_image_and_mask(seed: int, shape, spacing=(1.5, 1.0, 1.0), fill=0.6):
    """SimpleITK image (smooth structure + noise) and a lumpy ellipsoid label-1 mask."""
    rng = np.random.default_rng(seed)
    grids = np.meshgrid(*[np.linspace(-1, 1, n) if n > 1 else np.zeros(1) for n in shape],
                        indexing="ij")
    score = sum(g ** 2 for g in grids) + rng.normal(0, 0.15, shape)
    mask = (score <= np.quantile(score, fill)).astype(np.uint8)
    values = 100 + 40 * np.sin(3 * grids[-1]) * np.cos(2 * grids[-2]) + rng.normal(0, 15, shape)
    image = sitk.GetImageFromArray(values)
    image.SetSpacing(tuple(reversed(spacing)))
    label = sitk.GetImageFromArray(mask)
    label.CopyInformation(image)
    return image, label


def quietly(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(*args, **kwargs)


# ------------------------------------------------- batched over the discretisations of a ROI

def test_seed_protocol_batched_equals_per_discretisation_on_a_random_roi():
    image, mask = random_image_and_mask(3, (14, 22, 19))
    roi = preprocess_roi(image, mask, SEED, diagnostics=False)
    batched = quietly(features_from_roi, roi, SEED)
    reference = quietly(features_one_by_one, roi, SEED)
    assert len(reference) == 2400  # 14 discretisations: the preset's documented feature count
    assert_same_features(batched, reference)


@pytest.mark.skipif(not AVAILABLE, reason=f"IBSI digital phantom not found at {PHANTOM}")
def test_seed_protocol_batched_equals_per_discretisation_on_the_ibsi_phantom():
    path = PHANTOM
    roi = preprocess_roi(str(path / "image" / "phantom.nii.gz"),
                         str(path / "mask" / "mask.nii.gz"), SEED, diagnostics=False)
    assert_same_features(quietly(features_from_roi, roi, SEED),
                         quietly(features_one_by_one, roi, SEED))


@pytest.mark.skipif(not AVAILABLE, reason=f"IBSI digital phantom not found at {PHANTOM}")
def test_ibsi_phantom_preset_batched_equals_per_discretisation():
    """All aggregations (2D, 2.5D, 3D), grey levels used as they are (Ng = 6)."""
    settings = neurorad.load_settings("ibsi-phantom")
    roi = preprocess_roi(str(PHANTOM / "image" / "phantom.nii.gz"),
                         str(PHANTOM / "mask" / "mask.nii.gz"), settings, diagnostics=False)
    assert_same_features(quietly(features_from_roi, roi, settings),
                         quietly(features_one_by_one, roi, settings))


@pytest.mark.parametrize("family", ["glszm", "gldzm", "ngtdm", "ngldm"])
def test_only_3d_aggregation_of_a_single_slice_image_is_nan_not_an_error(family):
    from neurorad.features import gldzm, ngldm

    binned = np.array([[[1, 2, 2], [1, 1, 2]]])
    extra = (binned > 0,) if family == "gldzm" else ()
    function = {"glszm": glszm.glszm_features, "gldzm": gldzm.gldzm_features,
                "ngtdm": ngtdm.ngtdm_features, "ngldm": ngldm.ngldm_features}[family]
    with pytest.warns(RuntimeWarning, match="single-slice"):
        features = function(binned, 2, *extra, aggregations=("3D",))
    assert features and all(math.isnan(v) for v in features.values())


def test_seed_protocol_batched_equals_per_discretisation_on_a_single_slice_image():
    image, mask = random_image_and_mask(4, (1, 25, 23))
    roi = preprocess_roi(image, mask, SEED, diagnostics=False)
    batched = quietly(features_from_roi, roi, SEED)
    assert_same_features(batched, quietly(features_one_by_one, roi, SEED))
    assert math.isnan(batched["szm_sze_3D_fbn8"]) and math.isnan(batched["cm_joint_max_3D_avg_ep4"])


# ------------------------------------------------------------------ batched over many ROIs

CASES = [  # seed, shape (z, y, x), spacing (z, y, x)
    (11, (9, 16, 13), (2.0, 0.8, 0.8)),
    (12, (1, 30, 27), (3.0, 1.0, 1.0)),      # single-slice image: 3D aggregations are NaN
    (13, (20, 24, 26), (1.0, 1.0, 1.0)),
    (14, (5, 7, 6), (1.0, 1.0, 1.0)),        # tiny
    (15, (12, 11, 30), (1.2, 0.9, 0.9)),
]


@pytest.fixture(scope="module")
def several_rois():
    return [random_image_and_mask(seed, shape, spacing) for seed, shape, spacing in CASES]


def per_discretisation(image, mask, settings):
    """The reference: preprocessing, then every family once per discretisation."""
    roi = preprocess_roi(image, mask, settings, diagnostics=False)
    return quietly(features_one_by_one, roi, settings)


@pytest.fixture(scope="module")
def one_by_one(several_rois):
    return [per_discretisation(image, mask, ALL_AGGREGATIONS) for image, mask in several_rois]


def test_extract_features_equals_the_per_discretisation_path(several_rois, one_by_one):
    for (image, mask), expected in zip(several_rois, one_by_one):
        assert_same_features(quietly(neurorad.extract_features, image, mask, ALL_AGGREGATIONS),
                             expected)


@pytest.mark.parametrize("max_voxels", [None, 3000])
def test_batch_of_rois_equals_extract_features_per_roi(several_rois, one_by_one, max_voxels):
    """``max_voxels=3000`` splits the work into many chunks, ROIs spanning chunk borders."""
    batch = quietly(extract_features_batch, [(image, mask, 1) for image, mask in several_rois],
                    ALL_AGGREGATIONS, max_voxels=max_voxels)
    assert len(batch) == len(several_rois)
    for got, expected in zip(batch, one_by_one):
        assert_same_features(got, expected)
    single_slice = batch[1]
    assert math.isnan(single_slice["cm_joint_max_3D_avg_fbn4"])
    assert not math.isnan(single_slice["cm_joint_max_2D_avg_fbn4"])


def test_batch_accepts_preprocessed_arrays(several_rois, one_by_one):
    rois = [preprocess_roi(image, mask, ALL_AGGREGATIONS, diagnostics=False)
            for image, mask in several_rois[:3]]
    batch = quietly(extract_features_batch, rois, ALL_AGGREGATIONS)
    for got, expected in zip(batch, one_by_one[:3]):
        assert_same_features(got, expected)


def test_roi_without_intensity_voxels_gives_nan_and_a_warning_within_a_batch(several_rois):
    """Re-segmentation to [0, 150] empties the ROI whose intensities were shifted to ~ -900;
    its neighbours in the batch are unaffected."""
    settings = neurorad.load_settings({**ALL_AGGREGATIONS.to_dict(), "name": "reseg",
                                       "resegment": {"range": [0, 150]}})
    image, mask = several_rois[0]
    dark = sitk.Cast(image, sitk.sitkFloat64) - 1000.0
    entries = [several_rois[2] + (1,), (dark, mask, 1), several_rois[3] + (1,)]
    with pytest.warns(RuntimeWarning, match="no voxel left after re-segmentation"):
        batch = quietly_except_empty(entries, settings)
    expected = [per_discretisation(*entries[0][:2], settings),
                quietly(neurorad.extract_features, dark, mask, settings),
                per_discretisation(*entries[2][:2], settings)]
    for got, exp in zip(batch, expected):
        assert_same_features(got, exp)
    assert math.isnan(batch[1]["stat_mean"]) and not math.isnan(batch[1]["morph_volume"])


def quietly_except_empty(entries, settings):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        warnings.filterwarnings("always", message=".*no voxel left after re-segmentation.*")
        return extract_features_batch(entries, settings)


def test_bad_entry_names_its_position_in_the_batch(several_rois):
    image, _ = several_rois[0]
    with pytest.raises(TypeError, match="a batch entry must be"):
        extract_features_batch([several_rois[0], (image,)], ALL_AGGREGATIONS)
    with pytest.raises(Exception) as info:
        extract_features_batch([several_rois[0] + (1,), several_rois[1] + (7,)],
                               ALL_AGGREGATIONS)
    assert "ROI 1 of 2" in " ".join(getattr(info.value, "__notes__", []))


# ------------------------------------------------------------------------- building blocks

def test_fused_bincount_equals_one_bincount_per_roi():
    """The GPU strategy (one bincount over shifted codes) counts what per-ROI calls count."""
    rng = np.random.default_rng(5)
    sizes = [7, 1, 40, 13]
    codes = [rng.integers(0, s, size=n) for s, n in zip(sizes, (50, 3, 500, 0))]
    weights = [rng.random(c.size) for c in codes]
    for w in (None, weights):
        fused = batched_bincount(codes, sizes, weights=w, fuse=True)
        apart = batched_bincount(codes, sizes, weights=w, fuse=False)
        for a, b, c, s, wi in zip(fused, apart, codes, sizes, w or [None] * 4):
            assert a.shape == (s,)
            np.testing.assert_allclose(a, b, rtol=1e-15)
            # by hand: count of each code
            expected = np.array([(wi[c == k].sum() if wi is not None else (c == k).sum())
                                 for k in range(s)])
            np.testing.assert_allclose(a, expected, rtol=1e-12)


@pytest.mark.parametrize("in_plane", [True, False])
def test_stacked_zone_labelling_equals_labelling_each_box(in_plane):
    """The GPU strategy (boxes stacked with empty slices between them, one binary labelling
    per grey level; here scipy's labeller) finds the zones scikit-image finds box by box."""
    from scipy import ndimage

    from neurorad.features.texture import prepare_roi

    rng = np.random.default_rng(8)
    boxes = []
    for shape, n_levels in (((4, 7, 9), 3), ((1, 12, 5), 2), ((6, 6, 6), 4), ((3, 3, 3), 1)):
        binned = rng.integers(1, n_levels + 1, size=shape)
        binned[rng.random(shape) < 0.2] = 0
        binned[0, 0, 0] = 1  # keep the box size (first voxel in the ROI)
        binned[-1, -1, -1] = 1
        boxes.append(prepare_roi(binned, n_levels, "test", pad=0))
    boxes.insert(2, None)  # an empty ROI keeps its place
    stacked = glszm.zone_tables(boxes, in_plane=in_plane, volume=not in_plane,
                                label_binary=ndimage.label)
    separate = glszm.zone_tables(boxes, in_plane=in_plane, volume=not in_plane)
    kind = "2D" if in_plane else "3D"
    assert stacked[2] is None and separate[2] is None
    for a, b in zip(stacked, separate):
        if a is None:
            continue
        a, b = a[kind], b[kind]
        assert a.n == b.n

        def table(zones):
            return sorted(zip(zones.levels.tolist(), zones.sizes.tolist(),
                              zones.slices.tolist()))

        assert table(a) == table(b)
        assert a.labels.min() == 0 and set(np.unique(a.labels)) == set(range(a.n + 1)) | {0}
    full = prepare_roi(np.ones((2, 3, 3), dtype=np.int64), 1, "test", pad=0)
    (zones,) = glszm.zone_tables([full], in_plane=False, volume=True, label_binary=ndimage.label)
    assert zones["3D"].n == 1 and zones["3D"].sizes.tolist() == [18]  # no background voxel


def test_chunks_respect_the_voxel_budget_and_keep_order():
    masks = [np.ones(shape, bool) for shape in ((2, 3, 4), (5, 5, 5), (1, 2, 2), (3, 3, 3))]
    items = [TextureItem(np.ones(int(m.sum()), np.uint8), 2, m) for m in masks]
    # sizes 24, 125, 4, 27 with a budget of 60: [24], [125] alone (too large), [4, 27]
    assert chunk_items(items, 60) == [[0], [1], [2, 3]]
    assert chunk_items(items, 10 ** 6) == [[0, 1, 2, 3]]


def test_features_from_matrices_refuse_matrices_that_were_not_built():
    binned = np.zeros((3, 4, 4), dtype=np.int64)
    binned[:, 1:3, 1:3] = 1
    binned[1, 1, 1] = 2
    (summed,) = glcm.glcm_matrices([(binned, 2)], per_slice=False)
    with pytest.raises(ValueError, match="per-slice"):
        glcm.glcm_features_from_matrices(summed, ("2D_avg",))
    (volume_only,) = glszm.glszm_matrices([(binned, 2)], in_plane=False)
    with pytest.raises(ValueError, match="per-slice"):
        glszm.glszm_features_from_matrices(volume_only, ("2D",))
    (slices_only,) = ngtdm.ngtdm_matrices([(binned, 2)], volume=False)
    with pytest.raises(ValueError, match="3D matrix"):
        ngtdm.ngtdm_features_from_matrices(slices_only, ("3D",))


def test_features_from_rois_marks_an_empty_intensity_mask_with_none():
    image, mask = random_image_and_mask(21, (4, 9, 9))
    roi = preprocess_roi(image, mask, ALL_AGGREGATIONS, diagnostics=False)
    empty = PreprocessedROI(roi.image, roi.morph_mask, np.zeros_like(roi.int_mask), roi.spacing)
    results = quietly(features_from_rois, [empty, roi], ALL_AGGREGATIONS)
    assert results[0] is None
    assert_same_features(results[1], quietly(features_one_by_one, roi, ALL_AGGREGATIONS))


@pytest.mark.gpu
@pytest.mark.skipif(not backend.gpu_available(),
                    reason=f"no usable GPU: {backend.gpu_unavailable_reason()}")
def test_gpu_batch_equals_cpu_features(several_rois, one_by_one):
    entries = [(image, mask, 1) for image, mask in several_rois]
    gpu = quietly(extract_features_batch, entries, ALL_AGGREGATIONS, device="gpu")
    for got, expected in zip(gpu, one_by_one):
        assert list(got) == list(expected)
        for tag in expected:
            assert np.isclose(got[tag], expected[tag], rtol=1e-9, atol=1e-12,
                              equal_nan=True), tag


def test_gpu_script_batched_parity_wiring_on_numpy():
    """The GPU script's batched parity check (benchmarks/gpu_parity_and_timing.py), run with
    NumPy in place of CuPy: texture_features_batch over several ROIs x the seed protocol's
    14 discretisations equals the public *_features functions item by item."""
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_parity_and_timing.py"
    spec = importlib.util.spec_from_file_location("gpu_parity_and_timing", script)
    harness = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(harness)
    cases = harness.parity_cases(dict(np.load(harness.DEFAULT_INPUTS)))
    small = {k: cases[k] for k in ("ibsi_digital_phantom", "single_slice_24x24",
                                   "small_5x12x9_anisotropic")}
    problems = harness.check_batched_parity(small, np)
    assert set(problems) == {f"batched:{k}" for k in small}
    assert not any(problems.values()), problems


def test_coarsened_glcm_equals_the_glcm_of_the_merged_levels():
    # Block sums of the fine counts against counting the pairs of the merged levels again.
    rng = np.random.default_rng(12)
    for shape, n_fine, ratio in (((5, 8, 7), 16, 4), ((1, 9, 9), 8, 2), ((3, 6, 5), 6, 3)):
        fine = rng.integers(1, n_fine + 1, size=shape) * (rng.random(shape) < 0.8)
        coarse = np.where(fine > 0, (fine - 1) // ratio + 1, 0)
        for per_slice in (True, False):
            (built_fine,) = glcm.glcm_matrices([(fine, n_fine)], per_slice=per_slice)
            (built_coarse,) = glcm.glcm_matrices([(coarse, n_fine // ratio)], per_slice=per_slice)
            merged = glcm.coarsened(built_fine, ratio)
            np.testing.assert_array_equal(merged.in_plane, built_coarse.in_plane)
            np.testing.assert_array_equal(merged.out_of_plane, built_coarse.out_of_plane)
            np.testing.assert_array_equal(merged.j_values, built_coarse.j_values)
            assert (merged.n_levels, merged.per_slice) == (built_coarse.n_levels, per_slice)
    with pytest.raises(ValueError, match="cannot merge"):
        glcm.coarsened(built_fine, 4)


def test_coarsening_parents_are_found_on_the_levels_not_assumed():
    from neurorad.features.texture_batch import coarsening_parents

    rng = np.random.default_rng(13)
    mask = rng.random((8, 9, 10)) < 0.7  # > 16 x 16 voxels: merging pays
    fine = rng.integers(1, 17, size=int(mask.sum()))
    nested = (fine - 1) // 4 + 1
    not_nested = nested.copy()
    not_nested[0] = nested[0] % 4 + 1  # one voxel off
    other_mask = mask.copy()
    items = [TextureItem(nested, 4, mask), TextureItem(fine, 16, mask),
             TextureItem(not_nested, 4, mask), TextureItem((fine - 1) // 2 + 1, 8, mask),
             TextureItem(nested, 4, other_mask)]  # another ROI: never a child of the first
    # the closest parent: 16 -> 8 -> 4
    assert coarsening_parents(items) == {3: (1, 2), 0: (3, 2)}


def test_seed_protocol_with_merged_glcms_equals_per_discretisation(monkeypatch):
    # Small ROIs count their pairs; force the merging (FBN 2..64 from 128 and equal
    # probability where the breaks nest) and compare with one discretisation at a time.
    from neurorad.features import texture_batch
    from neurorad.preprocess.discretise import fbn_nested_levels

    monkeypatch.setattr(texture_batch, "COARSEN_MIN_VOXELS_PER_CELL", 0.0)
    image, mask = random_image_and_mask(4, (14, 22, 19))
    roi = preprocess_roi(image, mask, SEED, diagnostics=False)
    nested = fbn_nested_levels(roi.image[roi.int_mask], [8, 32, 128])
    items = [TextureItem(levels, n, roi.int_mask) for n, (levels, _) in nested.items()]
    assert texture_batch.coarsening_parents(items) == {0: (1, 4), 1: (2, 4)}
    assert_same_features(quietly(features_from_roi, roi, SEED),
                         quietly(features_one_by_one, roi, SEED))
