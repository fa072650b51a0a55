"""neurorad.modeling.deep: networks, class weights, determinism, device choice, learning."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from neurorad.modeling import deep


def test_class_weights_balanced_by_hand():
    # n = 4, K = 3: w_k = n / (K n_k); a class absent from training gets 0.
    w = deep.class_weights([0, 0, 0, 1], 3)
    np.testing.assert_allclose(w, [4 / 9, 4 / 3, 0.0])
    # Weighted class totals are equal for the present classes: 3 * 4/9 == 1 * 4/3.
    assert 3 * w[0] == pytest.approx(1 * w[1])
    np.testing.assert_array_equal(deep.class_weights([0, 1, 1], 2, "none"), [1.0, 1.0])
    with pytest.raises(ValueError, match="class_weighting"):
        deep.class_weights([0, 1], 2, "inverse")


def test_batches_never_end_with_a_single_sample():
    sizes = [len(b) for b in deep.batch_slices(np.arange(10), 3)]
    assert sizes == [3, 3, 4]
    sizes = [len(b) for b in deep.batch_slices(np.arange(8), 3)]
    assert sizes == [3, 3, 2]
    assert np.concatenate(deep.batch_slices(np.arange(7), 3)).tolist() == list(range(7))


@pytest.mark.parametrize("name, shape", [("densenet3d", (2, 3, 16, 24, 20)),
                                         ("resnest2d", (2, 3, 24, 20))])
def test_small_networks_map_inputs_to_class_scores(name, shape):
    net = deep.build_network(name, "small", 3, 4).eval()
    with torch.no_grad():
        out = net(torch.zeros(shape))
    assert tuple(out.shape) == (2, 4)
    # The CPU defaults are small members of the families (a few hundred thousand weights at
    # most), the published ones are not.
    assert deep.count_parameters(net) < 300_000


def test_published_densenet_is_densenet121():
    net = deep.build_network("densenet3d", "published", 3, 4)
    # DenseNet-121: 6 + 12 + 24 + 16 = 58 dense layers, each with two convolutions, plus the
    # stem convolution and three transition convolutions: 120 convolution layers + 1 linear.
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv3d)]
    linear = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert len(convs) == 2 * 58 + 1 + 3 and len(linear) == 1


def test_unknown_network_or_size():
    with pytest.raises(ValueError, match="unknown network"):
        deep.build_network("vgg", "small", 3, 4)
    with pytest.raises(ValueError, match="size must be"):
        deep.build_network("densenet3d", "huge", 3, 4)


def test_device_resolution(monkeypatch):
    assert deep.resolve_device("cpu") == "cpu"
    monkeypatch.setenv("NEURORAD_FORCE_CPU", "1")
    assert deep.resolve_device("auto") == "cpu"
    with pytest.raises(RuntimeError, match="no usable CUDA"):
        deep.resolve_device("gpu")
    with pytest.raises(ValueError, match="device must be"):
        deep.resolve_device("tpu")
    assert deep.default_size("cuda") == "published" and deep.default_size("cpu") == "small"


def _toy(n, rng):
    """Class 1 volumes are brighter in a central cube: a planted, learnable difference."""
    y = np.arange(n) % 2
    X = rng.normal(0, 1, (n, 1, 16, 16, 16)).astype(np.float32)
    X[y == 1, :, 4:12, 4:12, 4:12] += 1.5
    return X, y


def test_training_is_deterministic_and_learns():
    rng = np.random.default_rng(0)
    X, y = _toy(48, rng)
    Xt, yt = _toy(24, rng)
    config = deep.TrainingConfig(epochs=6, batch_size=8, lr=3e-3)
    p1, rec = deep.train_predict("densenet3d", "small", X, y, Xt, n_classes=2, config=config,
                                 seed=1)
    p2, _ = deep.train_predict("densenet3d", "small", X, y, Xt, n_classes=2, config=config,
                               seed=1)
    np.testing.assert_array_equal(p1, p2)
    p3, _ = deep.train_predict("densenet3d", "small", X, y, Xt, n_classes=2, config=config,
                               seed=2)
    assert not np.array_equal(p1, p3)
    np.testing.assert_allclose(p1.sum(axis=1), 1.0, rtol=1e-5)
    assert len(rec.loss_per_epoch) == 6 and rec.loss_per_epoch[-1] < rec.loss_per_epoch[0]
    assert np.mean(np.argmax(p1, axis=1) == yt) >= 0.75


def test_train_predict_rejects_wrong_shapes():
    X = np.zeros((4, 3, 8, 8), np.float32)
    with pytest.raises(ValueError, match="must have 5 dimensions"):
        deep.train_predict("densenet3d", "small", X, [0, 1, 0, 1], X, n_classes=2)
    with pytest.raises(ValueError, match="4 training inputs but 3 labels"):
        deep.train_predict("resnest2d", "small", X, [0, 1, 0], X, n_classes=2)


def test_framework_versions_name_the_device():
    info = deep.framework_versions("cpu")
    assert info["torch"] == torch.__version__ and info["device"] == "cpu"
    assert {"monai", "timm", "torch_threads"} <= set(info)
