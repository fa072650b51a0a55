r"""Convolutional classifiers trained from scratch: 3-D DenseNet (MONAI) and 2-D ResNeSt (timm).

The deep-learning glioma grading study (Danilov et al., Stud Health Technol Inform
2022;290:675-678) compared a 3-D DenseNet on whole MRI volumes with a 2-D ResNeSt-200e on
single slices, both trained with Adam (learning rate :math:`10^{-4}`) and cross-entropy. This
module builds those networks without pretrained weights (nothing is downloaded), trains one on
a training set and returns class probabilities for a test set.

Networks (``NETWORKS``)
-----------------------
``densenet3d``
    MONAI ``DenseNet`` (Huang et al., CVPR 2017) with ``spatial_dims=3``. ``published``:
    DenseNet-121 (64 initial features, growth rate 32, blocks 6-12-24-16; 11.3 M parameters
    with 3 input channels and 4 classes). ``small``: the same family with 16 initial features,
    growth rate 16 and blocks 2-2-2 (0.20 M parameters), the CPU default.
``resnest2d``
    timm ``resnest*`` (Zhang et al., CVPR Workshops 2022; split attention, radix 2).
    ``published``: ResNeSt-200e (layers 3-24-36-3, 68.2 M parameters). ``small``: ResNeSt-14d
    (the family's smallest member, layers 1-1-1-1) narrowed to stage widths 8-16-32-64 and stem
    width 8 (0.14 M parameters), the CPU default.

Training (:func:`train_predict`)
--------------------------------
Adam (Kingma & Ba 2015) with learning rate ``lr`` (default :math:`10^{-4}` as published), no
weight decay, mini-batches in a seeded random order, ``epochs`` passes over the training set;
loss: class-weighted cross-entropy

.. math:: L = -\frac{\sum_i w_{y_i} \log p_{i, y_i}}{\sum_i w_{y_i}}, \qquad
          w_k = \frac{n}{K n_k}

(``class_weighting="balanced"``: inverse class frequency of the training set, so rare grades
count as much as common ones in total; ``"none"``: :math:`w_k = 1`). Seeds are fixed and
deterministic algorithms requested (:func:`set_determinism`); the same seed, device, thread
count and library versions give the same probabilities.

PyTorch, MONAI and timm are imported only when a function here is called, so the rest of
neurorad works without them (they are the ``dl`` extra; see README).
"""
from __future__ import annotations

import os
import platform
import time
from dataclasses import asdict, dataclass, field

import numpy as np

#: Network name -> size -> constructor description (``family``, ``variant``, keyword arguments).
NETWORKS = {
    "densenet3d": {
        "published": {"family": "MONAI DenseNet (3-D)", "variant": "DenseNet-121",
                      "kwargs": {"init_features": 64, "growth_rate": 32,
                                 "block_config": (6, 12, 24, 16)}},
        "small": {"family": "MONAI DenseNet (3-D)",
                  "variant": "DenseNet, 16 initial features, growth 16, blocks 2-2-2",
                  "kwargs": {"init_features": 16, "growth_rate": 16,
                             "block_config": (2, 2, 2)}},
    },
    "resnest2d": {
        "published": {"family": "timm ResNeSt (2-D)", "variant": "ResNeSt-200e",
                      "model": "resnest200e", "kwargs": {}},
        "small": {"family": "timm ResNeSt (2-D)",
                  "variant": "ResNeSt-14d, stage widths 8-16-32-64, stem width 8",
                  "model": "resnest14d",
                  "kwargs": {"channels": (8, 16, 32, 64), "stem_width": 8}},
    },
}
#: Spatial dimensions of each network's input (after batch and channel).
SPATIAL_DIMS = {"densenet3d": 3, "resnest2d": 2}
SIZES = ("published", "small")


class DeepLearningUnavailable(ImportError):
    """PyTorch, MONAI or timm is not installed (the ``dl`` extra)."""


def _torch():
    try:
        import torch
    except ImportError as exc:   # pragma: no cover - exercised only without the extra
        raise DeepLearningUnavailable(
            "the deep-learning study needs PyTorch, MONAI and timm: "
            "pip install 'neurorad[dl]' (python3 run.py installs them)") from exc
    return torch


def resolve_device(device: str = "auto") -> str:
    """``"cpu"`` or ``"cuda"`` for a ``device`` parameter of ``cpu``, ``gpu``/``cuda`` or
    ``auto`` (CUDA when PyTorch sees a usable GPU and ``NEURORAD_FORCE_CPU`` is unset)."""
    torch = _torch()
    choice = str(device).lower()
    if choice not in ("auto", "cpu", "gpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'gpu', got {device!r}")
    usable = torch.cuda.is_available() and not os.environ.get("NEURORAD_FORCE_CPU")
    if choice == "auto":
        return "cuda" if usable else "cpu"
    if choice in ("gpu", "cuda"):
        if not usable:
            raise RuntimeError("device='gpu' was asked for, but PyTorch sees no usable CUDA "
                               "GPU (torch.cuda.is_available() is False or "
                               "NEURORAD_FORCE_CPU is set); use device='auto' or 'cpu'")
        return "cuda"
    return "cpu"


def default_size(device: str) -> str:
    """Published network sizes on a GPU, the small members of the families on the CPU."""
    return "published" if device == "cuda" else "small"


def build_network(name: str, size: str, in_channels: int, n_classes: int):
    """A freshly initialised network (no pretrained weights; see ``NETWORKS``)."""
    if name not in NETWORKS:
        raise ValueError(f"unknown network {name!r}; choose one of {', '.join(NETWORKS)}")
    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES}, got {size!r}")
    spec = NETWORKS[name][size]
    _torch()
    if name == "densenet3d":
        from monai.networks.nets import DenseNet

        return DenseNet(spatial_dims=3, in_channels=in_channels, out_channels=n_classes,
                        **spec["kwargs"])
    import timm

    return timm.create_model(spec["model"], pretrained=False, num_classes=n_classes,
                             in_chans=in_channels, **spec["kwargs"])


def count_parameters(network) -> int:
    """Number of trainable parameters."""
    return int(sum(p.numel() for p in network.parameters() if p.requires_grad))


def set_determinism(seed: int, device: str = "cpu") -> None:
    """Seed PyTorch (CPU and CUDA) and ask for deterministic algorithms.

    ``torch.use_deterministic_algorithms(True)`` makes an operation without a deterministic
    implementation raise instead of silently varying; cuDNN autotuning is switched off, and
    cuBLAS gets the fixed workspace it needs for reproducible results
    (``CUBLAS_WORKSPACE_CONFIG=:4096:8``, set before CUDA starts).
    """
    torch = _torch()
    if device == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.manual_seed(int(seed))
    torch.use_deterministic_algorithms(True, warn_only=False)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True


def class_weights(y_codes, n_classes: int, weighting: str = "balanced") -> np.ndarray:
    """Cross-entropy class weights :math:`w_k = n / (K n_k)` (``balanced``) or ones (``none``).

    A class absent from the training set gets weight 0 (it contributes no loss term anyway).
    """
    y_codes = np.asarray(y_codes, int)
    if weighting == "none":
        return np.ones(n_classes)
    if weighting != "balanced":
        raise ValueError(f"class_weighting must be 'balanced' or 'none', got {weighting!r}")
    counts = np.bincount(y_codes, minlength=n_classes).astype(float)
    with np.errstate(divide="ignore"):
        weights = np.where(counts > 0, len(y_codes) / (n_classes * counts), 0.0)
    return weights


def batch_slices(order: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Split ``order`` into mini-batches; a last batch of one sample joins the previous one
    (batch normalisation cannot train on a single sample)."""
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    if len(batches) > 1 and len(batches[-1]) == 1:
        last = batches.pop()
        batches[-1] = np.concatenate([batches[-1], last])
    return batches


@dataclass(frozen=True)
class TrainingConfig:
    """How one network is trained (defaults: the published optimiser and loss).

    ``epochs``: passes over the training set; ``batch_size``; ``lr``: Adam learning rate;
    ``class_weighting``: ``balanced`` or ``none`` (see module docstring).
    """

    epochs: int = 10
    batch_size: int = 16
    lr: float = 1e-4
    class_weighting: str = "balanced"


@dataclass
class TrainingRecord:
    """What :func:`train_predict` reports besides the probabilities."""

    loss_per_epoch: list = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    n_parameters: int = 0
    n_train: int = 0
    class_weights: list = field(default_factory=list)


def train_predict(name: str, size: str, X_train: np.ndarray, y_train, X_test: np.ndarray, *,
                  n_classes: int, config: TrainingConfig = TrainingConfig(), seed: int = 0,
                  device: str = "cpu") -> tuple[np.ndarray, TrainingRecord]:
    """Train network ``name`` (``size``) from scratch and predict class probabilities.

    Parameters
    ----------
    X_train, X_test : float32 arrays (n, channels, *spatial) -- already normalised
    y_train : int array (n,) -- class codes 0..n_classes-1
    config : TrainingConfig
    seed : int -- initial weights and batch order
    device : "cpu" or "cuda" (see :func:`resolve_device`)

    Returns
    -------
    proba : array (n_test, n_classes) -- softmax outputs of the trained network (eval mode)
    record : TrainingRecord -- mean training loss per epoch, time, parameter count
    """
    torch = _torch()
    # Copies: arrays handed to worker processes may be read-only memory maps.
    X_train = np.array(X_train, np.float32)
    X_test = np.array(X_test, np.float32)
    y_train = np.asarray(y_train, np.int64)
    expected = SPATIAL_DIMS[name] + 2
    for label, X in (("X_train", X_train), ("X_test", X_test)):
        if X.ndim != expected:
            raise ValueError(f"{name}: {label} must have {expected} dimensions (n, channels, "
                             f"{'z, y, x' if expected == 5 else 'y, x'}), got shape {X.shape}")
    if len(X_train) != len(y_train):
        raise ValueError(f"{len(X_train)} training inputs but {len(y_train)} labels")
    if len(X_train) < 2:
        raise ValueError("at least 2 training samples are needed")
    started, cpu_started = time.perf_counter(), time.process_time()
    set_determinism(seed, device)
    network = build_network(name, size, X_train.shape[1], n_classes).to(device)
    weights = class_weights(y_train, n_classes, config.class_weighting)
    loss_fn = torch.nn.CrossEntropyLoss(weight=torch.tensor(weights, dtype=torch.float32,
                                                            device=device))
    optimiser = torch.optim.Adam(network.parameters(), lr=config.lr)
    rng = np.random.default_rng([int(seed), 31337])
    xt = torch.from_numpy(X_train)
    yt = torch.from_numpy(y_train)
    record = TrainingRecord(n_parameters=count_parameters(network), n_train=len(y_train),
                            class_weights=[float(w) for w in weights])
    network.train()
    for _ in range(config.epochs):
        total, seen = 0.0, 0
        for batch in batch_slices(rng.permutation(len(y_train)), config.batch_size):
            index = torch.from_numpy(batch)
            xb, yb = xt[index].to(device), yt[index].to(device)
            optimiser.zero_grad(set_to_none=True)
            loss = loss_fn(network(xb), yb)
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(batch)
            seen += len(batch)
        record.loss_per_epoch.append(total / seen)
    network.eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, len(X_test), max(config.batch_size, 1)):
            xb = torch.from_numpy(X_test[start:start + config.batch_size]).to(device)
            outputs.append(torch.softmax(network(xb), dim=1).cpu().numpy())
    proba = np.concatenate(outputs) if outputs else np.zeros((0, n_classes), np.float32)
    record.seconds = time.perf_counter() - started
    record.cpu_seconds = time.process_time() - cpu_started
    return proba.astype(float), record


def framework_versions(device: str = "cpu") -> dict:
    """PyTorch / MONAI / timm versions, the device (GPU name, CUDA, cuDNN) and CPU threads,
    for the provenance of a run."""
    torch = _torch()
    import monai
    import timm

    info = {"torch": torch.__version__, "monai": monai.__version__, "timm": timm.__version__,
            "device": device, "torch_threads": torch.get_num_threads(),
            "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
            "cpu": platform.processor() or platform.machine()}
    if device == "cuda":
        info.update(gpu=torch.cuda.get_device_name(0), cuda=torch.version.cuda,
                    cudnn=torch.backends.cudnn.version())
    return info


def network_description(name: str, size: str, in_channels: int, n_classes: int) -> dict:
    """Family, variant and parameter count of a network (builds it once on the CPU)."""
    spec = NETWORKS[name][size]
    return {"network": name, "size": size, "family": spec["family"],
            "variant": spec["variant"],
            "parameters": count_parameters(build_network(name, size, in_channels, n_classes))}


def config_dict(config: TrainingConfig) -> dict:
    """``config`` as a plain dict (provenance)."""
    return asdict(config)
