"""What makes an artifact: the settings that change the numbers it holds, in one place.

Snakemake reruns a job when its fingerprint (a rule parameter) changes, so a
change reruns exactly the jobs whose numbers it changes, and everything
downstream through file times:

- a trained model (``training_settings``): the whole model section (for a
  layer-wise model its pretraining too, since fine-tuning starts from those
  layers), the data it trains and is evaluated on, and the trainer;
- pretrained layer k (``layer_settings``): the settings of layers 1..k (sizes,
  the shared and per-layer settings, batch size, epochs), the training data
  and the trainer; never fine-tuning's;
- a figure (``figure_settings``): what it draws from besides its input layer;
- an HMC run (``sampling_settings``): target, sampler, chains, dtype, device, seed;
- an RNN-RBM run (``music_settings``): the model, the piano rolls' settings,
  evaluation, generation and the trainer; the RBM it starts from
  (``music_pretraining_settings``): its own settings, size, frames and seed.

Left out everywhere (``DISPLAY_ONLY``): settings that change how a run is
shown or sliced, never a number it computes. Each pretrained layer also
records its fingerprint, so fine-tuning refuses layers made with other settings.
"""

from __future__ import annotations

from typing import Any

from omegaconf import OmegaConf

from dltutorials.config import per_layer_settings

DISPLAY_ONLY = {
    # progress bars, model summaries and how often Lightning logs
    "trainer": {"enable_progress_bar", "enable_model_summary", "log_every_n_steps"},
    # updates per Lightning step (the chunks run the same updates in the same order)
    # and the evaluation batch size (the same errors are counted)
    "datamodule": {"updates_per_step", "eval_batch_size"},
    # which figures are drawn, how samples are drawn, which table a run goes to
    "model": {"figures", "samples", "table"},
    # the two dimensions an HMC figure draws
    "hmc_target": {"plot_dims"},
}


def _without(section: dict, keys: set[str]) -> dict:
    return {key: value for key, value in section.items() if key not in keys}


def _trainer(plain: dict) -> dict:
    return _without(plain["trainer"], DISPLAY_ONLY["trainer"])


def training_settings(plain: dict) -> dict:
    """Everything that changes a trained model's numbers (``plain``: a resolved, validated config)."""
    data = {"name": plain["data"]["name"],
            "datamodule": _without(plain["data"]["datamodule"], DISPLAY_ONLY["datamodule"])}
    return {"model": _without(plain["model"], DISPLAY_ONLY["model"]), "data": data, "trainer": _trainer(plain)}


def layer_settings(plain: dict, k: int) -> dict:
    """Everything that changes pretrained layer k: its settings and those of every layer below it."""
    model, pretrain = plain["model"], plain["model"]["pretrain"]
    settings = {
        "sizes": [plain["data"]["n_features"], *model["hidden_sizes"][:k]],
        "layer": pretrain["layer"],
        "per_layer": {str(j): per_layer_settings(pretrain, j) for j in range(1, k + 1)},
        "batch_size": pretrain["batch_size"],
        "epochs": pretrain["epochs"],
        "data": {"name": plain["data"]["name"], "train_subset": plain["data"]["datamodule"]["train_subset"]},
        "trainer": _trainer(plain),
    }
    # The per-epoch snapshots change no number, but a run asked for them must have them; only when asked,
    # so that the runs made before the setting existed keep their fingerprints.
    if pretrain.get("keep_epochs"):
        settings["keep_epochs"] = True
    return settings


def figure_settings(plain: dict, figure: str) -> dict:
    """What a figure draws from besides layer 1's file: the image shape, and the sampling settings and seed."""
    settings: dict[str, Any] = {"image_shape": plain["data"]["image_shape"]}
    if figure == "samples":
        settings.update(samples=plain["model"].get("samples"), seed=plain["seed"])
    return settings


def sampling_settings(plain: dict) -> dict:
    """Everything that changes an HMC run's draws: the target, the sampler, the chains, dtype, device, seed."""
    return {"hmc_target": _without(plain["hmc_target"], DISPLAY_ONLY["hmc_target"]), "sampler": plain["sampler"],
            "chains": plain["chains"], "dtype": plain["dtype"], "accelerator": plain["trainer"]["accelerator"],
            "seed": plain["seed"]}


def _piano_rolls(plain: dict) -> dict:
    return {key: plain["data"].get(key) for key in ("name", "dt", "note_range", "skip_bad_files", "transposed",
                                                     "frames_per_quarter_note", "minor_key")}


def music_settings(plain: dict) -> dict:
    """Everything that changes an RNN-RBM run: model (with its pretraining), piano rolls, evaluation,
    generation, trainer."""
    return {"model": plain["model"], "data": _piano_rolls(plain), "evaluation": plain["evaluation"],
            "generation": plain["generation"], "trainer": _trainer(plain)}


def music_pretraining_settings(plain: dict) -> dict:
    """Everything that changes the RBM an RNN-RBM run starts from: its settings, its size, the frames, the seed."""
    return {"pretrain_rbm": plain["model"]["pretrain_rbm"], "n_hidden": plain["model"]["module"]["n_hidden"],
            "train_subset": plain["model"]["train_subset"], "data": _piano_rolls(plain), "trainer": _trainer(plain),
            "seed": plain["seed"]}


def likelihood_settings(plain: dict, schedule: str = "ais") -> dict:
    """What an AIS estimate of an RBM or a stack depends on (``plain``: conf/likelihood.yaml resolved): the data,
    AIS's settings (the schedule of ``curves`` for the per-epoch ones), the exact sum's limit and the device."""
    settings = {"data": plain["data"]["name"], "ais": {**plain["ais"], "schedule": plain[schedule]["schedule"]},
                "trainer": plain["trainer"]["accelerator"]}
    if schedule == "ais":
        settings.update(exact_max_hidden=plain["exact_max_hidden"], reported=plain.get("reported"),
                        reverse_ais=plain["reverse_ais"],
                        dbn_bound_samples=plain["dbn_bound_samples"])
    return settings


def music_likelihood_settings(plain: dict) -> dict:
    """What an RNN-RBM's log-likelihood per frame depends on besides the run: AIS's settings for it, the device."""
    return {"rnnrbm": {key: value for key, value in plain["rnnrbm"].items() if key != "reported"},
            "seed": plain["ais"]["seed"], "smoothing": plain["ais"]["base_rate_smoothing"],
            "exact_max_hidden": plain["exact_max_hidden"], "trainer": plain["trainer"]["accelerator"]}


# Settings that say where a file is, never what is in it: a result's numbers do not depend on them (Snakemake's
# fingerprints keep them, so that a job whose inputs move runs again).
LOCATIONS = {"data_dir", "prepared_dir", "raw_dir", "raw_file", "source_dir", "run_dir", "results_dir"}


def without_locations(settings: Any) -> Any:
    """``settings`` without the ``LOCATIONS`` keys, at any depth."""
    if isinstance(settings, dict):
        return {key: without_locations(value) for key, value in settings.items() if key not in LOCATIONS}
    if isinstance(settings, list):
        return [without_locations(value) for value in settings]
    return settings


def as_text(settings: dict) -> str:
    """A stable text form (YAML), the form Snakemake compares between runs."""
    return OmegaConf.to_yaml(settings)


def differences(recorded: dict, current: dict, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two fingerprints."""
    keys = []
    for key in sorted(set(recorded) | set(current), key=str):
        a, b = recorded.get(key), current.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            keys += differences(a, b, f"{prefix}{key}.")
        elif a != b:
            keys.append(f"{prefix}{key}")
    return keys
