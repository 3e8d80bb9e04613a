"""The package's layering, read from the source with ``ast`` (no module is imported).

Two rules, checked on every module under ``src/dltutorials``:

1. No module imports another module's private name (one with a leading underscore, not a dunder):
   neither ``from dltutorials.x import _name`` nor ``x._name`` on an imported ``dltutorials`` module.
   What two modules share is public and documented where it is defined.
2. The models are a layer of their own: a module under ``dltutorials/models/`` imports from
   ``dltutorials.models`` itself and the ground modules only, ``dltutorials.kernels`` (the fused CPU
   kernels), ``dltutorials.atomic`` (atomic file writes) and ``dltutorials.fields`` (the types and bounds
   of settings: a model's constructor declares its arguments with them, and the config's validation
   reads that same declaration), which import nothing of the package.
   Never from ``dltutorials.training``, ``.stages``, ``.data``, ``.sampling``, ``.config``,
   ``.workflow`` or any other package module: those build on the models, not the other way round.
3. The code that makes numbers (``provenance.NUMERICS_CODE``: models, training, sampling, data, the stages)
   never imports what only draws (``dltutorials.drawing``) or plans the workflow (``dltutorials.workflow``):
   the numerics digest leaves those out, so a number must not depend on them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "dltutorials"
MODELS_MAY_IMPORT = ("dltutorials.models", "dltutorials.kernels", "dltutorials.atomic", "dltutorials.fields")
GROUND = ("dltutorials.kernels", "dltutorials.atomic", "dltutorials.fields")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def imports(path: Path) -> list[tuple[int, str, str | None]]:
    """(line, module, name) for every import of a ``dltutorials`` module in ``path``, anywhere in it; name is
    None for ``import dltutorials.x``. Private attributes of imported modules come as (line, module, attribute)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else module_name(path)
    found, aliases = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative: resolve against this module's package
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join([*base, module] if module else base)
            if module.split(".")[0] != "dltutorials":
                continue
            for alias in node.names:
                found.append((node.lineno, module, alias.name))
                aliases[alias.asname or alias.name] = f"{module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "dltutorials":
                    found.append((node.lineno, alias.name, None))
                    aliases[alias.asname or alias.name] = alias.name
    for node in ast.walk(tree):  # x._name where x is an imported module of the package
        if isinstance(node, ast.Attribute) and is_private(node.attr):
            base = node.value
            if isinstance(base, ast.Name) and base.id in aliases:
                found.append((node.lineno, aliases[base.id], node.attr))
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))
NUMERICS = [path for path in MODULES
            if path.relative_to(PACKAGE).parts[0] in ("models", "training", "sampling", "data", "stages",
                                                       "kernels.py", "runtime.py")]


def test_the_package_has_modules() -> None:
    assert len(MODULES) > 30 and any(path.parent.name == "models" for path in MODULES)


@pytest.mark.parametrize("path", MODULES, ids=lambda path: module_name(path))
def test_no_module_imports_another_modules_private_names(path: Path) -> None:
    own = module_name(path)
    slips = [f"{path.relative_to(PACKAGE.parent)}:{line}: {name} of {module}"
             for line, module, name in imports(path) if name and is_private(name) and module != own]
    assert not slips, "private names imported from other modules (make them public where they are defined):\n" \
        + "\n".join(slips)


@pytest.mark.parametrize("path", [p for p in MODULES if p.parent.name == "models"], ids=lambda path: path.name)
def test_models_import_only_models_and_the_ground_modules(path: Path) -> None:
    slips = [f"{path.relative_to(PACKAGE.parent)}:{line}: imports {module}"
             for line, module, _ in imports(path)
             if not any(module == allowed or module.startswith(allowed + ".") for allowed in MODELS_MAY_IMPORT)]
    assert not slips, f"models may import from {', '.join(MODELS_MAY_IMPORT)} only:\n" + "\n".join(slips)


@pytest.mark.parametrize("ground", GROUND)
def test_the_ground_modules_import_nothing_of_the_package(ground: str) -> None:
    path = PACKAGE.parent / (ground.replace(".", "/") + ".py")
    assert not imports(path), f"{ground} is a ground module: it must not import from dltutorials"


@pytest.mark.parametrize("path", NUMERICS, ids=lambda path: module_name(path))
def test_the_numerics_code_never_imports_the_drawing_or_the_workflow(path: Path) -> None:
    slips = [f"{path.relative_to(PACKAGE.parent)}:{line}: imports {module}" for line, module, _ in imports(path)
             if module.split(".")[:2] in (["dltutorials", "drawing"], ["dltutorials", "workflow"])]
    assert not slips, "the numerics code may not depend on what the numerics digest leaves out:\n" + "\n".join(slips)


def test_the_numerics_list_is_the_digests() -> None:
    from dltutorials.provenance import NUMERICS_CODE

    assert {path.relative_to(PACKAGE).parts[0] for path in NUMERICS} == set(NUMERICS_CODE)
