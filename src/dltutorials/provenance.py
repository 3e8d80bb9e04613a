"""What made a result: the numerics code and settings (its fingerprint), the commit, the libraries, the machine."""

from __future__ import annotations

import ast
import hashlib
import platform
import subprocess
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path, PurePosixPath

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


def processor() -> str:
    """The CPU's model name as the kernel reports it (``/proc/cpuinfo``), else what Python's ``platform`` says:
    the same code and settings can round differently on another CPU (numba compiles for the one it runs on)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("torch", "lightning", "hydra-core", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "missing"
    return versions


PACKAGE = Path(__file__).parent
PACKAGE_NAME = "dltutorials"
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


def is_numerics(path: str) -> bool:
    """Whether a file of the package (a path relative to it, ``models/rbm.py``) is numerics code."""
    first = PurePosixPath(path).parts[0]
    return path.endswith(".py") and (first in NUMERICS_CODE if "/" in path else path in NUMERICS_CODE)


def sources(package: Path = PACKAGE) -> dict[str, str]:
    """Every Python file of the package as text, by its path relative to the package."""
    return {path.relative_to(package).as_posix(): path.read_text() for path in sorted(package.rglob("*.py"))}


def git_sources(commit: str, root: Path = PROJECT_ROOT, package: str = f"src/{PACKAGE_NAME}") -> dict[str, str]:
    """The package's Python files as ``commit`` holds them (``sources`` of a past checkout), read from git."""
    try:
        names = subprocess.run(["git", "ls-tree", "-r", "--name-only", commit, "--", package], cwd=root,
                               capture_output=True, text=True, check=True).stdout.split()
        return {name[len(package) + 1:]: subprocess.run(["git", "show", f"{commit}:{name}"], cwd=root,
                                                        capture_output=True, text=True, check=True).stdout
                for name in names if name.endswith(".py")}
    except (OSError, subprocess.CalledProcessError) as error:
        said = (getattr(error, "stderr", None) or str(error)).strip().splitlines()
        raise ValueError(f"cannot read commit {commit}'s code from git in {root} ({said[-1] if said else error})") \
            from None


def _as_code(path: str, text: str) -> str:
    """A file as Python reads it: its syntax tree without docstrings, written back (``ast.unparse``)."""
    return ast.unparse(_without_docstrings(ast.parse(text, filename=path)))


def digest_of(code: dict[str, str]) -> str:
    """The digest of the numerics files among ``code`` (``sources``): each file as Python reads it, in the order
    of their paths. 12 hex digits."""
    digest = hashlib.sha256()
    for path in sorted(PurePosixPath(path) for path in code if is_numerics(path)):
        digest.update(f"\0{path.as_posix()}\0{_as_code(str(path), code[path.as_posix()])}".encode())
    return digest.hexdigest()[:12]


def code_digest(package: Path = PACKAGE) -> str:
    """A digest of the numerics code (``NUMERICS_CODE``) as Python reads it: each file's syntax tree without its
    docstrings, written back as code (``ast.unparse``), so a comment, a docstring or the layout of a line leaves it
    as it is, and any change to a statement, a name or a constant changes it. 12 hex digits."""
    return digest_of(sources(package))


def file_digests(code: dict[str, str]) -> dict[str, str]:
    """Each numerics file's digest (as Python reads it, 12 hex digits), by path: what a result's ``code`` was made
    of, so a later change can be traced to the files it touched."""
    return {path: hashlib.sha256(_as_code(path, text).encode()).hexdigest()[:12]
            for path, text in sorted(code.items()) if is_numerics(path)}


def module_file(module: str, code: dict[str, str]) -> str | None:
    """The file of a module of the package (``dltutorials.models.rbm`` -> ``models/rbm.py``), None outside it."""
    parts = module.split(".")
    if parts[0] != PACKAGE_NAME:
        return None
    stem = "/".join(parts[1:])
    for path in (f"{stem}.py", f"{stem}/__init__.py" if stem else "__init__.py"):
        if path in code:
            return path
    return None


def _imports(path: str, text: str) -> set[str]:
    """The modules a file imports, anywhere in it (a function's imports too), with ``from X import y`` as both
    ``X`` and ``X.y`` (y may be a module)."""
    package = PurePosixPath(path).parent.parts  # what a relative import of level 1 starts from
    modules = set()
    for node in ast.walk(ast.parse(text, filename=path)):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = (node.module or "") if not node.level else ".".join(
                [PACKAGE_NAME, *package[:len(package) - node.level + 1], *([node.module] if node.module else [])])
            modules.add(base)
            modules.update(f"{base}.{alias.name}" for alias in node.names)
    return modules


def numerics_files_of(roots: Iterable[str], code: dict[str, str]) -> list[str]:
    """The numerics files that the modules ``roots`` run: the numerics files they import, transitively, and each
    package's ``__init__.py`` on the way; anywhere in a file, so a function's own imports count too. What a result
    made by those modules depends on, as far as imports say: a module named only as a string (Hydra's
    ``_target_``) must be a root. Imports are not followed out of the code that only checks settings, draws or
    plans (``config`` imports every stage's typed settings to validate them)."""
    seen: set[str] = set()
    waiting = [path for path in (module_file(root, code) for root in roots) if path]
    while waiting:
        path = waiting.pop()
        if path in seen:
            continue
        seen.add(path)
        parents = PurePosixPath(path).parents
        reached = [module_file(module, code) for module in _imports(path, code[path])] if is_numerics(path) else []
        reached += [f"{parent.as_posix()}/__init__.py" for parent in parents if parent.as_posix() != "."]
        waiting += [file for file in reached if file and file in code and file not in seen]
    return sorted(path for path in seen if is_numerics(path))


def numerics_fingerprint(settings: dict, code: str) -> str:
    """What determines a result's numbers, as 12 hex digits: its settings (``dltutorials.fingerprints``: what
    changes a number, not a display setting, and here not where a file is) and the numerics code's digest."""
    from dltutorials.fingerprints import as_text, without_locations

    return hashlib.sha256(f"{as_text(without_locations(settings))}\0{code}".encode()).hexdigest()[:12]
