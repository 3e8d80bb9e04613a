"""Log-likelihood of a trained RBM by annealed importance sampling (beyond the tutorial; conf/likelihood.yaml).

    python -m dltutorials.stages.likelihood measure results/runs/paper/rbm/seed1234
    python -m dltutorials.stages.likelihood measure results/runs/quick/rbm_cd1/mnist_binarized/seed1234 preset=quick
    python -m dltutorials.stages.likelihood epochs results/runs/paper/rbm_pcd/mnist_binarized/seed1234
    python -m dltutorials.stages.likelihood frames results/runs/paper/rnnrbm/nottingham/tutorial/seed1234

``measure`` reads the run's RBM (``layer1/layer.pt``), fits the base-rate model to the training split of the
likelihood data (the binarised digits), estimates log Z by AIS (and exactly, for few enough hidden units),
and writes ``<run_dir>/likelihood.json``: log Z with its band, the average log p(v) of the test and training
digits. ``epochs`` does the same for the parameters kept after each epoch (``layer1/epochs/``, with the
shorter schedule of ``curves``) into ``<run_dir>/likelihood_epochs.csv`` (``dltutorials.drawing.curves``
draws them).
``frames`` measures an RNN-RBM run: its log-likelihood per frame on the valid and test tunes.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated

import numpy as np
import pandas as pd
import torch
from omegaconf import DictConfig, OmegaConf

from dltutorials import runtime, stages
from dltutorials.atomic import atomic_path
from dltutorials.config import ConfigError, validate_likelihood
from dltutorials.data.download import DataError
from dltutorials.data.prepare import load_split
from dltutorials.fields import Bounds, Count
from dltutorials.fingerprints import likelihood_settings, music_likelihood_settings
from dltutorials.sampling import ais
from dltutorials.training import run_folders
from dltutorials.training.layers import layer_dir, load_layer


@dataclass(frozen=True)
class Likelihood:
    """The root keys of conf/likelihood.yaml that set a number (its sections ``ais``: ``ais.AISSettings``;
    ``curves``: ``Curves``; ``rnnrbm``: ``RNNRBMLikelihood``): the draws per digit of a stack's lower bound,
    and the most hidden units whose log Z is also summed exactly."""

    dbn_bound_samples: Count
    exact_max_hidden: Annotated[int, Bounds(ge=0, le=ais.EXACT_MAX_HIDDEN, says=f"an integer from 0 to "
                                            f"{ais.EXACT_MAX_HIDDEN} (2^hidden configurations are summed)")]


@dataclass(frozen=True)
class ReverseAIS:
    """``reverse_ais``: RAISE's test digits (the first ``n_digits``) and its runs per digit."""

    n_digits: Count
    n_chains: Count


@dataclass(frozen=True)
class Curves:
    """``curves``: the models of the likelihood-per-epoch figure and their (shorter) AIS schedule."""

    models: list
    schedule: list


@dataclass(frozen=True)
class RNNRBMLikelihood:
    """``rnnrbm``: the RNN-RBM's AIS per frame: schedule, runs, frames advanced together, the first
    ``eval_subset`` tunes (null: all), and the literature's value (``reported``, nats per frame)."""

    schedule: list
    n_runs: Count
    frames_per_batch: Count
    accuracy: dict
    eval_subset: Count | None = None
    reported: float | None = None


@dataclass(frozen=True)
class FrameAccuracy:
    """``rnnrbm.accuracy``: the bootstrap of the expected accuracy from the AIS runs
    (``frame_marginals.importance_weighted_counts``) and the chains that check it
    (``frame_marginals.estimate_expected_accuracy``)."""

    starts: list
    n_chains: Annotated[int, Bounds(ge=2, says="an integer >= 2 (its standard error needs two chains)")]
    n_steps: Count
    burn_in: Annotated[int, Bounds(ge=0, says="an integer >= 0")]
    bootstrap_resamples: Annotated[int, Bounds(ge=2, says="an integer >= 2 (its standard error needs two)")]


def binary_split(prepared_dir: str | Path, split: str) -> torch.Tensor:
    """A prepared split whose pixels are all 0 or 1: log p(v) of grey levels would not be a probability."""
    path = Path(prepared_dir) / f"{split}.npz"
    x, _ = load_split(path)
    if not np.isin(x, (0.0, 1.0)).all():
        raise DataError(f"{path}: pixels are not all 0 or 1; the likelihoods need binary data "
                        f"(data=mnist_binarized, conf/data/mnist_binarized.yaml)")
    return torch.from_numpy(x)


def method_name(settings: dict) -> str:
    """CD-k or PCD-k, as the literature names the training of an RBM: CD-1..25 for k rising linearly
    (``cd_k_initial``), CD-1..25/10 for k rising by one every 10 epochs (``cd_k_every``)."""
    initial, every = settings.get("cd_k_initial"), settings.get("cd_k_every")
    k = settings["cd_k"]
    if initial is not None:
        k = f"{initial}..{k}"
    elif every is not None and k > 1:
        k = f"1..{k}/{every}"
    return f"{'PCD' if settings.get('persistent') else 'CD'}-{k}"


def k_schedule(settings: dict) -> str:
    """The Gibbs steps of each epoch e (from 1) of an RBM's training, as a formula."""
    k, initial, every = settings["cd_k"], settings.get("cd_k_initial"), settings.get("cd_k_every")
    if initial is not None:
        return f"k from {initial} to {k}, linear over the epochs"
    if every is not None and k > 1:
        return f"k = min({k}, ceil(e / {every})), rate / k"
    return f"k = {k}"


def training_program(settings: dict) -> str:
    """The settings of an RBM's step beyond k, in words: rate, momentum, weight decay, data, initial weights."""
    rate = f"rate {settings['learning_rate']:g}"
    if settings.get("learning_rate_decay", "none") == "linear":
        rate += " decaying linearly"
    parts = [rate]
    if settings.get("momentum", 0.0):
        parts.append(f"momentum {settings.get('initial_momentum', 0.0):g} for "
                     f"{settings.get('initial_momentum_epochs', 0)} epochs, then {settings['momentum']:g}")
    if settings.get("weight_decay", 0.0):
        parts.append(f"weight decay {settings['weight_decay']:g}")
    if settings.get("binarize_input"):
        parts.append("inputs binarised afresh per minibatch")
    if settings.get("initial_weight_std") is not None:
        parts.append(f"W ~ N(0, {settings['initial_weight_std']:g}^2)")
    return ", ".join(parts)


class Measure:
    """What every estimate of one run shares: the settings, the device and the binarised splits."""

    def __init__(self, cfg: DictConfig) -> None:
        self.plain = validate_likelihood(cfg)
        stages.start(cfg, seed=self.plain["ais"]["seed"])  # AIS draws from generators of its own, seeded too
        self.device = runtime.device_for(self.plain["trainer"]["accelerator"])
        self.train = binary_split(self.plain["data"]["prepared_dir"], "train")
        self.test = binary_split(self.plain["data"]["prepared_dir"], "test")

    def load(self, path: Path, n_visible: int):
        """An RBM's layer file, checked against the size of what it models."""
        layer = load_layer(path)
        if layer.info.get("class") != "RBM":
            raise ConfigError(f"{path.parent} is a {layer.info.get('class')}, not an RBM: AIS estimates an RBM's "
                              f"partition function")
        if layer.weight.shape[1] != n_visible:
            raise DataError(f"{path}: the RBM has {layer.weight.shape[1]} visible units, what it models "
                            f"(data={self.plain['data']['name']} or the layer below) {n_visible}")
        return SimpleNamespace(info=layer.info, rbm=tuple(getattr(layer, name).to(self.device, torch.float32)
                                                          for name in ("weight", "visible_bias", "hidden_bias")))

    def base_rate(self, below: torch.Tensor) -> torch.Tensor:
        """The visible biases of the base-rate model of ``below`` (what an RBM models: the training digits, or
        their codes under the layers below it), where AIS and RAISE both start and end."""
        return ais.base_rate_biases(below, self.plain["ais"]["base_rate_smoothing"]).to(self.device)

    def log_partition(self, rbm: tuple, schedule: list, base_bias: torch.Tensor) -> tuple[ais.AISEstimate, int]:
        """AIS's estimate of log Z from the base-rate model's biases, and the number of temperatures."""
        betas = ais.inverse_temperatures(schedule)
        generator = torch.Generator(self.device).manual_seed(self.plain["ais"]["seed"])
        return ais.ais_log_partition(*rbm, base_bias, betas, self.plain["ais"]["n_runs"], generator), len(betas) - 1

    def estimate(self, layer, schedule: list, base_bias: torch.Tensor) -> dict:
        """One RBM on the digits: AIS's log Z with its band, and the average test and training log p(v)."""
        result, temperatures = self.log_partition(layer.rbm, schedule, base_bias)
        return {**_band(result),
                **{f"{split}_log_prob": round(ais.mean_log_probability(data.to(self.device), *layer.rbm,
                                                                       log_z=result.log_z), 4)
                   for split, data in (("test", self.test), ("train", self.train))},
                "n_temperatures": temperatures, "ais_seconds": round(result.seconds, 2)}

    def reverse_estimate(self, layers: list, base_bias: torch.Tensor, log_z: float) -> dict:
        """RAISE's average log p(v) over the first ``reverse_ais.n_digits`` test digits, beside AIS's on the same
        digits (``log_z``): the two sides of the estimate, through the same temperatures, from the same base-rate
        model (``base_bias``). For a stack, one draw of its hidden layers per digit from
        the approximate posterior, and both sides are the variational bound on those draws, RAISE's with its
        estimate of the top RBM's log p in place of -F_top - log Z_top."""
        settings = self.plain["reverse_ais"]
        digits = self.test[:settings["n_digits"]].to(self.device)
        *directed, top = [layer.rbm for layer in layers]
        states, log_ratio = ais.dbn_posterior_draws(
            digits, directed, torch.Generator(self.device).manual_seed(self.plain["ais"]["seed"] + 2))
        generator = torch.Generator(self.device).manual_seed(self.plain["ais"]["seed"])
        start = time.perf_counter()
        log_p = ais.raise_log_probabilities(states, *top, base_bias,
                                            ais.inverse_temperatures(self.plain["ais"]["schedule"]),
                                            settings["n_chains"], generator)
        return {"raise_digits": len(digits), "raise_test_log_prob": round(float((log_ratio + log_p).mean()), 4),
                "ais_test_log_prob_subset": round(ais.mean_log_probability(states, *top, log_z=log_z)
                                                  + float(log_ratio.mean()), 4),
                "raise_seconds": round(time.perf_counter() - start, 2)}

    def estimate_stack(self, layers: list, base_bias: torch.Tensor) -> dict:
        """A DBN (the stack's RBMs, bottom up): AIS's log Z of the top RBM, from the base-rate model of the
        training digits' codes below it, and the average variational lower bound on log p(v)."""
        result, temperatures = self.log_partition(layers[-1].rbm, self.plain["ais"]["schedule"], base_bias)
        generator = torch.Generator(self.device).manual_seed(self.plain["ais"]["seed"] + 1)
        samples = self.plain["dbn_bound_samples"]
        return {**_band(result),
                **{f"{split}_log_prob": round(ais.dbn_log_probability_bound(
                    data.to(self.device), [layer.rbm for layer in layers], result.log_z, samples, generator), 4)
                   for split, data in (("test", self.test), ("train", self.train))},
                "n_temperatures": temperatures, "ais_seconds": round(result.seconds, 2)}


def _band(result: ais.AISEstimate) -> dict:
    return {"log_z": round(result.log_z, 4), "log_z_low": round(result.log_z_low, 4),
            "log_z_high": round(result.log_z_high, 4)}


def measure(cfg: DictConfig, run_dir: str | Path) -> dict:
    """Estimate the run's log Z and log-probabilities; writes and returns the row of ``likelihood.json``.

    A run of one RBM gets its log p(v); a run of a stack of RBMs (a DBN without fine-tuning) the variational
    lower bound on it, with its top RBM's log Z."""
    run_dir = Path(run_dir)
    # the first layer trained in this run (layer 1, or the first above the layers it stacks on)
    config_file = min(run_dir.glob("layer*/config.yaml"), key=lambda path: int(path.parent.name[5:]),
                      default=layer_dir(run_dir, 1) / "config.yaml")
    if not config_file.is_file():
        raise FileNotFoundError(f"{run_dir}/layer1: no trained layer (no {config_file.name}); measure a run of "
                                f"an RBM or a DBN once its layers are trained (the workflow trains and measures "
                                f"the configured ones: snakemake --cores all results/rbm_likelihood.csv)")
    trained = OmegaConf.load(config_file)
    setup = Measure(cfg)
    plain = setup.plain
    sizes = [setup.train.shape[1], *trained.model.hidden_sizes]
    stack_on = trained.model.pretrain.get("stack_on")
    folders = [Path(folder) for folder in run_folders.stack_layer_dirs(
        str(run_dir), len(sizes) - 1, OmegaConf.to_container(stack_on) if stack_on else None, trained.preset_name,
        trained.seed, trained.paths.results_dir)]
    layers = [setup.load(folder / "layer.pt", size) for folder, size in zip(folders, sizes)]
    top = layers[-1]
    if len(layers) == 1:
        base_bias = setup.base_rate(setup.train)
        estimate = setup.estimate(top, plain["ais"]["schedule"], base_bias)
    else:  # the top RBM models the codes of the layers below: their mean activations on the training digits
        base_bias = setup.base_rate(torch.from_numpy(np.load(folders[-2] / "codes.npy")))
        estimate = setup.estimate_stack(layers, base_bias)
    estimate.update(setup.reverse_estimate(layers, base_bias, estimate["log_z"]))
    n_hidden = top.rbm[0].shape[0]
    reported = (plain.get("reported") or {}).get(trained.model.name) or {}
    row = {
        "model": trained.model.name,
        "method": "-".join(method_name(layer.info["settings"]) for layer in layers),
        "hidden_sizes": "-".join(str(size) for size in sizes[1:]),
        "epochs": top.info["epochs"],
        "k_schedule": "; ".join(k_schedule(layer.info["settings"]) for layer in layers),
        "program": "; ".join(training_program(layer.info["settings"]) for layer in layers),
        "seed": trained.seed,
        "preset": trained.preset_name,
        "trained_on": trained.data.name,
        "evaluated_on": plain["data"]["name"],
        "log_prob": "exact given log Z" if len(layers) == 1 else "lower bound",
        "raise_digits": None, "raise_test_log_prob": None, "ais_test_log_prob_subset": None, "raise_seconds": None,
        **estimate,
        "exact_log_z": None,
        "exact_test_log_prob": None,
        "exact_train_log_prob": None,
        "exact_test_log_prob_subset": None,
        "exact_seconds": None,
        "paper_test_log_prob": reported.get("test_log_prob"),
        "paper_source": reported.get("source"),
        "n_runs": plain["ais"]["n_runs"],
    }
    if n_hidden <= plain["exact_max_hidden"]:
        start = time.perf_counter()
        exact = ais.exact_log_partition(*top.rbm)
        row["exact_log_z"] = round(exact, 4)
        row["exact_seconds"] = round(time.perf_counter() - start, 2)
        # with the exact log Z: an RBM's exact log p(v), a DBN's bound moved by the same amount
        for split in ("test", "train"):
            row[f"exact_{split}_log_prob"] = round(row[f"{split}_log_prob"] - (exact - row["log_z"]), 4)
        if row["ais_test_log_prob_subset"] is not None:  # RAISE's digits
            row["exact_test_log_prob_subset"] = round(row["ais_test_log_prob_subset"] - (exact - row["log_z"]), 4)
    row.update({"device": str(setup.device), "torch_threads": torch.get_num_threads()})
    settings = {**likelihood_settings(plain), "measured": [layer.info.get("numerics") for layer in layers]}
    return stages.finish(run_dir, plain, row, settings, last="likelihood.json", config_file="likelihood.yaml")


def measure_epochs(cfg: DictConfig, run_dir: str | Path) -> pd.DataFrame:
    """The estimate after each epoch of a run that kept them (model.pretrain.keep_epochs): likelihood_epochs.csv."""
    run_dir = Path(run_dir)
    trained = OmegaConf.load(layer_dir(run_dir, 1) / "config.yaml")
    files = sorted((layer_dir(run_dir, 1) / "epochs").glob("epoch*.pt"), key=lambda path: int(path.stem[5:]))
    if not files:
        raise FileNotFoundError(f"{layer_dir(run_dir, 1)}/epochs: no per-epoch parameters; train the layer with "
                                f"model.pretrain.keep_epochs=true")
    setup = Measure(cfg)
    base_bias = setup.base_rate(setup.train)
    rows = []
    for path in files:
        layer = setup.load(path, setup.train.shape[1])
        rows.append({"model": trained.model.name, "method": method_name(layer.info["settings"]),
                     "seed": trained.seed, "epoch": layer.info["epoch"],
                     **setup.estimate(layer, setup.plain["curves"]["schedule"], base_bias)})
        print(f"epoch {rows[-1]['epoch']}: test log p(v) {rows[-1]['test_log_prob']:.2f}", flush=True)
    table = pd.DataFrame(rows)
    with atomic_path(run_dir / "likelihood_epochs.csv") as tmp:
        table.to_csv(tmp, index=False)
    return table


def notes_lost(prepared_dir: str | Path, split: str, first: int | None = None) -> int:
    """How many notes of a split's (first ``first``) tunes fall outside the note range when the tunes are moved to
    C major / A minor: 0 when the transposed tunes are the same tunes, only in another key."""
    from dltutorials.data.midi import load_tunes

    original, moved = (load_tunes(Path(prepared_dir) / f"{split}.npz", transposed)[:first]
                       for transposed in (False, True))
    return int(sum(int(a.sum()) - int(b.sum()) for a, b in zip(original, moved)))


def measure_frames(cfg: DictConfig, run_dir: str | Path) -> dict:
    """An RNN-RBM run's log-likelihood per frame on its valid and test tunes: log p(v(t) | v(<t)) = -F_t(v(t)) -
    log Z_t, the biases of frame t's RBM from the RNN over the tune's past; every frame's log Z by AIS (the
    shorter schedule of ``rnnrbm``), the frames advancing together; the expected accuracy from the same runs,
    checked by Gibbs chains; the baselines (``music_baselines``) on the same frames under ``baselines``. Writes
    and returns ``likelihood.json``."""
    from dltutorials.data.tunes import TuneDataModule
    from dltutorials.models import music_baselines
    from dltutorials.models.rnnrbm import RNNRBM
    from dltutorials.sampling import frame_marginals

    plain = validate_likelihood(cfg)
    run_dir = Path(run_dir)
    if not (run_dir / "metrics.json").is_file():
        raise FileNotFoundError(f"{run_dir}: no finished RNN-RBM run (metrics.json); measure a run once it has "
                                f"finished (the workflow trains and measures the configured ones: snakemake "
                                f"--cores all results/rnnrbm_likelihood.csv)")
    trained = OmegaConf.load(run_dir / "config.yaml")
    stages.start(cfg, seed=plain["ais"]["seed"])
    device = runtime.device_for(plain["trainer"]["accelerator"])
    model = RNNRBM.load_from_checkpoint(run_dir / "model.ckpt", map_location=device).eval()
    settings = plain["rnnrbm"]
    tunes = TuneDataModule(trained.data.prepared_dir, None, trained.data.transposed)
    training_frames = torch.cat(tunes.split("train"))
    base_bias = ais.base_rate_biases(training_frames, plain["ais"]["base_rate_smoothing"])
    accuracy = settings["accuracy"]
    accuracy_generator = torch.Generator(device).manual_seed(plain["ais"]["seed"] + 1)
    bootstrap_generator = torch.Generator(device).manual_seed(plain["ais"]["seed"] + 2)
    betas = ais.inverse_temperatures(settings["schedule"])
    generator = torch.Generator(device).manual_seed(plain["ais"]["seed"])
    row = {"model": "rnnrbm", "dataset": trained.data.name, "variant": trained.variant, "seed": trained.seed,
           "preset": trained.preset_name, "n_hidden": model.n_hidden, "n_runs": settings["n_runs"],
           "n_temperatures": len(betas) - 1, "paper_log_likelihood_per_frame": settings.get("reported")}
    measured_tunes = {split: tunes.split(split, settings["eval_subset"]) for split in ("valid", "test")}
    start, accuracy_seconds = time.perf_counter(), 0.0
    for split, split_tunes in measured_tunes.items():
        with torch.no_grad():
            frames = [(tune, *model.recurrence(tune.to(device))[1:]) for tune in split_tunes]
            v, visible_biases, hidden_biases = (torch.cat(parts).to(device) for parts in zip(*frames))
            free = model.free_energy(v, visible_biases, hidden_biases).double()
            bands, weighted, replicates, effective_runs = [], frame_marginals.ExpectedAccuracy(), None, []
            for vb, hb, frames_v in zip(*(x.split(settings["frames_per_batch"])
                                          for x in (visible_biases, hidden_biases, v))):
                runs = ais.ais_runs(model.weight, vb, hb, base_bias.to(device), betas, settings["n_runs"], generator)
                bands.append(runs.log_partitions())
                # the expected accuracy from the same runs: their final states, weighted (frame_marginals)
                counts, resampled = frame_marginals.importance_weighted_counts(
                    runs, frames_v, accuracy["bootstrap_resamples"], bootstrap_generator)
                weighted += counts
                replicates = resampled if replicates is None else [a + b for a, b in zip(replicates, resampled)]
                effective_runs.append(runs.effective_runs())
        log_z, low, high = (torch.cat(parts) for parts in zip(*bands))
        row.update({f"{split}_frames": len(v), f"{split}_tunes": len(frames),
                    f"{split}_log_likelihood_per_frame": round(float((-free - log_z).mean()), 4),
                    # the band of each frame's log Z, where it has two finite ends, and how many frames lack one
                    f"{split}_median_log_z_band": round(float((high - low)[low.isfinite()].median()), 4)
                    if bool(low.isfinite().any()) else None,
                    f"{split}_frames_without_lower_band": int((~low.isfinite()).sum())})
        # the expected accuracy on the same frames (whole tunes, the model's key: for a transposed variant the
        # same tunes moved, a bijection where no note leaves the range, which the row counts)
        accuracy_start = time.perf_counter()
        with torch.no_grad():
            estimate = frame_marginals.estimate_expected_accuracy(
                model, [tune.to(device) for tune in split_tunes],
                note_frequencies=training_frames.mean(dim=0).to(device), starts=accuracy["starts"],
                n_chains=accuracy["n_chains"], n_steps=accuracy["n_steps"], burn_in=accuracy["burn_in"],
                generator=accuracy_generator)
        accuracy_seconds += time.perf_counter() - accuracy_start
        row.update({f"{split}_expected_accuracy": round(weighted.accuracy, 5),
                    f"{split}_expected_accuracy_error": round(frame_marginals.spread(replicates), 5),
                    f"{split}_effective_runs_per_frame": round(float(torch.cat(effective_runs).mean()), 2),
                    # the check by Gibbs chains from each start: they agree where the chains mix
                    **{f"{split}_expected_accuracy_from_{kind}": round(result["expected_accuracy"], 5)
                       for kind, result in estimate["starts"].items()},
                    f"{split}_starts_agree": estimate["starts_agree"],
                    f"{split}_notes_lost_by_transposition": notes_lost(trained.data.prepared_dir, split,
                                                                     settings["eval_subset"])
                    if trained.data.transposed else 0})
        if model.n_hidden <= plain["exact_max_hidden"]:
            exact = torch.tensor([ais.exact_log_partition(model.weight, vb, hb)
                                  for vb, hb in zip(visible_biases, hidden_biases)], dtype=torch.float64)
            row[f"{split}_exact_log_likelihood_per_frame"] = round(float((-free - exact).mean()), 4)
    # the baselines fitted on the same training tunes and measured on the same frames, in the model's key
    row["key"] = "transposed" if trained.data.transposed else "original"
    row["baselines"] = music_baselines.baseline_rows(
        [tune.numpy() for tune in tunes.split("train")],
        {split: [tune.numpy() for tune in split_tunes] for split, split_tunes in measured_tunes.items()})
    row.update({"accuracy_chains": accuracy["n_chains"], "accuracy_steps": accuracy["n_steps"],
                "accuracy_burn_in": accuracy["burn_in"], "accuracy_seconds": round(accuracy_seconds, 2)})
    row.update({"ais_seconds": round(time.perf_counter() - start - accuracy_seconds, 2), "device": str(device),
                "torch_threads": torch.get_num_threads()})
    measured = json.loads((run_dir / "metrics.json").read_text()).get("numerics")
    settings = {**music_likelihood_settings(plain), "measured": measured}
    return stages.finish(run_dir, plain, row, settings, last="likelihood.json", config_file="likelihood.yaml")


def run(cfg: DictConfig, folder: None, action: str, run_dir: Path) -> dict:
    if action == "measure":
        return measure(cfg, run_dir)
    if action == "frames":
        return measure_frames(cfg, run_dir)
    return {"epochs": len(measure_epochs(cfg, run_dir)), "file": str(run_dir / "likelihood_epochs.csv")}


def summary(row: dict) -> str:
    if "file" in row:
        return f"{row['epochs']} epochs in {row['file']}"
    if row["model"] == "rnnrbm":
        return (f"rnnrbm {row['variant']} ({row['dataset']}): log-likelihood per frame, valid "
                f"{row['valid_log_likelihood_per_frame']:.3f}, test {row['test_log_likelihood_per_frame']:.3f} nats; "
                f"expected accuracy, valid {row['valid_expected_accuracy']:.2%}, test "
                f"{row['test_expected_accuracy']:.2%} (chains' starts agree: {row['valid_starts_agree']}, "
                f"{row['test_starts_agree']}); AIS {row['ais_seconds']:.1f} s, chains {row['accuracy_seconds']:.1f} s")
    exact = f", exact {row['exact_log_z']:.3f}" if row["exact_log_z"] is not None else ""
    return (f"{row['model']} ({row['method']}, {row['hidden_sizes']} hidden): log Z {row['log_z']:.3f} "
            f"[{row['log_z_low']:.3f}, {row['log_z_high']:.3f}]{exact}; test log p(v) {row['test_log_prob']:.2f}, "
            f"train {row['train_log_prob']:.2f} nats; AIS {row['ais_seconds']:.1f} s")


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["measure", "epochs", "frames"])
    parser.add_argument("run_dir", type=Path, help="a run whose layer1/layer.pt is an RBM (measure, epochs), or an "
                                                   "RNN-RBM run (frames)")


def main() -> None:
    stages.main(__doc__, run, summary, config_name="likelihood", arguments=arguments, run_folder=False)


if __name__ == "__main__":
    main()
