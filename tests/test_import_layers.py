"""The package's import graph (read with ast, imports inside functions included) has no
cycle, and no module imports a higher layer (docs/architecture.md, "Layers").

Layers, lowest first; a module may import its own layer's modules and lower layers only:

0. base: ``errors``, ``yamlsafe``, ``backend`` and the two registries that are plain data,
   ``neurorad.features`` (feature families) and ``neurorad.studies`` (studies)
1. kernels on arrays: ``features.*``, ``filters.*``
2. ``io.*`` (reading images, DICOM, manifests, validation, tables)
3. ``settings.*``, ``ingest.*`` (scanner data -> images)
4. ``preprocess.*``
5. ``extraction``
6. ``batch.*``
7. ``synth.*``, ``modeling.*``
8. ``studies.*`` (the studies' analysis steps)
9. ``reports.*``, ``plots``
10. the command line (``cli``, ``__main__``) and the package root's lazy API
    (``neurorad.extract_features`` ...); importing ``__version__`` from the root is allowed
    everywhere (it is defined there, before anything else).
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "neurorad"

LAYERS = [
    ["neurorad.errors", "neurorad.yamlsafe", "neurorad.backend", "neurorad.features",
     "neurorad.studies"],
    ["neurorad.features.", "neurorad.filters"],
    ["neurorad.io"],
    ["neurorad.settings", "neurorad.ingest"],
    ["neurorad.preprocess"],
    ["neurorad.extraction"],
    ["neurorad.batch"],
    ["neurorad.synth", "neurorad.modeling"],
    ["neurorad.studies."],
    ["neurorad.reports", "neurorad.plots"],
    ["neurorad.cli", "neurorad.__main__", "neurorad"],
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    """Every module of the package (the notebook sources are scripts, not modules)."""
    return {module_name(p): p for p in PACKAGE.rglob("*.py")
            if "notebooks" not in p.relative_to(PACKAGE).parts}


def imports(path: Path, modules) -> set[str]:
    """The package modules ``path`` imports anywhere in its code."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in modules}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in modules:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                if sub in modules:
                    found.add(sub)
                elif not (node.module == "neurorad" and alias.name == "__version__"):
                    found.add(node.module)
    return found


def layer_of(module: str) -> int:
    """Index of the layer whose longest matching entry names ``module``."""
    best, best_len = None, -1
    for index, entries in enumerate(LAYERS):
        for entry in entries:
            hit = module.startswith(entry) if entry.endswith(".") else (
                module == entry or module.startswith(entry + "."))
            if hit and len(entry) > best_len:
                best, best_len = index, len(entry)
    assert best is not None, f"{module} is in no layer: add it to LAYERS"
    return best


def graph() -> dict[str, set[str]]:
    modules = package_modules()
    return {name: imports(path, modules) - {name} for name, path in modules.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules, or None (depth-first search)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        state[node] = 2
        stack.pop()
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_every_module_has_a_layer():
    for module in package_modules():
        layer_of(module)


def test_no_import_cycle_between_modules():
    assert find_cycle(graph()) is None, " -> ".join(find_cycle(graph()))


def test_no_module_imports_a_higher_layer():
    upward = sorted(f"{a} (layer {layer_of(a)}) imports {b} (layer {layer_of(b)})"
                    for a, targets in graph().items() for b in targets
                    if layer_of(b) > layer_of(a))
    assert upward == [], "\n".join(upward)


def test_the_checks_catch_a_cycle_and_an_upward_import():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    assert layer_of("neurorad.io.manifest") < layer_of("neurorad.extraction")
    assert layer_of("neurorad.studies") < layer_of("neurorad.studies.common")
    assert layer_of("neurorad.features") < layer_of("neurorad.features.glcm")


def test_every_subpackage_says_what_it_offers():
    """Each subpackage's ``__all__`` exists and every name in it resolves (an attribute, or a
    submodule for the packages whose submodules are imported on demand)."""
    import importlib

    packages = sorted(m for m, p in package_modules().items()
                      if p.name == "__init__.py" and m != "neurorad")
    assert "neurorad.features" in packages and "neurorad.reports" in packages
    for name in packages:
        package = importlib.import_module(name)
        assert getattr(package, "__all__", None), f"{name} has no __all__"
        for item in package.__all__:
            if not hasattr(package, item):
                importlib.import_module(f"{name}.{item}")
