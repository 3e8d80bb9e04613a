"""The stage protocol (dltutorials.stages): one command line, what every run does at its end, and the
provenance a result carries: the digest of the numerics code and the numerics fingerprint."""

from __future__ import annotations

import importlib
import json
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dltutorials import drawing, stages
from dltutorials.config import compose, validate
from dltutorials.fingerprints import training_settings
from dltutorials.provenance import PACKAGE, code_digest, numerics_fingerprint, processor


def test_finish_writes_the_config_then_the_result_last_with_its_provenance(tmp_path: Path) -> None:
    seen = {}

    def save(result: dict) -> None:  # as a pretrained layer saves its file: the config must be there already
        seen["config_first"] = (tmp_path / "config.yaml").is_file()
        seen["result"] = result

    stages.finish(tmp_path, {"model": {"lr": 0.1}}, {"error": 1.5}, {"lr": 0.1}, last=save)
    assert seen["config_first"]
    assert yaml.safe_load((tmp_path / "config.yaml").read_text()) == {"model": {"lr": 0.1}}
    result = stages.finish(tmp_path, {"model": {"lr": 0.1}}, {"error": 1.5}, {"lr": 0.1})
    assert json.loads((tmp_path / "metrics.json").read_text()) == result
    assert list(result)[:3] == ["error", "code", "numerics"]  # the result first, its provenance after
    assert result["code"] == code_digest()
    assert result["numerics"] == numerics_fingerprint({"lr": 0.1}, code_digest())
    assert {"host", "git_commit", "versions"} <= set(result)
    assert result["cpu"] == processor() and result["cpu"] not in ("", "unknown"), "which CPU made it"


def test_start_seeds_every_generator_with_the_runs_seed() -> None:
    import torch

    cfg = compose(["model=mlp", "preset=tiny", "seed=7"])
    stages.start(cfg)
    first = torch.rand(3)
    stages.start(cfg)
    assert torch.equal(torch.rand(3), first)
    stages.start(cfg, seed=8)
    assert not torch.equal(torch.rand(3), first)


@pytest.fixture
def package_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "dltutorials"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    return copy


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path}: {old!r} not found"
    path.write_text(text.replace(old, new, 1))


def test_the_code_digest_ignores_comments_docstrings_drawing_and_paths(package_copy: Path) -> None:
    before = code_digest(package_copy)
    assert before == code_digest(PACKAGE)
    rbm = package_copy / "models" / "rbm.py"
    rbm.write_text("# a comment that changes no number\n" + rbm.read_text().replace('"""', '"""Reworded. ', 1))
    edit(package_copy / "drawing" / "plots.py", "def ", "def _unused() -> None:\n    pass\n\n\ndef ")
    edit(package_copy / "workflow" / "layout.py", 'figures/{name}.png', 'figures/{name}.svg')
    assert code_digest(package_copy) == before


@pytest.mark.parametrize("module, old, new", [
    ("models/rbm.py", "import torch", "import torch\nEXTRA = 1"),          # a statement
    ("stages/pretrain.py", "seed=cfg.seed + k", "seed=cfg.seed + 2 * k"),  # how a layer is seeded
    ("kernels.py", "import numpy as np", "import numpy as numpy_"),        # a name
])
def test_the_code_digest_changes_with_any_statement_of_the_numerics_code(package_copy: Path, module: str, old: str,
                                                                          new: str) -> None:
    before = code_digest(package_copy)
    edit(package_copy / module, old, new)
    assert code_digest(package_copy) != before


def test_the_numerics_fingerprint_follows_the_settings_that_change_numbers_only() -> None:
    def fingerprint(*overrides: str) -> str:
        plain = validate(compose(["model=mlp", "preset=tiny", *overrides]))
        return numerics_fingerprint({**training_settings(plain), "seed": plain["seed"]}, "code")

    base = fingerprint()
    assert fingerprint("trainer.enable_progress_bar=false", "paths.results_dir=elsewhere", "num_threads=1") == base
    assert fingerprint("model.module.learning_rate=0.02") != base
    assert fingerprint("seed=1") != base
    assert numerics_fingerprint({"a": 1}, "other code") != numerics_fingerprint({"a": 1}, "code")


def modules(package) -> list[str]:
    return [f"{package.__name__}.{info.name}" for info in pkgutil.iter_modules(package.__path__)]


@pytest.mark.parametrize("module", modules(stages) + [m for m in modules(drawing) if m != "dltutorials.drawing.plots"])
def test_every_stage_is_a_module_with_the_one_command_line(module: str) -> None:
    loaded = importlib.import_module(module)
    shown = f"python -m {module}"
    assert callable(getattr(loaded, "main", None)), f"{shown}: no main()"
    helper = "stages.main(" if module.startswith("dltutorials.stages.") else "drawing.main("
    assert helper in Path(loaded.__file__).read_text(), f"{shown} does not go through {helper[:-1]}"
    result = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
