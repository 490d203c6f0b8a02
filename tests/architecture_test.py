"""The package's import direction, as ARCHITECTURE.md draws it.

Each module may import only from its own package or from lower levels, so
a change at the bottom (a prior, a dataset) never needs the training code
and a contributor knows where a new piece goes.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "infodropout_tf"

# Lowest first; the same table is in ARCHITECTURE.md.
LEVELS = {
    "_validation": 0, "atomic_files": 0, "keras_utils": 0, "workdir_files": 0,
    "priors": 1, "data": 1, "surrogates": 1,
    "layers": 2,
    "per_unit_kl": 3, "evaluation": 3,
    "models": 4, "information": 4, "saved_model": 4,
    "callbacks": 5,
    "training": 6,
    "results": 7,
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


def _public_names(init):
    """Names an `__init__.py` binds that do not start with "_": its own
    definitions and what it imports from the package."""
    names = set()
    for node in ast.parse(init.read_text()).body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("infodropout_tf"):
            names.update(a.asname or a.name for a in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return {name for name in names if not name.startswith("_")}


def _declared_all(init):
    for node in ast.parse(init.read_text()).body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return ast.literal_eval(node.value)
    return None


@pytest.mark.parametrize("package", ["priors", "layers", "models", "callbacks",
                                     "information"])
def test_public_packages_list_exactly_their_public_names_in_all(package):
    init = PACKAGE / package / "__init__.py"
    declared = _declared_all(init)
    assert declared is not None, f"{init} has no __all__"
    assert len(declared) == len(set(declared))
    assert set(declared) == _public_names(init)
