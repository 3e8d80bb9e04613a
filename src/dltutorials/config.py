"""One source of truth for settings: the Hydra configs under ``conf/``.

``compose`` gives the same composed config to the stages, the Snakefile and
the tests; ``validate`` rejects bad values before any training starts.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf

# ConfigError is defined in the ground module that checks the declared settings; imported from here as ever.
from dltutorials.fields import ConfigError, check_section
from dltutorials.workflow.layout import TUTORIAL_DATASET, dataset_folder, register_resolvers  # noqa: F401

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = PROJECT_ROOT / "conf"
# The models beyond the tutorial's (the likelihood comparison's RBMs and DBN): a second config folder laid out like
# conf/, on every root config's search path (``${comparison_configs:}``), so they are chosen as model=<name> too.
COMPARISON_DIR = CONFIG_DIR / "comparison"


# A folder laid out like conf/ whose configs add to the project's, e.g. a dataset of one's own in
# <folder>/data/<name>.yaml: the primary configs put it on Hydra's search path (hydra.searchpath).
USER_CONFIG_ENV = "DLTUTORIALS_CONFIG_DIR"
# Where runs go is said once, in dltutorials.workflow.layout; the configs read it through its resolvers
# (${run_dir:...} in conf/paths/default.yaml, ${hmc_run_dir:...}, ${music_run_dir:...}, ${dataset_folder:...}).
register_resolvers()
OmegaConf.register_new_resolver("comparison_configs", lambda: f"file://{COMPARISON_DIR}", replace=True)


def compose(overrides: list[str] | tuple[str, ...] = (), config_name: str = "config") -> DictConfig:
    """Compose ``conf/<config_name>.yaml`` with Hydra overrides such as ``["model=mlp", "preset=quick"]``."""
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return hydra_compose(config_name=config_name, overrides=list(overrides))


# Composed configs are kept here between processes (docs/configuration.md, "The config cache"): every Snakemake
# start, and every job under SLURM, builds the DAG again, and composing with Hydra and importing the classes
# validation checks cost seconds. Unset: $XDG_CACHE_HOME/dltutorials (~/.cache/dltutorials).
CACHE_ENV = "DLTUTORIALS_CACHE_DIR"
# Folders of entries for other states of the configs and code, beyond which the oldest are removed.
KEPT_CACHE_STATES = 8


def cache_folder() -> Path:
    folder = os.environ.get(CACHE_ENV)
    if folder:
        return Path(folder)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dltutorials"


def _input_files() -> list[Path]:
    """Every file a composed and validated config depends on: the configs, and the package's code (the
    resolvers, the checks, the signatures of the classes the configs name)."""
    files = list(dict.fromkeys(path for folder in config_dirs() for path in sorted(folder.rglob("*.yaml"))))
    return files + sorted(Path(__file__).parent.rglob("*.py"))


_digests: dict[tuple, str] = {}


def _inputs_digest() -> str:
    """A digest of everything but the overrides that a composed config depends on; the files' contents are
    read again only when their sizes or modification times change."""
    files = _input_files()
    stats = tuple((str(path), stat.st_mtime_ns, stat.st_size) for path in files for stat in [path.stat()])
    environment = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("DLTUTORIALS_")))
    key = (stats, environment)
    if key not in _digests:
        digest = hashlib.sha256(repr((environment, sys.version, metadata.version("hydra-core"),
                                      metadata.version("omegaconf"))).encode())
        for path in files:
            digest.update(f"\0{path}\0".encode())
            digest.update(path.read_bytes())
        _digests[key] = digest.hexdigest()[:32]
    return _digests[key]


def composed(overrides: list[str] | tuple[str, ...] = (), config_name: str = "config",
             check: Callable[[DictConfig], dict] | None = None) -> dict:
    """``compose`` as a plain dict: passed through ``check`` (``validate``, ``validate_hmc``, ``validate_music``:
    resolved and checked), or else unresolved. Kept on disk (``cache_folder``), keyed by the overrides, the
    check and a digest of every file and setting the result depends on, so a change to any of them composes
    again; a config that fails its check is never kept, and fails again each time."""
    state = cache_folder() / "configs" / _inputs_digest()
    call = json.dumps([list(overrides), config_name, check.__name__ if check else None])
    entry = state / f"{hashlib.sha256(call.encode()).hexdigest()[:32]}.json"
    try:
        return json.loads(entry.read_text())
    except (OSError, ValueError):  # not kept yet, or being replaced
        pass
    cfg = compose(overrides, config_name)
    plain = check(cfg) if check else OmegaConf.to_container(cfg, resolve=False)
    _keep(state, entry, plain)
    return plain


def _keep(state: Path, entry: Path, plain: dict) -> None:
    """Write an entry atomically; a cache that cannot be written (read-only home) only costs time."""
    if json.loads(json.dumps(plain)) != plain:  # e.g. integer keys, which would come back as strings: not kept
        return
    try:
        new_state = not state.is_dir()
        state.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=state, suffix=".tmp", delete=False) as handle:
            json.dump(plain, handle)
        os.replace(handle.name, entry)
        if new_state:
            states = sorted(state.parent.iterdir(), key=lambda path: path.stat().st_mtime, reverse=True)
            for old in states[KEPT_CACHE_STATES:]:
                shutil.rmtree(old, ignore_errors=True)
    except OSError:
        pass


def config_dirs() -> list[Path]:
    """conf/, conf/comparison/ (the models beyond the tutorial's), then the user's folder of configs
    ($DLTUTORIALS_CONFIG_DIR) if set."""
    user = os.environ.get(USER_CONFIG_ENV)
    if not user:
        return [CONFIG_DIR, COMPARISON_DIR]
    if not Path(user).is_dir():
        raise ConfigError(f"{USER_CONFIG_ENV}={user} is not a directory (a folder laid out like conf/, "
                          f"e.g. with data/<name>.yaml)")
    return [CONFIG_DIR, COMPARISON_DIR, Path(user)]


def available(group: str) -> list[str]:
    """Options of a config group, e.g. ``available("model")``, from conf/ and $DLTUTORIALS_CONFIG_DIR."""
    names: dict[str, Path] = {}
    for folder in config_dirs():
        for path in sorted((folder / group).glob("*.yaml")):
            if path.stem in names:  # Hydra would silently take conf/'s
                raise ConfigError(f"{path} has the name of {names[path.stem]}: give it another name")
            names[path.stem] = path
    return sorted(names)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _target_class(key: str, section: dict) -> type:
    target = section.get("_target_")
    try:
        return get_class(target)
    except Exception as error:  # hydra wraps import errors in several types
        raise ConfigError(f"{key}._target_: cannot import {target!r} ({error})") from None


def _check_constructor_arguments(key: str, section: dict) -> None:
    """Every argument must be a parameter of the class ``_target_`` names, with a value its annotation
    allows (``dltutorials.fields``: the class declares its arguments' types and bounds once)."""
    check_section(key, section, _target_class(key, section))


def per_layer_settings(pretrain: Any, k: int) -> dict:
    """Layer k's own settings (``pretrain.per_layer.<k>``, layers numbered from 1 as everywhere else), or {}."""
    per_layer = pretrain.get("per_layer") or {}
    own = per_layer.get(str(k), per_layer.get(k))
    return dict(own) if own else {}


def _check_pretraining(model: dict) -> None:
    """Layer-wise models: hidden_sizes, the shared layer settings and one optional entry per layer."""
    from dltutorials.stages.pretrain import Pretraining, StackOn

    sizes, pretrain = model.get("hidden_sizes"), model["pretrain"]
    check_section("model.pretrain", pretrain, Pretraining, required=True)
    layer_class = _target_class("model.pretrain.layer", pretrain["layer"])
    check_section("model.pretrain.layer", pretrain["layer"], layer_class)
    if not isinstance(sizes, list) or not sizes:
        raise ConfigError(f"model.hidden_sizes must be a non-empty list of layer sizes, got {sizes!r}")
    for k, size in enumerate(sizes, start=1):
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise ConfigError(f"model.hidden_sizes has {size!r} for layer {k}: layer sizes are positive integers")
    per_layer = pretrain.get("per_layer") or {}
    if not isinstance(per_layer, dict):
        raise ConfigError(f"model.pretrain.per_layer must map layer numbers to settings, e.g. "
                          f"{{'2': {{corruption_level: 0.2}}}}, got {per_layer!r}")
    for key in per_layer:
        if str(key) not in {str(k) for k in range(1, len(sizes) + 1)}:
            raise ConfigError(f"model.pretrain.per_layer.{key}: no such layer (layers are numbered 1 to {len(sizes)})")
    for k in range(1, len(sizes) + 1):
        check_section(f"model.pretrain.per_layer.{k}", per_layer_settings(pretrain, k), layer_class)
    below = pretrain.get("stack_on")
    if below is not None:
        check_section("model.pretrain.stack_on", below, StackOn, required=True)
        if below["layers"] >= len(sizes):
            raise ConfigError(f"model.pretrain.stack_on.layers is {below['layers']}, but model.hidden_sizes has "
                              f"{len(sizes)} layers: a stack trains at least its top layer itself")
        if "module" in model:
            raise ConfigError("model.pretrain.stack_on: only a stack without fine-tuning (no model.module) can "
                              "stack on another model's layers")


def _check_trainer(trainer: dict) -> None:
    """The tutorial's models train in float32 on one device (the training step calls the optimiser directly)."""
    precision = trainer.get("precision", "32-true")
    if precision not in ("32-true", "32", 32, None):
        raise ConfigError(f"trainer.precision must be 32-true (the tutorial's float32), got {precision!r}")
    for key in ("devices", "num_nodes"):
        value = trainer.get(key, 1)
        if value not in (1, "1") and not (isinstance(value, list) and len(value) == 1):
            raise ConfigError(f"trainer.{key} must be 1 (the models train on one device), got {value!r}")
    strategy = trainer.get("strategy", "auto")
    if strategy not in ("auto", "single_device"):
        raise ConfigError(f"trainer.strategy must be auto (one device), got {strategy!r}")


def _resolved(cfg: DictConfig, sections: tuple[str, ...]) -> dict:
    """``cfg`` resolved to a plain dict that has every one of ``sections``."""
    try:
        plain = OmegaConf.to_container(cfg, resolve=True)
    except Exception as error:
        raise ConfigError(f"cannot resolve the config: {error}") from None
    for section in sections:
        if section not in plain:
            raise ConfigError(f"missing config section {section!r}")
    return plain


def _check_seed(plain: dict) -> None:
    if not isinstance(plain.get("seed"), int) or isinstance(plain.get("seed"), bool):
        raise ConfigError(f"seed must be an integer, got {plain.get('seed')!r}")


def validate(cfg: DictConfig) -> dict:
    """Resolve ``cfg`` and check it; returns the resolved plain dict. Raises ConfigError."""
    data = cfg.get("data") or {}
    if data.get("kind", "images") != "images":  # before resolving: image models refer to keys it lacks
        raise ConfigError(f"data={data.get('name')} is a {data.get('kind')} dataset: only the "
                          f"RNN-RBM trains on it (conf/rnnrbm.yaml, python -m dltutorials.stages.music)")
    from dltutorials.data.prepare import Binarized
    from dltutorials.stages.train import Schedule
    from dltutorials.training.early_stopping import TutorialEarlyStopping

    plain = _resolved(cfg, ("model", "data", "trainer", "paths"))
    model_names = available("model")
    if plain["model"].get("name") not in model_names:
        raise ConfigError(f"model.name {plain['model'].get('name')!r} is not one of {model_names}")
    model = plain["model"]
    if "module" not in model and "pretrain" not in model:
        raise ConfigError(f"model {model['name']!r} needs a `module` (supervised training) or a `pretrain` section")
    if "module" in model:
        for key in ("batch_size", "max_epochs", "early_stopping"):
            if key not in model:
                raise ConfigError(f"model.{key} is missing (needed to train model.module)")
        _check_constructor_arguments("model.module", model["module"])
        check_section("model", model, Schedule, closed=False)
        check_section("model.early_stopping", model["early_stopping"], TutorialEarlyStopping)
    if "pretrain" in model:
        _check_pretraining(model)
    check_section("data", plain["data"], Binarized, closed=False)
    _check_constructor_arguments("data.datamodule", plain["data"]["datamodule"])
    _check_trainer(plain["trainer"])
    _check_seed(plain)
    return plain


def validate_hmc(cfg: DictConfig) -> dict:
    """Resolve and check a hybrid Monte-Carlo run (``conf/hmc.yaml``); returns the plain dict. Raises ConfigError."""
    from dltutorials.sampling.hmc import Chains, HMCSettings

    plain = _resolved(cfg, ("hmc_target", "sampler", "chains", "trainer", "paths"))
    check_section("sampler", plain["sampler"], HMCSettings)
    try:
        HMCSettings(**plain["sampler"])
    except ValueError as error:  # what no single field says (stepsize_max >= stepsize_min)
        raise ConfigError(f"sampler.{error}") from None
    check_section("chains", plain["chains"], Chains, required=True)
    if plain.get("dtype") not in ("float32", "float64"):
        raise ConfigError(f"dtype must be float32 or float64, got {plain.get('dtype')!r}")
    _check_trainer(plain["trainer"])
    accelerator = plain["trainer"].get("accelerator")
    if accelerator not in ("cpu", "gpu", "cuda", "auto"):
        raise ConfigError(f"trainer.accelerator must be cpu, gpu, cuda or auto, got {accelerator!r}")
    target = plain["hmc_target"]
    dims = target.get("plot_dims")
    if not (isinstance(dims, list) and len(dims) == 2 and all(isinstance(d, int) for d in dims)):
        raise ConfigError(f"hmc_target.plot_dims must be two dimension indices, got {dims!r}")
    _check_constructor_arguments("hmc_target.distribution", target["distribution"])
    _check_target(target, plain["chains"]["n_chains"])
    _check_seed(plain)
    return plain


def _check_target(target: dict, n_chains: int) -> None:
    """What a target's arguments alone cannot say, checked on the target itself before any draw: that it can be
    built, has the two dimensions ``plot_dims`` names (distinct, and a marginal it can draw), and that its
    energy gives one value per chain."""
    import numpy as np
    import torch
    from hydra.utils import instantiate

    key = "hmc_target.distribution"
    try:
        distribution = instantiate(target["distribution"])
    except Exception as error:  # a target's own check of its arguments together (e.g. a covariance)
        cause = error.__cause__ or error
        raise ConfigError(f"{key}: cannot build {target['distribution']['_target_']} ({cause})") from None
    dims = target["plot_dims"]
    if not all(0 <= d < distribution.dim for d in dims) or dims[0] == dims[1]:
        raise ConfigError(f"hmc_target.plot_dims must be two different dimensions of the {distribution.dim}-d "
                          f"target (0..{distribution.dim - 1}), got {dims}")
    try:
        distribution.marginal_log_density(np.zeros((1, 2)), tuple(dims))
    except ValueError as error:
        raise ConfigError(f"hmc_target.plot_dims: {error}") from None
    energy = distribution.energy(torch.zeros(n_chains, distribution.dim, dtype=torch.float64))
    if not isinstance(energy, torch.Tensor) or tuple(energy.shape) != (n_chains,):
        shape = tuple(energy.shape) if isinstance(energy, torch.Tensor) else type(energy).__name__
        raise ConfigError(f"{key}: {type(distribution).__name__}.energy must return one energy per chain, shape "
                          f"({n_chains},) for {n_chains} chains, got {shape}")


def validate_likelihood(cfg: DictConfig) -> dict:
    """Resolve and check the likelihood settings (``conf/likelihood.yaml``); returns the plain dict."""
    from dltutorials.sampling.ais import AISSettings
    from dltutorials.sampling.frame_marginals import STARTS
    from dltutorials.stages.likelihood import Curves, FrameAccuracy, Likelihood, ReverseAIS, RNNRBMLikelihood

    plain = _resolved(cfg, ("data", "ais", "reverse_ais", "curves", "rnnrbm", "models", "trainer", "paths"))
    if plain["data"].get("kind", "images") != "images":
        raise ConfigError(f"data={plain['data'].get('name')}: log p(v) of an RBM is measured on images (binary "
                          f"pixels, e.g. data=mnist_binarized)")
    ais, curves, music = plain["ais"], plain["curves"], plain["rnnrbm"]
    check_schedule("ais.schedule", ais.get("schedule"))
    check_section("ais", ais, AISSettings, required=True)
    if ais["n_runs"] < 2:
        raise ConfigError("ais.n_runs must be at least 2: the error band is their standard error")
    check_schedule("curves.schedule", curves.get("schedule"))
    if not (isinstance(curves.get("models"), list) and all(isinstance(m, str) for m in curves["models"])):
        raise ConfigError(f"curves.models must be a list of model names, got {curves.get('models')!r}")
    check_section("curves", curves, Curves, required=True)
    check_schedule("rnnrbm.schedule", music.get("schedule"))
    check_section("rnnrbm", music, RNNRBMLikelihood, required=True)
    accuracy = music["accuracy"]
    check_section("rnnrbm.accuracy", accuracy, FrameAccuracy, required=True)
    starts = accuracy["starts"]
    if not starts or not set(starts) <= set(STARTS) or len(set(starts)) < len(starts):
        raise ConfigError(f"rnnrbm.accuracy.starts must be distinct kinds among {', '.join(STARTS)}, got {starts!r}")
    if accuracy["burn_in"] >= accuracy["n_steps"]:
        raise ConfigError(f"rnnrbm.accuracy.burn_in ({accuracy['burn_in']}) must be below n_steps "
                          f"({accuracy['n_steps']}): the estimate averages the steps after it")
    check_section("reverse_ais", plain["reverse_ais"], ReverseAIS, required=True)
    check_section("", plain, Likelihood, closed=False, required=True)
    if not isinstance(plain["models"], dict) or not plain["models"]:
        raise ConfigError(f"models must map each RBM model to the dataset it trains on, got {plain['models']!r}")
    for model, value in (plain.get("reported") or {}).items():
        if not (isinstance(value, dict) and _is_number(value.get("test_log_prob"))
                and isinstance(value.get("source"), str) and value["source"].strip() and len(value) == 2):
            raise ConfigError(f"reported.{model} must be {{test_log_prob: <nats>, source: <where it was read>}}, "
                              f"got {value!r}")
    _check_trainer(plain["trainer"])
    return plain


def check_schedule(key: str, schedule: Any) -> None:
    """An AIS schedule: [end, step] segments from beta = 0 to 1, each end above the last; a ConfigError naming
    ``key`` otherwise (the check is ``dltutorials.sampling.ais.check_schedule``'s, where the schedule is read)."""
    from dltutorials.sampling.ais import check_schedule as check  # torch: only when a schedule is checked

    try:
        check(key, schedule)
    except ValueError as error:
        raise ConfigError(str(error)) from None


def validate_music(cfg: DictConfig) -> dict:
    """Resolve and check an RNN-RBM run (``conf/rnnrbm.yaml``); returns the plain dict. Raises ConfigError."""
    from dltutorials.data.midi import check_frames
    from dltutorials.stages.music import Evaluation, Generation, MusicTraining
    from dltutorials.stages.music_pretrain import RBMPretraining

    plain = _resolved(cfg, ("model", "data", "evaluation", "generation", "trainer", "paths"))
    data, model = plain["data"], plain["model"]
    if data.get("kind") != "piano_roll":
        raise ConfigError(f"data={data.get('name')} is not a piano-roll dataset (data.kind: piano_roll, e.g. "
                          f"data=nottingham): the RNN-RBM models sequences of MIDI frames")
    note_range = data.get("note_range")
    if not (isinstance(note_range, list) and len(note_range) == 2 and all(isinstance(n, int) for n in note_range)
            and 0 <= note_range[0] < note_range[1] <= 128):
        raise ConfigError(f"data.note_range must be [low, high) MIDI notes with 0 <= low < high <= 128, "
                          f"got {note_range!r}")
    try:
        check_frames(data.get("dt"), data.get("frames_per_quarter_note"), data.get("minor_key"))
    except ValueError as error:
        raise ConfigError(f"data.{error}") from None
    for name in ("transposed", "skip_bad_files"):
        if not isinstance(data.get(name), bool):
            raise ConfigError(f"data.{name} must be true or false, got {data.get(name)!r}")
    if data.get("corpus") is not None:
        _check_corpus(data["corpus"], data.get("split"))
    module = model.get("module")
    if not isinstance(module, dict):
        raise ConfigError("model.module is missing (the RNN-RBM's class and settings)")
    _check_constructor_arguments("model.module", module)
    if module.get("nesterov") and module.get("momentum", 0.0) == 0:
        raise ConfigError("model.module.nesterov needs a momentum > 0 (model.module.momentum)")
    check_section("model", model, MusicTraining, required=True)
    pretrain = model.get("pretrain_rbm")
    if pretrain is not None:
        expected = {field.name for field in dataclasses.fields(RBMPretraining)}
        if not isinstance(pretrain, dict) or set(pretrain) != expected:
            raise ConfigError(f"model.pretrain_rbm must be null or have exactly {sorted(expected)}, got {pretrain!r}")
        check_section("model.pretrain_rbm", pretrain, RBMPretraining)
    check_section("evaluation", plain["evaluation"], Evaluation, required=True)
    check_section("generation", plain["generation"], Generation, required=True)
    _check_trainer(plain["trainer"])
    _check_seed(plain)
    return plain


# Riemenschneider's numbering of the Bach chorales, as music21's corpus has it
RIEMENSCHNEIDER = (1, 371)


def _check_corpus(corpus: Any, split: Any) -> None:
    """A dataset exported from music21's corpus (the Bach chorales): a Riemenschneider range music21 accepts, a
    positive limit, and split fractions that sum to 1 and leave no split empty for the chorales chosen."""
    from dltutorials.data.corpus import split_sizes
    from dltutorials.data.download import DataError
    from dltutorials.data.split_folders import SPLITS

    low, high = RIEMENSCHNEIDER
    first, last, limit = (corpus.get(key) if isinstance(corpus, dict) else None for key in ("first", "last", "limit"))
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in (first, last)) or \
            not low <= first <= last <= high:
        raise ConfigError(f"data.corpus.first and last must be Riemenschneider numbers with {low} <= first <= last "
                          f"<= {high}, got {first!r} and {last!r}")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise ConfigError(f"data.corpus.limit must be a positive number of chorales or null, got {limit!r}")
    if not isinstance(split, dict) or not set(SPLITS) <= set(split) or \
            not all(_is_number(split[name]) and 0 < split[name] < 1 for name in SPLITS):
        raise ConfigError(f"data.split must give {', '.join(SPLITS)} each a fraction in (0, 1), got {split!r}")
    most = last - first + 1 if limit is None else min(limit, last - first + 1)
    try:
        split_sizes(most, {name: split[name] for name in SPLITS})
    except DataError as error:  # fractions that do not sum to 1, or a split left empty even by the most chorales
        raise ConfigError(f"data.split: {error}") from None


def sweep_label(value: float) -> str:
    """A grid value as paths and labels show it: 0.1, 0.0001, 1e-05 (``%g``)."""
    return f"{value:g}"


# The two axes of a sweep (conf/sweep/<name>.yaml) and where each axis's key must be: every pretraining
# value makes one stack of layers, which every fine-tuning value starts from.
SWEEP_AXES = {"pretrain": "under model.pretrain (what the layers are pretrained with)",
              "finetune": "of the model outside model.pretrain (what fine-tuning alone reads)"}


def _check_sweep_axis(axis: str, entry: Any, model_cfg: DictConfig) -> None:
    if not isinstance(entry, dict) or set(entry) != {"key", "values"}:
        raise ConfigError(f"sweep.{axis} must have exactly `key` and `values`, got {entry!r}")
    key, values = entry["key"], entry["values"]
    under_pretrain = isinstance(key, str) and key.startswith("model.pretrain.")
    if not isinstance(key, str) or not key.startswith("model.") or under_pretrain != (axis == "pretrain"):
        raise ConfigError(f"sweep.{axis}.key must name a setting {SWEEP_AXES[axis]}, got {key!r}")
    name, absent = model_cfg.model.name, object()
    current = OmegaConf.select(model_cfg, key, default=absent)
    if current is absent:
        raise ConfigError(f"sweep.{axis}.key: {key} is not a setting of model={name}"
                          f" (its file in conf/model/ or conf/comparison/model/)")
    if not _is_number(current):
        raise ConfigError(f"sweep.{axis}.key: {key} of model={name} is {current!r}, not a number")
    if not isinstance(values, list) or not values:
        raise ConfigError(f"sweep.{axis}.values must be a non-empty list of numbers, got {values!r}")
    labels = set()
    for i, value in enumerate(values):
        if not _is_number(value) or value <= 0:
            raise ConfigError(f"sweep.{axis}.values[{i}] must be a number > 0, got {value!r}")
        if sweep_label(value) in labels:  # the label names the point's folder
            raise ConfigError(f"sweep.{axis}.values has {sweep_label(value)} twice")
        labels.add(sweep_label(value))


def validate_sweep(cfg: DictConfig) -> dict:
    """Check a sweep (``conf/sweep.yaml``: the model and its two axes); returns the ``sweep`` section as a plain
    dict. Raises ConfigError naming the key."""
    sweep = _resolved(cfg, ("sweep",))["sweep"]
    expected = ["model", *SWEEP_AXES]
    for key in expected:
        if key not in sweep:
            raise ConfigError(f"sweep.{key} is missing (a sweep has {', '.join(expected)})")
    for key in sweep:
        if key not in expected:
            raise ConfigError(f"sweep.{key} is not a setting of a sweep (it has {', '.join(expected)})")
    models = available("model")
    if sweep["model"] not in models:
        raise ConfigError(f"sweep.model must be one of {models}, got {sweep['model']!r}")
    model_cfg = compose([f"model={sweep['model']}"])
    if "pretrain" not in model_cfg.model or "module" not in model_cfg.model:
        raise ConfigError(f"sweep.model: {sweep['model']} is not pretrained and fine-tuned (conf/model/ needs "
                          f"`pretrain` and `module`): a sweep shares each pretraining between fine-tunings")
    for axis in SWEEP_AXES:
        _check_sweep_axis(axis, sweep[axis], model_cfg)
    return sweep


def check_sweep_point(plain: dict, sweep: dict) -> None:
    """A grid point's run (``plain``: its validated config) pretrains every layer with the swept value: a
    layer's own setting of that name (``model.pretrain.per_layer.<k>``) would silently replace it."""
    key = sweep["pretrain"]["key"]
    if not key.startswith("model.pretrain.layer."):
        return
    name = key.rsplit(".", 1)[-1]
    for k in range(1, len(plain["model"]["hidden_sizes"]) + 1):
        if name in per_layer_settings(plain["model"]["pretrain"], k):
            raise ConfigError(f"model.pretrain.per_layer.{k}.{name} replaces the swept {key} on layer {k} "
                              f"(sweep.pretrain.key): remove it from the overrides or presets")
