"""What made a result: the numerics code and settings (its fingerprint), the commit, the libraries, the machine."""

from __future__ import annotations

import ast
import hashlib
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from dltutorials.config import PROJECT_ROOT


def git_commit() -> str:
    """Commit of the checkout, with '+dirty' when tracked files differ; 'unknown' outside git."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT_ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("torch", "lightning", "hydra-core", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "missing"
    return versions


PACKAGE = Path(__file__).parent
# The package's code that computes a result's numbers: the models and their kernels, training, sampling, data
# preparation and the stages that run them (seeds, threads). Not what only draws (``drawing``), plans and names
# paths (``workflow``, ``config``), checks settings (``fields``) or writes files.
NUMERICS_CODE = ("models", "training", "sampling", "data", "stages", "kernels.py", "runtime.py")


def _without_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return tree


def code_digest(package: Path = PACKAGE) -> str:
    """A digest of the numerics code (``NUMERICS_CODE``) as Python reads it: each file's syntax tree without its
    docstrings, written back as code (``ast.unparse``), so a comment, a docstring or the layout of a line leaves it
    as it is, and any change to a statement, a name or a constant changes it. 12 hex digits."""
    files = sorted(path for entry in NUMERICS_CODE
                   for path in ([package / entry] if entry.endswith(".py") else (package / entry).rglob("*.py")))
    digest = hashlib.sha256()
    for path in files:
        tree = _without_docstrings(ast.parse(path.read_text(), filename=str(path)))
        digest.update(f"\0{path.relative_to(package).as_posix()}\0{ast.unparse(tree)}".encode())
    return digest.hexdigest()[:12]


def numerics_fingerprint(settings: dict, code: str) -> str:
    """What determines a result's numbers, as 12 hex digits: its settings (``dltutorials.fingerprints``: what
    changes a number, not a display setting, and here not where a file is) and the numerics code's digest."""
    from dltutorials.fingerprints import as_text, without_locations

    return hashlib.sha256(f"{as_text(without_locations(settings))}\0{code}".encode()).hexdigest()[:12]
