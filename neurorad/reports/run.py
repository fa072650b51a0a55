"""Execute a study notebook with papermill.

The notebooks' sources ship inside the package (``neurorad/notebooks/<notebook>.py``,
jupytext percent scripts; :mod:`neurorad.studies.notebooks`), so this works from an installed
wheel as from a checkout. ``run_study`` checks the inputs first (unknown parameters, missing
or invalid manifest, settings, data root: one line naming the file and what to do, before any
kernel starts; the demo cohort is generated when the default manifest is missing), injects
the parameters (papermill adds a cell after the one tagged ``parameters``), executes the
notebook in a kernel running *this* interpreter, and writes the executed copy into the
study's report folder, where :mod:`neurorad.reports.render` turns it into HTML.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from neurorad.modeling.models import is_known, labels
from neurorad.reports.summary import clear_outputs
from neurorad.studies import get_study
from neurorad.studies.common import (StudyInputError, default_manifest, ensure_demo_cohort,
                                     model_names, project_dir, resolve)
from neurorad.studies.notebooks import notebook, parameters as notebook_parameters

#: Parameters naming files or folders: relative values given to ``run_study`` are taken
#: relative to the caller's working directory (``cwd``), as for any command-line path.
PATH_PARAMETERS = ("manifest", "data_root", "work_dir", "output_dir")


def check_inputs(study: str, params: dict, cwd=None) -> dict:
    """``params`` checked before the notebook runs, with path parameters made absolute.

    Raises :class:`~neurorad.studies.common.StudyInputError` (exit code 2 on the command
    line) with one line naming the file or parameter and what to do: an unknown parameter
    name or model name, a missing manifest (other than the default one, whose demo cohort is generated
    here), a manifest with errors, a missing data root, settings that do not load.
    """
    from neurorad.settings import load_settings
    from neurorad.io import validate_manifest

    defaults = notebook_parameters(study)
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise StudyInputError(
            f"{study}: unknown notebook parameter(s) {', '.join(unknown)}; the notebook takes "
            f"{', '.join(defaults)}")
    for key in (k for k in params if k == "models" or k.endswith("_models")):
        # Registered models, or those the notebook itself declares (the grading study's
        # networks are trained by its own module, not by modeling.evaluate).
        own = defaults.get(key) or []
        # YAML's null is the null model (model_names), as in the notebook itself.
        unknown = [m for m in model_names(params[key], key) if not is_known(m) and m not in own]
        if unknown:
            raise StudyInputError(
                f"{key}: unknown model(s) {', '.join(map(str, unknown))}; registered models: "
                f"{', '.join(sorted(labels()))} (neurorad.modeling.models)")
    cwd = Path(cwd or Path.cwd())
    checked = dict(params)
    for key in PATH_PARAMETERS:
        if checked.get(key) is not None:
            checked[key] = str(resolve(checked[key], cwd))
    base = project_dir(cwd)
    manifest = Path(checked.get("manifest") or default_manifest(study, base))
    if "manifest" not in checked:
        ensure_demo_cohort(study, manifest, base)
    if not manifest.is_file():
        raise StudyInputError(f"{manifest}: manifest not found; give an existing manifest with "
                              "-p manifest PATH (format: data_manifests/README.md)")
    data_root = checked.get("data_root")
    if data_root is not None and not Path(data_root).is_dir():
        raise StudyInputError(f"{data_root}: data root is not a folder (-p data_root PATH)")
    report = validate_manifest(manifest, data_root=data_root)
    if not report.ok:
        raise StudyInputError(
            f"{manifest}: the manifest has {len(report.errors)} error(s), first: "
            f"{report.errors[0]}; `neurorad validate {manifest}` lists them all")
    settings = checked.get("settings", defaults.get("settings"))
    if settings is not None:
        try:
            load_settings(settings)
        except Exception as exc:  # noqa: BLE001 - whatever it is, it is about the settings
            raise StudyInputError(f"settings {settings!r}: {exc}".splitlines()[0]) from exc
    return checked


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

    On POSIX the kernel's five channels are Unix domain sockets (``transport="ipc"``) in the
    user's private Jupyter runtime folder (``jupyter --runtime-dir``, mode 0700), beside its
    connection file: other users of a shared server cannot reach them, and no socket lands in
    the working directory. ipykernel itself still opens one TCP port on 127.0.0.1 (random),
    the pipe that collects the output of subprocesses the kernel forks; it drops every message
    without the kernel's random 16-byte token. Windows has no Unix sockets: there the default
    (TCP on 127.0.0.1, authenticated by the connection file's key) is kept.
    """
    from jupyter_client.manager import AsyncKernelManager

    if os.name == "nt":
        return AsyncKernelManager

    class UnixSocketKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            import uuid

            from jupyter_core.paths import jupyter_runtime_dir
            from jupyter_core.utils import ensure_dir_exists

            runtime = jupyter_runtime_dir()
            ensure_dir_exists(runtime, 0o700)
            stem = os.path.join(runtime, f"neurorad-kernel-{uuid.uuid4().hex[:12]}")
            kwargs["connection_file"] = stem + ".json"
            super().__init__(transport="ipc", ip=stem + "-ipc", **kwargs)

    return UnixSocketKernelManager


def executed_path(study: str, output_dir: str | os.PathLike) -> Path:
    """Where the executed notebook of ``study`` is written inside ``output_dir``."""
    return Path(output_dir) / study / f"{get_study(study).notebook}.ipynb"


def run_study(study: str, parameters: dict, output_dir: str | os.PathLike, *,
              progress: bool = True, cwd: str | os.PathLike | None = None) -> Path:
    """Execute the study's notebook with ``parameters``.

    Parameters
    ----------
    study : str
        A study of :data:`neurorad.studies.STUDIES`.
    parameters : dict
        Values for the notebook's ``parameters`` cell (checked by :func:`check_inputs`);
        ``output_dir`` is added (the study's report folder) unless given.
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
    cwd = Path(cwd or Path.cwd())
    params = check_inputs(study, parameters, cwd)
    out = executed_path(study, output_dir)
    params.setdefault("output_dir", str(Path(output_dir).resolve() / study))
    # A headline left by an earlier run must not stand for this one if it stops early.
    clear_outputs(cwd / params["output_dir"])
    started = time.time()
    execute_notebook(notebook(study), out, params, cwd=cwd, progress=progress)
    if progress:
        print(f"[{study}] executed in {time.time() - started:.0f} s -> {out}", flush=True)
    return out


def execute_notebook(nb, out, parameters: dict, *, cwd, progress: bool = True) -> Path:
    """Execute the notebook ``nb`` (an ``nbformat`` node) with papermill into ``out``, in a
    kernel running this interpreter, started in ``cwd`` and reached through Unix sockets."""
    import papermill

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    papermill.execute_notebook(
        nb, str(out), parameters=parameters, kernel_name=kernel_name(),
        progress_bar=progress, cwd=str(cwd), report_mode=False,
        kernel_manager_class=_kernel_manager_class(),
    )
    return out
