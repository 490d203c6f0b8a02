"""The package's import direction, as ARCHITECTURE.md draws it.

Each module may import only from its own package or from lower levels, so
a change at the bottom (a prior, a dataset) never needs the training code
and a contributor knows where a new piece goes.
"""

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "infodropout_tf"

# Lowest first; the same table is in ARCHITECTURE.md.
LEVELS = {
    "_validation": 0, "atomic_files": 0, "keras_utils": 0, "workdir_files": 0,
    "priors": 1, "data": 1, "surrogates": 1,
    "layers": 2,
    "per_unit_kl": 3, "evaluation": 3, "batch_norm_recalibration": 3,
    "models": 4, "information": 4, "saved_model": 4,
    "callbacks": 5,
    "training": 6,
    "sweeps": 7, "reports": 7,
    "reproduce": 8,
}


def _part(module):
    """`infodropout_tf.layers.noise_layer` -> `layers`."""
    return module.split(".")[1] if module.count(".") else None


def _imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("infodropout_tf"):
            for alias in node.names:
                yield f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("infodropout_tf"))


def test_every_part_of_the_package_has_a_level():
    parts = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
             if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()}
    assert parts == set(LEVELS)


def test_modules_import_only_downwards():
    upward = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        own = _part(".".join(relative.parts))
        if own is None or own == "__init__":
            continue  # the package's __init__ gathers the public names
        for imported in _imports(path):
            other = _part(imported)
            if other and other != own and LEVELS[other] >= LEVELS[own]:
                upward.append(f"{relative} imports {imported}")
    assert upward == []
