"""DKI maps: exact recovery from signals built with the cumulant expansion, and the real
multi-shell DWI that dipy ships (``small_101D``)."""
from __future__ import annotations

import numpy as np
import pytest

from neurorad.ingest.dki import MAP_NAMES, WHITE_MATTER_MAPS, fit_maps
from neurorad.io.dwi import DwiError, gradient_table, read_dwi, read_gradient_table


@pytest.fixture(scope="module")
def small_101d():
    from dipy.data import get_fnames

    dwi_path, bval_path, bvec_path = get_fnames(name="small_101D")
    return read_dwi(dwi_path, bval_path, bvec_path)


def _signal(bvals, bvecs, mean_d, var_d):
    """S = 100 exp(-b D(n) + b^2 Var(n) / 2): the DKI (second-cumulant) signal, where
    Var(n) = MD^2 K(n) / 3 is the variance of the diffusivities of the compartments."""
    d = mean_d(bvecs)
    v = var_d(bvecs)
    return 100.0 * np.exp(-bvals * d + bvals ** 2 * v / 2.0)


# Two-compartment white matter along x (Fieremans et al. 2011): axonal water fraction
# f = 0.4, intra-axonal stick Da = 1.0 um^2/ms; extra-axonal tensor De_par = 1.5,
# De_perp = 0.5 (um^2/ms = 1e-3 mm^2/s).
F, DA, DE_PAR, DE_PERP = 0.4, 1.0e-3, 1.5e-3, 0.5e-3


def _wm_mean(n):
    return F * DA * n[:, 0] ** 2 + (1 - F) * (DE_PAR * n[:, 0] ** 2 + DE_PERP * (1 - n[:, 0] ** 2))


def _wm_var(n):
    da = DA * n[:, 0] ** 2
    de = DE_PAR * n[:, 0] ** 2 + DE_PERP * (1 - n[:, 0] ** 2)
    return F * da ** 2 + (1 - F) * de ** 2 - _wm_mean(n) ** 2


@pytest.fixture(scope="module")
def synthetic_maps(small_101d):
    return fit_maps(_synthetic_stack(small_101d), small_101d.bvals, small_101d.bvecs, chunks=2,
                    scheduler="synchronous")


def test_isotropic_kurtosis_recovered(synthetic_maps):
    m = {k: v[0, 0, 0] for k, v in synthetic_maps.items()}
    assert m["MD"] == pytest.approx(1.0e-3, rel=1e-6)
    assert m["FA"] == pytest.approx(0.0, abs=1e-6)
    for name in ("MK", "AK", "RK"):
        assert m[name] == pytest.approx(0.8, rel=1e-4), name
    assert m["KA"] == pytest.approx(0.0, abs=1e-4)
    # FA 0 < 0.4: the white-matter model does not apply
    assert all(np.isnan(m[name]) for name in WHITE_MATTER_MAPS)


def test_two_compartment_white_matter_recovered(synthetic_maps):
    m = {k: v[1, 0, 0] for k, v in synthetic_maps.items()}
    # D eigenvalues (1.3, 0.3, 0.3) um^2/ms: MD = 1.9/3, FA = sqrt(1.5 * 0.6667 / 1.87)
    assert m["MD"] == pytest.approx(1.9e-3 / 3, rel=1e-6)
    assert m["FA"] == pytest.approx(np.sqrt(1.5 * (2 / 3) / 1.87), rel=1e-6)
    # along x: K = 3 f (1-f) (Da - De_par)^2 / D^2 = 0.18 / 1.69; across: 3 f / (1-f) = 2
    assert m["AK"] == pytest.approx(0.18 / 1.69, rel=1e-4)
    assert m["RK"] == pytest.approx(2.0, rel=1e-4)
    assert m["AWF"] == pytest.approx(F, abs=2e-3)
    assert m["AxEAD"] == pytest.approx(DE_PAR, rel=1e-2)
    assert m["RadEAD"] == pytest.approx(DE_PERP, rel=1e-2)
    assert m["TORT"] == pytest.approx(DE_PAR / DE_PERP, rel=2e-2)


def test_chunks_do_not_change_the_maps(synthetic_maps, small_101d):
    again = fit_maps(_synthetic_stack(small_101d), small_101d.bvals, small_101d.bvecs,
                     chunks=1, scheduler="synchronous")
    for name in MAP_NAMES:
        np.testing.assert_allclose(again[name], synthetic_maps[name], rtol=1e-12, equal_nan=True)


def _synthetic_stack(dwi):
    """Voxels: isotropic (MD 1 um^2/ms, K = 0.8), white matter, and again both."""
    iso = _signal(dwi.bvals, dwi.bvecs, lambda n: np.full(len(n), 1.0e-3),
                  lambda n: np.full(len(n), 0.8 * 1.0e-3 ** 2 / 3))
    wm = _signal(dwi.bvals, dwi.bvecs, _wm_mean, _wm_var)
    return np.stack([iso, wm, iso, wm]).reshape(4, 1, 1, -1)


@pytest.fixture(scope="module")
def real_maps(small_101d):
    return fit_maps(small_101d.data, small_101d.bvals, small_101d.bvecs, chunks=3,
                    scheduler="threads", workers=2)


def test_small_101d_ships_with_dipy(small_101d):
    assert small_101d.data.shape == (6, 10, 10, 102)
    assert len(np.unique(np.round(small_101d.bvals[small_101d.bvals > 50], -3))) >= 3


def test_small_101d_maps_plausible_and_equal_to_one_dipy_fit(real_maps, small_101d):
    import dipy.reconst.dki as dki

    # default b_max 3000 (+50 s/mm^2 jitter): the volumes with b <= 3050 (small_101D goes to
    # 4065), selected here with NumPy
    low = small_101d.bvals <= 3050
    fit = dki.DiffusionKurtosisModel(gradient_table(small_101d.bvals[low],
                                                    small_101d.bvecs[low])).fit(
        small_101d.data[..., low])
    np.testing.assert_allclose(real_maps["MD"], fit.md, rtol=1e-10)
    np.testing.assert_allclose(real_maps["FA"], fit.fa, rtol=1e-10)
    np.testing.assert_allclose(real_maps["MK"], fit.mk(min_kurtosis=0, max_kurtosis=3),
                               rtol=1e-10)
    md = real_maps["MD"]
    assert np.all((md > 1e-4) & (md < 3.5e-3))           # brain tissue to free water
    assert np.all((real_maps["FA"] >= 0) & (real_maps["FA"] <= 1))
    white = real_maps["FA"] > 0.4
    assert 0 < white.sum() < white.size
    for name in WHITE_MATTER_MAPS:
        np.testing.assert_array_equal(np.isfinite(real_maps[name]), white)
    awf = real_maps["AWF"][white]
    assert np.all((awf > 0) & (awf < 1))
    np.testing.assert_allclose(real_maps["TORT"][white],
                               real_maps["AxEAD"][white] / real_maps["RadEAD"][white], rtol=1e-10)


def test_dki_md_agrees_with_low_b_dti(real_maps, small_101d):
    """Second method: a DTI fit on b <= 1000 volumes gives a slightly different MD (it
    ignores kurtosis) but the same tissue contrast."""
    import dipy.reconst.dti as dti
    from dipy.core.gradients import gradient_table as dipy_gtab

    low = small_101d.bvals <= 1000
    gtab = dipy_gtab(small_101d.bvals[low], bvecs=small_101d.bvecs[low])
    md_dti = dti.TensorModel(gtab).fit(small_101d.data[..., low]).md
    r = np.corrcoef(md_dti.ravel(), real_maps["MD"].ravel())[0, 1]
    assert r > 0.9


def test_gradient_table_errors_name_the_file(tmp_path):
    bvals = tmp_path / "dwi.bval"
    bvecs = tmp_path / "dwi.bvec"
    bvals.write_text("0 1000 2000\n")
    bvecs.write_text("0 1 0\n0 0 1\n0 0 0\n")
    assert read_gradient_table(bvals, bvecs)[0].tolist() == [0, 1000, 2000]
    with pytest.raises(DwiError, match="dwi.bval: 3 b-values but the DWI series has 4 volumes"):
        read_gradient_table(bvals, bvecs, n_volumes=4, subject="s-01")
    bvecs.write_text("0 2 0\n0 0 1\n0 0 0\n")
    with pytest.raises(DwiError, match=r"subject s-01: dwi.bvec.*not unit vectors"):
        read_gradient_table(bvals, bvecs, subject="s-01", data_root=tmp_path)
    bvals.write_text("0 -5 2000\n")
    with pytest.raises(DwiError, match="negative"):
        read_gradient_table(bvals, bvecs)
    with pytest.raises(ValueError, match="two non-zero b-values"):
        gradient_table(np.r_[np.zeros(2), np.full(30, 1000.0)], np.ones((32, 3)) / np.sqrt(3))
