"""Execute a study notebook with papermill.

The four notebooks live in ``notebooks/`` of the checkout. ``run_study`` injects the
parameters (papermill adds a cell after the one tagged ``parameters``), executes the notebook
in a kernel running *this* interpreter, and writes the executed copy into the study's report
folder, where :mod:`neurorad.reports.render` turns it into HTML.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

#: Study name -> notebook file.
NOTEBOOKS = {
    "nf2": "01_nf2_radiogenomics.ipynb",
    "pet": "02_pet_uptake_index.ipynb",
    "dai": "03_dai_dki.ipynb",
    "glioma": "04_glioma_histology.ipynb",
}

#: Readable titles for reports and the index page.
TITLES = {
    "nf2": "NF2-associated schwannomatosis: radiogenomics",
    "pet": "Glioblastoma: 11C-methionine PET uptake index",
    "dai": "Diffuse axonal injury: diffusion kurtosis MRI",
    "glioma": "Glioma histological type: digital biopsy",
}


def notebooks_dir() -> Path:
    """The ``notebooks/`` folder of the checkout (overridable with NEURORAD_NOTEBOOKS)."""
    override = os.environ.get("NEURORAD_NOTEBOOKS")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "notebooks"


def notebook_path(study: str) -> Path:
    """Path of the study's source notebook; clear error for an unknown study or missing file."""
    if study not in NOTEBOOKS:
        raise ValueError(f"unknown study {study!r}; expected one of {', '.join(NOTEBOOKS)}")
    path = notebooks_dir() / NOTEBOOKS[study]
    if not path.is_file():
        raise FileNotFoundError(f"{path}: notebook of study {study!r} not found")
    return path


def kernel_name() -> str:
    """Name of a Jupyter kernel that runs this interpreter.

    jupyter_client starts the kernel spec ``python3`` with ``sys.executable`` when its argv
    begins with a bare ``python`` (the spec ipykernel installs into every environment), so
    the notebook sees the same packages as the caller. When the found ``python3`` spec points
    at another interpreter (a user-level spec shadowing it), we register one named
    ``neurorad-<python version>`` inside this environment's prefix and use that.
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    manager = KernelSpecManager()
    try:
        argv0 = manager.get_kernel_spec("python3").argv[0]
    except NoSuchKernel:
        argv0 = None
    bare = {"python", "python3", f"python{sys.version_info[0]}.{sys.version_info[1]}"}
    if argv0 in bare or (argv0 and Path(argv0).resolve() == Path(sys.executable).resolve()):
        return "python3"
    from ipykernel.kernelspec import install

    name = f"neurorad-py{sys.version_info[0]}{sys.version_info[1]}"
    install(kernel_name=name, prefix=sys.prefix, display_name=f"neurorad ({sys.prefix})")
    return name


def _kernel_manager_class():
    """The kernel manager papermill starts the notebook's kernel with.

    On POSIX the kernel is reached through Unix domain sockets (``transport="ipc"``) beside
    its connection file in the user's private Jupyter runtime folder, so no TCP port opens at
    all — not even on localhost, where other users of a shared server could reach it. Windows
    has no such sockets: there the default (TCP on 127.0.0.1) is kept.
    """
    from jupyter_client.manager import AsyncKernelManager

    if os.name == "nt":
        return AsyncKernelManager

    class UnixSocketKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            super().__init__(transport="ipc", **kwargs)

    return UnixSocketKernelManager


def executed_path(study: str, output_dir: str | os.PathLike) -> Path:
    """Where the executed notebook of ``study`` is written inside ``output_dir``."""
    return Path(output_dir) / study / NOTEBOOKS[study]


def run_study(study: str, parameters: dict, output_dir: str | os.PathLike, *,
              progress: bool = True, cwd: str | os.PathLike | None = None) -> Path:
    """Execute the study's notebook with ``parameters``.

    Parameters
    ----------
    study : str
        ``nf2``, ``pet``, ``dai`` or ``glioma``.
    parameters : dict
        Values for the notebook's ``parameters`` cell; ``output_dir`` is added (the study's
        report folder) unless given.
    output_dir : path
        Report root; the executed notebook goes to ``<output_dir>/<study>/``.
    progress : bool
        Show papermill's cell progress bar.
    cwd : path, optional
        Working directory of the kernel (relative paths in the parameters resolve against
        it); default: the current directory.

    Returns
    -------
    Path
        The executed notebook.
    """
    import papermill

    source = notebook_path(study)
    out = executed_path(study, output_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    params = dict(parameters)
    params.setdefault("output_dir", str(Path(output_dir).resolve() / study))
    started = time.time()
    papermill.execute_notebook(
        str(source), str(out), parameters=params, kernel_name=kernel_name(),
        progress_bar=progress, cwd=str(cwd or Path.cwd()), report_mode=False,
        kernel_manager_class=_kernel_manager_class(),
    )
    if progress:
        print(f"[{study}] executed in {time.time() - started:.0f} s -> {out}", flush=True)
    return out
