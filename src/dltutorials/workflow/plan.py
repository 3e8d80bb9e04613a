"""What the workflow builds for one Snakemake ``config`` (conf/workflow.yaml), read from the Hydra configs.

``Plan(config)`` checks the settings (a bad one raises ConfigError naming it, before any job runs) and answers
every question a rule asks: which models, tables and runs exist, the paths a job reads and writes
(``dltutorials.workflow.layout``), the Hydra arguments it is started with, and its fingerprint
(``dltutorials.fingerprints``: Snakemake reruns a job when it changes).

Two things reach the jobs outside the rules' parameters, on purpose (``snakemake --lint`` reports both; see
docs/testing.md): the interpreter (``python``: a virtualenv rebuilt or moved must not rerun finished jobs) and
the user's extra Hydra overrides (``model_override_list`` and the like, which the Snakefile quotes: what an
override changes is in the fingerprints, so only the jobs whose settings it changes rerun). The data mirror
likewise (``mirror_env``): where a file came from must not redo it, its checksum is checked either way. No
rule names a conda environment or container: the project's one virtualenv is the environment of every job.
"""

from __future__ import annotations

import functools
import re
import shlex
import sys
from dataclasses import dataclass

from dltutorials import config as hydra_configs
from dltutorials import fingerprints
from dltutorials.config import USER_CONFIG_ENV, ConfigError, available, check_sweep_point, composed, sweep_label
from dltutorials.drawing import tutorial_table
from dltutorials.workflow import layout
from dltutorials.workflow.layout import PAPER, SPLITS, TUTORIAL_DATASET

# Extra Hydra overrides (config `overrides`) go where their first key is: these to the HMC runs
# (conf/hmc.yaml), these to the likelihood jobs (conf/likelihood.yaml), trainer to all, the rest to the models.
HMC_ONLY = ("sampler", "chains", "dtype")
LIKELIHOOD_ONLY = ("ais", "curves", "exact_max_hidden", "reported", "rnnrbm", "dbn_bound_samples")
SHARED = ("trainer",)
SAMPLER_TABLES = ("hmc",)
HMC_FIGURES = ("samples", "adaptation")
MUSIC_FIGURES = ("samples", "monitor", "statistics")
LAYER_FIGURES = ("filters", "samples")
CURVES = ("learning", "pretraining")
# A sweep's grid value in a path, as sweep_label writes it: 0.1, 0.0001, 1e-05.
SWEEP_VALUE = r"[0-9][0-9.e+-]*"
# Folders of results/ that the pipeline itself uses: no image dataset may be named like one.
RESULTS_FOLDERS = ("data", "figures", "hand_runs", "logs", "runs", "sweeps")
# The HTML report lists categories in alphabetical order: the numbers keep the tutorial's.
TUTORIAL_CATEGORY = "00 The tutorial's numbers and ours"
CHAPTERS = {"logreg": "04 Logistic regression", "mlp": "05 Multilayer perceptron", "lenet": "06 LeNet",
            "da": "07 Denoising autoencoders", "sda": "08 Stacked denoising autoencoders",
            "rbm": "09 Restricted Boltzmann machines", "dbn": "10 Deep belief networks",
            "cae": "10b Contractive autoencoder", "hmc": "11 Hybrid Monte-Carlo", "rnnrbm": "12 RNN-RBM"}


def override_section(override: str) -> str:
    """The first key of a Hydra override: `+model.pretrain.x=1` -> model."""
    return override.lstrip("+~").split("=")[0].split(".")[0]


def chooses_dataset(override: str) -> bool:
    return override.lstrip("+").split("=")[0] == "data"


def quoted(arguments: list[str]) -> str:
    """Arguments as one shell word each."""
    return " ".join(shlex.quote(argument) for argument in arguments)


def alternatives(names) -> str:
    """A regex matching exactly one of ``names`` (longest first); one that matches nothing when there are none."""
    return "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True)) or "(?!)"


def flag(value) -> bool:
    """A boolean of conf/workflow.yaml, which `--config key=true` passes as a string."""
    return str(value).lower() == "true"


@dataclass(frozen=True)
class ImageRun:
    """One run of an image model, named by its folder under results/runs/: a model's run
    (``<preset>/<model>/[<dataset>/]seed<N>``), or a sweep's stack of layers for one pretraining value
    (``<preset>/sweeps/<sweep>/[<dataset>/]pre<x>/seed<N>``) and a grid point's fine-tuning on it (``.../fine<y>``)."""

    preset: str
    model: str
    dataset: str
    seed: int
    sweep: str | None = None
    pre: str | None = None
    fine: str | None = None

    @property
    def stack_dir(self) -> str:
        """Where its pretrained layers are (paths.run_dir of its jobs)."""
        if self.sweep is None:
            return layout.run_dir(self.preset, self.model, self.dataset, self.seed)
        return layout.sweep_stack_dir(self.preset, self.sweep, self.dataset, self.pre, self.seed)

    @property
    def run_dir(self) -> str:
        """Where its fine-tuning or training writes (hydra.run.dir)."""
        if self.fine is None:
            return self.stack_dir
        return layout.sweep_point_dir(self.preset, self.sweep, self.dataset, self.pre, self.seed, self.fine)


class Plan:
    """The workflow's settings checked, and everything its rules ask, for one Snakemake ``config``."""

    def __init__(self, config: dict):
        self.config = config = dict(config)
        config["seeds"] = [int(seed) for seed in config["seeds"]]
        config["threads"] = {model: int(count) for model, count in config["threads"].items()}
        config["cap_cores_at_machine"] = flag(config["cap_cores_at_machine"])
        config["partial_tutorial_table"] = flag(config["partial_tutorial_table"])
        self.seeds = config["seeds"]
        self.first_seed = self.seeds[0]
        self.python = shlex.quote(sys.executable)

        self.models = available("model")
        self.presets = available("preset")
        if config["preset"] not in self.presets:
            raise ConfigError(f"config preset={config['preset']!r} is not one of {self.presets} (conf/preset/)")
        self.tables: dict[str, list[str]] = {}
        for model in self.models:
            self.tables.setdefault(self.table_of(model), []).append(model)
        self.hmc_targets = available("hmc_target")
        self.music_variants = available("rnnrbm_variant")
        self.sweeps = available("sweep")

        kinds = {name: self.data_kind(name) for name in available("data")}
        self.image_datasets = [name for name, kind in kinds.items() if kind == "images"]
        self.piano_roll_datasets = [name for name, kind in kinds.items() if kind == "piano_roll"]
        self.music_tables = {layout.music_table_name(name): name for name in self.piano_roll_datasets}
        self.other_image_datasets = [name for name in self.image_datasets if name != TUTORIAL_DATASET]
        self.binarized_from = {name: source for name in self.image_datasets
                               if (source := self.data_section(name).get("binarized_from")) is not None}
        self.downloaded_image_datasets = [name for name in self.image_datasets if name not in self.binarized_from]
        # {folder} of results/{folder}...: the preset and dataset it names ("" for the paper preset on MNIST)
        self.folders = {layout.folder(preset, dataset): (preset, dataset)
                        for preset in self.presets for dataset in self.image_datasets}
        self.preset_folders = {layout.folder(preset): preset for preset in self.presets}
        self._check_datasets()
        self._check_lists()
        self.model_override_list = [o for o in config["overrides"] if override_section(o) not in
                                    HMC_ONLY + LIKELIHOOD_ONLY and not chooses_dataset(o)]
        self.hmc_override_list = [o for o in config["overrides"] if override_section(o) in HMC_ONLY + SHARED]
        self.likelihood_override_list = [o for o in config["overrides"]
                                         if override_section(o) in LIKELIHOOD_ONLY + SHARED]
        self.music_override_list = [o for o in config["overrides"] if override_section(o) in SHARED] + \
            config["rnnrbm_overrides"]
        # the image models' dataset of the default target: the last `data=<name>` override, else MNIST
        self.dataset = ([TUTORIAL_DATASET] + [o.split("=", 1)[1] for o in config["overrides"]
                                              if chooses_dataset(o)])[-1]
        if self.dataset not in self.image_datasets:
            raise ConfigError(f"config overrides: data={self.dataset} is not one of the image datasets "
                              f"{self.image_datasets} (conf/data/, or data/ in the folder ${USER_CONFIG_ENV})")

    # -- what the download jobs get beyond their arguments -------------------------------------------------------------

    @property
    def mirror_env(self) -> str:
        """The data stages' mirror, through the environment (not a parameter: moving it reruns nothing)."""
        mirror = self.config["data_mirror"]
        return f"DLTUTORIALS_DATA_MIRROR={shlex.quote(mirror)} " if mirror else ""

    # -- checks ------------------------------------------------------------------------------------------------

    def _check_datasets(self) -> None:
        for name, source in self.binarized_from.items():
            if source not in self.image_datasets or source in self.binarized_from:
                raise ConfigError(f"data={name}: binarized_from {source!r} is not one of the downloaded image "
                                  f"datasets {self.downloaded_image_datasets}")
        reserved = [*RESULTS_FOLDERS, *self.music_tables]
        for name in self.other_image_datasets:
            if not re.fullmatch(r"[a-z0-9_]+", name) or name in self.presets or name in reserved:
                raise ConfigError(f"data={name}: an image dataset's name is lower-case letters, digits and _, and "
                                  f"not one of the presets {self.presets} or {reserved}: rename data/{name}.yaml")

    def _check_lists(self) -> None:
        config = self.config
        for variant in config["rnnrbm_variants"]:
            if variant not in self.music_variants:
                raise ConfigError(f"config rnnrbm_variants: {variant!r} is not one of {self.music_variants} "
                                  f"(conf/rnnrbm_variant/)")
        all_tables = sorted([*self.tables, *SAMPLER_TABLES, *self.music_tables])
        for table in config["models"]:
            if table not in all_tables:
                raise ConfigError(f"config models: {table!r} is not one of {all_tables}"
                                  f" (conf/model/, conf/comparison/model/, hmc, or rnnrbm)")
        for target in config["hmc_targets"]:
            if target not in self.hmc_targets:
                raise ConfigError(f"config hmc_targets: {target!r} is not one of {self.hmc_targets} "
                                  f"(conf/hmc_target/)")
        for model in [*config["threads"], *config["start_first"]]:
            if model != "default" and model not in self.models:
                raise ConfigError(f"config threads/start_first: {model!r} is not one of {self.models}"
                                  f" (conf/model/, conf/comparison/model/)")

    # -- the configs as written --------------------------------------------------------------------------------

    @functools.cache
    def model_section(self, model: str) -> dict:
        """A model's config section as written in conf/model/ or conf/comparison/model/ (no preset or override)."""
        return composed([f"model={model}"])["model"]

    def table_of(self, model: str) -> str:
        """The table a model's runs go to: its own name, or the model config's `table` (both dA runs -> da)."""
        return self.model_section(model).get("table", model)

    @functools.cache
    def data_section(self, name: str) -> dict:
        """A dataset's config section as written in conf/data/ (no preset or override)."""
        return composed([f"data={name}"])["data"]

    def data_kind(self, name: str) -> str:
        """images or piano_roll; a dataset's files go to results/data/<name>/, so data.name must be that name."""
        data = self.data_section(name)
        if data.get("name") != name:
            raise ConfigError(f"data={name}: data.name must be {name!r} (the config's file name), "
                              f"got {data.get('name')!r}")
        return data.get("kind", "images")

    def downloaded(self, dataset: str) -> str:
        """What a dataset's preparation reads: its download (an archive of images, or a folder of MIDI files)."""
        if dataset in self.piano_roll_datasets:
            return f"{layout.RESULTS}/data/{dataset}/midi"
        return f"{layout.RESULTS}/data/{dataset}/{dataset}.pkl.gz"

    def preparation_settings(self, dataset: str) -> str:
        """The settings a piano-roll dataset's preparation depends on beyond its download: its frames."""
        return self.music_data_settings(dataset, ("dt", "note_range", "skip_bad_files", "frames_per_quarter_note",
                                                  "minor_key"))

    # -- jobs' resources ---------------------------------------------------------------------------------------

    def job_threads(self, model: str) -> int:
        """Threads of a model's training and pretraining jobs (config `threads`)."""
        return self.config["threads"].get(model, self.config["threads"]["default"])

    def job_priority(self, model: str) -> int:
        """The models of config `start_first` first, in that order."""
        order = self.config["start_first"]
        return len(order) - order.index(model) if model in order else 0

    @staticmethod
    def job_gpus(plain: dict) -> int:
        """One GPU when a job's resolved config's trainer asks for one (overrides=[trainer=gpu]), else none."""
        return 1 if plain["trainer"]["accelerator"] in ("gpu", "cuda") else 0

    # -- image models' runs (supervised, layer-wise, sweeps) ---------------------------------------------------

    def run_pattern(self, kind: str) -> str:
        """The regex of an image run's folder under results/runs/: `model` (a model's run), `stack` (a model's
        run or a sweep's stack of layers), `run` (a model's run or a sweep point's fine-tuning)."""
        presets, datasets = alternatives(self.presets), alternatives(self.other_image_datasets)
        of_model = rf"(?:{alternatives(self.models)})/(?:(?:{datasets})/)?seed\d+"
        stack = rf"sweeps/(?:{alternatives(self.sweeps)})/(?:(?:{datasets})/)?pre{SWEEP_VALUE}/seed\d+"
        tails = {"model": of_model, "stack": f"{of_model}|{stack}", "run": f"{of_model}|{stack}/fine{SWEEP_VALUE}"}
        return f"(?:{presets})/(?:{tails[kind]})"

    @functools.cache
    def image_run(self, name: str) -> ImageRun:
        """The run of a folder under results/runs/ (see ``run_pattern``)."""
        datasets = alternatives(self.other_image_datasets)
        match = re.fullmatch(rf"(?P<preset>[^/]+)/(?:sweeps/(?P<sweep>[^/]+)|(?P<model>[^/]+))/"
                             rf"(?:(?P<dataset>{datasets})/)?(?:pre(?P<pre>[^/]+)/)?seed(?P<seed>\d+)"
                             rf"(?:/fine(?P<fine>[^/]+))?", name)
        if match is None or (match["sweep"] is None) != (match["pre"] is None) or \
                (match["fine"] is not None and match["sweep"] is None):
            raise ConfigError(f"results/runs/{name} is not the folder of an image model's run")
        parts = match.groupdict()
        dataset = parts["dataset"] or TUTORIAL_DATASET
        model = parts["model"] or self.sweep_config(parts["sweep"], parts["preset"])["model"]
        return ImageRun(parts["preset"], model, dataset, int(parts["seed"]), parts["sweep"], parts["pre"],
                        parts["fine"])

    def run_config(self, run: ImageRun) -> dict:
        """The resolved config of a run (of its stack alone for a sweep's stack), validated: a bad value stops the
        DAG here. The same for every seed (a job's seed reaches it on its command line)."""
        return self._run_config(run.model, run.preset, run.dataset, run.sweep, run.pre, run.fine)

    @functools.cache
    def _run_config(self, model: str, preset: str, dataset: str, sweep: str | None, pre: str | None,
                    fine: str | None) -> dict:
        run = ImageRun(preset, model, dataset, 0, sweep, pre, fine)
        point = self.sweep_point(run)
        try:
            plain = composed([*self.model_override_list, f"model={run.model}", f"preset={run.preset}",
                              f"data={run.dataset}", *point], check=hydra_configs.validate)
            if run.sweep is not None:
                check_sweep_point(plain, self.sweep_config(run.sweep, run.preset))
            return plain
        except ConfigError as error:
            where = f"sweep={run.sweep} preset={run.preset} data={run.dataset} {' '.join(point)}" if run.sweep \
                else f"model={run.model} preset={run.preset} data={run.dataset}"
            raise ConfigError(f"{where}: {error}") from None

    def job_arguments(self, run: ImageRun, writes_run_dir: bool = False) -> str:
        """The Hydra arguments that name a run (the user's overrides and a sweep point's come after them)."""
        arguments = [f"model={run.model}", f"preset={run.preset}", f"data={run.dataset}", f"seed={run.seed}"]
        if run.sweep is not None:
            arguments.append(f"paths.run_dir={run.stack_dir}")
        if writes_run_dir:
            arguments.append(f"hydra.run.dir={run.run_dir}")
        return quoted(arguments)

    def point_arguments(self, run: ImageRun) -> str:
        """A sweep run's grid point as Hydra overrides (given after the user's), or nothing."""
        return quoted(self.sweep_point(run))

    def n_pretrained_layers(self, run: ImageRun) -> int:
        model = self.run_config(run)["model"]
        return len(model["hidden_sizes"]) if "pretrain" in model else 0

    def layer_dirs(self, run: ImageRun) -> list[str]:
        """The folder of each pretrained layer of a run: its own, or another run's for the layers it stacks on
        (model.pretrain.stack_on, whose sizes are checked here against that model's)."""
        n_layers = self.n_pretrained_layers(run)
        below = self.run_config(run)["model"]["pretrain"].get("stack_on") if n_layers else None
        if below:
            sizes = self.run_config(ImageRun(run.preset, below["model"], below["data"], run.seed))["model"].get(
                "hidden_sizes") or []
            if sizes[:below["layers"]] != self.run_config(run)["model"]["hidden_sizes"][:below["layers"]]:
                raise ConfigError(f"model={run.model}: model.pretrain.stack_on takes the first {below['layers']} "
                                  f"layers of model={below['model']}, whose sizes {sizes[:below['layers']]} are not "
                                  f"the first of model.hidden_sizes {self.run_config(run)['model']['hidden_sizes']}")
        return layout.stack_layer_dirs(run.stack_dir, n_layers, below, run.preset, run.seed)

    def layer_files(self, run: ImageRun) -> list[str]:
        """Every pretrained layer a run starts from (none for a model without pretraining)."""
        return [f"{folder}/layer.pt" for folder in self.layer_dirs(run)]

    def prepared_data(self, run: ImageRun) -> list[str]:
        data_dir = self.run_config(run)["data"]["prepared_dir"]
        return [f"{data_dir}/{split}.npz" for split in SPLITS]

    def layer_input(self, run: ImageRun, k: int) -> str:
        """Layer 1 learns from the prepared training split, layer k from layer k-1's codes."""
        return self.prepared_data(run)[0] if k == 1 else f"{self.layer_dirs(run)[k - 2]}/codes.npy"

    def training_fingerprint(self, run: ImageRun) -> str:
        return fingerprints.as_text(fingerprints.training_settings(self.run_config(run)))

    def layer_fingerprint(self, run: ImageRun, k: int) -> str:
        return fingerprints.as_text(fingerprints.layer_settings(self.run_config(run), k))

    def run_result(self, run: ImageRun) -> str:
        """The file that marks a finished run: metrics.json, or the top layer of a pretraining-only model."""
        if "module" in self.run_config(run)["model"]:
            return f"{run.run_dir}/metrics.json"
        return self.layer_files(run)[-1]

    # -- tables ------------------------------------------------------------------------------------------------

    def all_tables(self) -> list[str]:
        return [*self.tables, *SAMPLER_TABLES, *self.music_tables]

    def table_folder(self, table: str, folder: str) -> tuple[str, str]:
        """(preset, dataset) of a table in results/<folder>; HMC and music tables name no image dataset."""
        preset, dataset = self.folders[folder]
        if table not in self.tables and dataset != TUTORIAL_DATASET:
            raise ConfigError(f"results/{folder}{table}.csv: the {table} table names no image dataset "
                              f"(results/{layout.folder(preset)}{table}.csv)")
        return preset, dataset

    def image_runs(self, table: str, preset: str, dataset: str) -> list[ImageRun]:
        """Every run of an image model's table: each member model (e.g. both dA runs of da), each seed."""
        return [ImageRun(preset, model, dataset, seed) for model in self.tables[table] for seed in self.seeds]

    def table_runs(self, table: str, folder: str) -> list[dict]:
        """Every run a table collects: each member model (or HMC target, or RNN-RBM variant), each seed."""
        preset, dataset = self.table_folder(table, folder)
        if table in SAMPLER_TABLES:
            return self.hmc_runs(preset)
        if table in self.music_tables:
            return self.music_runs(table, preset)
        return [{"model": run.model, "preset": preset, "seed": run.seed,
                 "dataset": self.run_config(run)["data"]["name"], "run_dir": run.run_dir}
                for run in self.image_runs(table, preset, dataset)]

    def table_inputs(self, table: str, folder: str) -> list[str]:
        preset, dataset = self.table_folder(table, folder)
        if table in self.music_tables:  # each run measured on whole tunes (its likelihood.json) beside its training
            return [f"{run['run_dir']}/{result}" for run in self.table_runs(table, folder)
                    for result in ("metrics.json", "likelihood.json")]
        if table not in self.tables:
            return [f"{run['run_dir']}/metrics.json" for run in self.table_runs(table, folder)]
        return [self.run_result(run) for run in self.image_runs(table, preset, dataset)]

    def table_path(self, table: str, preset: str, dataset: str) -> str:
        folder = layout.folder(preset, dataset if table in self.tables else TUTORIAL_DATASET)
        return layout.table(folder, table)

    # -- figures -----------------------------------------------------------------------------------------------

    def figure_paths(self, table: str, preset: str, dataset: str) -> list[str]:
        """The figures of a table's models: layer figures (model config `figures`), curves, HMC's, music's."""
        if table in SAMPLER_TABLES:
            return [layout.figure(layout.folder(preset), f"hmc_{figure}") for figure in HMC_FIGURES]
        if table in self.music_tables:
            return [layout.figure(layout.folder(preset), f"{table}_{figure}") for figure in MUSIC_FIGURES] + \
                self.music_sample_paths(table, preset)
        folder = layout.folder(preset, dataset)
        return [layout.figure(folder, f"{model}_{figure}") for model in self.tables[table]
                for figure in self.run_config(ImageRun(preset, model, dataset, self.first_seed))["model"]
                .get("figures", [])] + \
            [layout.figure(folder, f"{table}_{curve}") for curve in self.curve_kinds(table, preset, dataset)]

    def figure_run(self, model: str, folder: str) -> ImageRun:
        """The run a layer figure is drawn from: the first seed's."""
        preset, dataset = self.folders[folder]
        return ImageRun(preset, model, dataset, self.first_seed)

    def figure_fingerprint(self, model: str, folder: str, figure: str) -> str:
        plain = self.run_config(self.figure_run(model, folder))
        return fingerprints.as_text(fingerprints.figure_settings(plain, figure))

    def curve_kinds(self, table: str, preset: str, dataset: str) -> list[str]:
        """learning (validation error per epoch) for supervised runs, pretraining (cost per epoch) for layers."""
        if table not in self.tables:
            return []
        runs = [ImageRun(preset, model, dataset, self.first_seed) for model in self.tables[table]]
        supervised = any("module" in self.run_config(run)["model"] for run in runs)
        pretrained = any(self.n_pretrained_layers(run) for run in runs)
        return [kind for kind, has in zip(CURVES, (supervised, pretrained)) if has]

    def curve_inputs(self, table: str, folder: str, curve: str) -> list[str]:
        runs = self.image_runs(table, *self.folders[folder])
        if curve == "learning":
            return [f"{run.run_dir}/metrics.json" for run in runs]
        return [path for run in runs for path in self.layer_files(run)]

    def curve_run_dirs(self, table: str, folder: str) -> list[str]:
        return [run["run_dir"] for run in self.table_runs(table, folder)]

    @functools.cache
    def classifier_tables(self) -> list[str]:
        """Every table whose runs end with a test error: the headline figure reads them all, whatever `models`
        says, so that a run of some models never redraws it with only theirs."""
        return [table for table, models in self.tables.items()
                if any("module" in self.model_section(model) for model in models)]

    def headline_inputs(self, folder: str) -> list[str]:
        return [layout.table(folder, table) for table in self.classifier_tables()]

    def headline_paths(self, preset: str, dataset: str) -> list[str]:
        """The default target's headline figure: when `models` has every classifier's table."""
        if not set(self.classifier_tables()) <= set(self.config["models"]):
            return []
        return [layout.figure(layout.folder(preset, dataset), "headline")]

    def report_category(self, wildcards) -> str:
        """The report's chapter of a table or figure, from whichever of its wildcards names the model."""
        if "sweep" in wildcards.keys():
            return CHAPTERS[self.table_of(self.sweep_config(wildcards.sweep, self.folders[wildcards.folder][0])
                                          ["model"])]
        if "hmc_figure" in wildcards.keys():
            return CHAPTERS["hmc"]
        name = wildcards.get("table") or wildcards.get("music_table") or wildcards.get("likelihood_table") \
            or self.table_of(wildcards.get("model"))
        if name in self.music_tables:
            return CHAPTERS["rnnrbm"]
        return CHAPTERS.get(name, name)

    # -- hybrid Monte-Carlo ------------------------------------------------------------------------------------

    @functools.cache
    def hmc_config(self, target: str, preset: str) -> dict:
        """The resolved config of one HMC run (conf/hmc.yaml), validated."""
        try:
            return composed([*self.hmc_override_list, f"hmc_target={target}", f"preset={preset}"], "hmc",
                            hydra_configs.validate_hmc)
        except ConfigError as error:
            raise ConfigError(f"hmc_target={target} preset={preset}: {error}") from None

    def hmc_fingerprint(self, target: str, preset: str) -> str:
        return fingerprints.as_text(fingerprints.sampling_settings(self.hmc_config(target, preset)))

    def hmc_runs(self, preset: str) -> list[dict]:
        """Every HMC run of the table: each target of config `hmc_targets`, each seed."""
        return [{"model": "hmc", "target": target, "preset": preset, "seed": seed,
                 "run_dir": layout.hmc_run_dir(preset, target, seed)}
                for target in self.config["hmc_targets"] for seed in self.seeds]

    def hmc_figure_inputs(self, folder: str) -> list[str]:
        preset = self.preset_folders[folder]
        return [f"{layout.hmc_run_dir(preset, target, self.first_seed)}/draws.npz"
                for target in self.config["hmc_targets"]]

    # -- the RNN-RBM -------------------------------------------------------------------------------------------

    @functools.cache
    def music_config(self, dataset: str, preset: str, variant: str) -> dict:
        """The resolved config of one RNN-RBM run (conf/rnnrbm.yaml), validated."""
        try:
            return composed([*self.music_override_list, f"data={dataset}", f"preset={preset}",
                             f"rnnrbm_variant={variant}"], "rnnrbm", hydra_configs.validate_music)
        except ConfigError as error:
            raise ConfigError(f"rnnrbm data={dataset} preset={preset} rnnrbm_variant={variant}: {error}") from None

    def music_fingerprint(self, dataset: str, preset: str, variant: str) -> str:
        return fingerprints.as_text(fingerprints.music_settings(self.music_config(dataset, preset, variant)))

    def music_pretraining_fingerprint(self, dataset: str, preset: str, variant: str) -> str:
        plain = self.music_config(dataset, preset, variant)
        return fingerprints.as_text(fingerprints.music_pretraining_settings(plain))

    def music_prepared_data(self, dataset: str, preset: str, variant: str) -> list[str]:
        prepared = self.music_config(dataset, preset, variant)["data"]["prepared_dir"]
        return [f"{prepared}/{split}.npz" for split in SPLITS]

    def music_pretrained_rbm(self, dataset: str, preset: str, variant: str, seed: int) -> list[str]:
        """The RBM a run starts from (model.pretrain_rbm), or nothing."""
        if self.music_config(dataset, preset, variant)["model"]["pretrain_rbm"] is None:
            return []
        return [f"{layout.music_run_dir(preset, dataset, variant, seed)}/rbm/layer.pt"]

    def music_data_settings(self, dataset: str, keys: tuple[str, ...]) -> str:
        """A piano-roll dataset's settings that its download or preparation depends on."""
        data = self.music_config(dataset, PAPER, "tutorial")["data"]
        return fingerprints.as_text({key: data.get(key) for key in keys})

    def music_runs(self, table: str, preset: str) -> list[dict]:
        """Every RNN-RBM run of a table: its dataset, each variant of config rnnrbm_variants, each seed."""
        dataset = self.music_tables[table]
        return [{"model": "rnnrbm", "preset": preset, "seed": seed, "dataset": dataset, "variant": variant,
                 "run_dir": layout.music_run_dir(preset, dataset, variant, seed)}
                for variant in self.config["rnnrbm_variants"] for seed in self.seeds]

    def music_figure_inputs(self, table: str, folder: str, figure: str) -> list[str]:
        """samples: the first seed's run (and the test tune drawn beside it); monitor: every seed's run;
        statistics: every variant's first-seed run, its samples, and the test tunes they are set beside."""
        preset = self.preset_folders[folder]
        runs = self.music_runs(table, preset)
        dataset = self.music_tables[table]
        if figure == "samples":
            test = self.music_prepared_data(dataset, preset, runs[0]["variant"])[2]
            return [f"{runs[0]['run_dir']}/metrics.json", test]
        if figure == "statistics":
            firsts = [run for run in runs if run["seed"] == self.first_seed]
            tests = [self.music_prepared_data(dataset, preset, run["variant"])[2] for run in firsts]
            return [f"{run['run_dir']}/{result}" for run in firsts for result in ("metrics.json", "samples.npz")] + \
                list(dict.fromkeys(tests))  # every variant's key is in the one file: named once
        return [f"{run['run_dir']}/metrics.json" for run in runs]

    @functools.cache
    def sample_folders(self) -> dict[str, tuple[str, str, str]]:
        """Folder of generated tunes under results/ -> (table, preset, variant)."""
        folders = {}
        for table in self.music_tables:
            for preset in self.presets:
                for position, variant in enumerate(self.config["rnnrbm_variants"]):
                    folders[layout.music_samples_folder(preset, table, variant, position == 0)] = \
                        (table, preset, variant)
        return folders

    def sample_source(self, folder: str) -> str:
        table, preset, variant = self.sample_folders()[folder]
        run = next(run for run in self.music_runs(table, preset) if run["variant"] == variant)
        return f"{run['run_dir']}/metrics.json"

    def music_sample_paths(self, table: str, preset: str) -> list[str]:
        """The first seed's generated tunes beside the table, each variant's in its folder."""
        paths = []
        for position, variant in enumerate(self.config["rnnrbm_variants"]):
            n_samples = self.music_config(self.music_tables[table], preset, variant)["generation"]["n_samples"]
            folder = layout.music_samples_folder(preset, table, variant, position == 0)
            paths += [f"{layout.RESULTS}/{folder}/sample{i}.mid" for i in range(1, n_samples + 1)]
        return paths

    # -- sweeps ------------------------------------------------------------------------------------------------

    @functools.cache
    def sweep_config(self, sweep: str, preset: str) -> dict:
        """A sweep's model and axes (conf/sweep.yaml with the preset's grid), validated."""
        try:
            return composed([f"sweep={sweep}", f"preset={preset}"], "sweep", hydra_configs.validate_sweep)
        except ConfigError as error:
            raise ConfigError(f"sweep={sweep} preset={preset}: {error}") from None

    def sweep_columns(self, sweep: str, folder: str) -> list[str]:
        """The table's columns of the two axes: pretrain_<setting>, finetune_<setting>."""
        grid = self.sweep_config(sweep, self.folders[folder][0])
        return [f"{axis}_{grid[axis]['key'].rsplit('.', 1)[-1]}" for axis in ("pretrain", "finetune")]

    def sweep_point(self, run: ImageRun) -> list[str]:
        """A sweep run's Hydra overrides, from the values its path names (pre<x>, fine<y>); none for a model's."""
        if run.sweep is None:
            return []
        grid, overrides = self.sweep_config(run.sweep, run.preset), []
        for axis, label in (("pretrain", run.pre), ("finetune", run.fine)):
            if label is None:
                continue
            values = {sweep_label(value): value for value in grid[axis]["values"]}
            if label not in values:
                raise ConfigError(f"sweep={run.sweep} preset={run.preset}: {label} is not one of "
                                  f"sweep.{axis}.values {list(values)}")
            overrides.append(f"{grid[axis]['key']}={values[label]!r}")
        return overrides

    def sweep_points(self, sweep: str, folder: str) -> list[dict]:
        """Every run of a sweep's table: each grid point, each seed, in the grid's order."""
        preset, dataset = self.folders[folder]
        grid, columns = self.sweep_config(sweep, preset), self.sweep_columns(sweep, folder)
        return [{"sweep": sweep, columns[0]: pre, columns[1]: fine, "seed": seed,
                 "run_dir": layout.sweep_point_dir(preset, sweep, dataset, sweep_label(pre), seed, sweep_label(fine))}
                for pre in grid["pretrain"]["values"] for fine in grid["finetune"]["values"] for seed in self.seeds]

    # -- likelihoods -------------------------------------------------------------------------------------------

    @functools.cache
    def likelihood_config(self, preset: str) -> dict:
        """The resolved likelihood settings of a preset (conf/likelihood.yaml), validated."""
        try:
            return composed([*self.likelihood_override_list, f"preset={preset}"], "likelihood",
                            hydra_configs.validate_likelihood)
        except ConfigError as error:
            raise ConfigError(f"likelihood preset={preset}: {error}") from None

    def likelihood_models(self, preset: str) -> dict[str, str]:
        """{model: dataset it trains on}: conf/likelihood.yaml's `models`, or those of config
        `likelihood_models` among them."""
        models = self.likelihood_config(preset)["models"]
        for model in self.config["likelihood_models"]:
            if model not in models:
                raise ConfigError(f"config likelihood_models: {model!r} is not one of {list(models)} "
                                  f"(models in conf/likelihood.yaml)")
        chosen = {model: models[model] for model in self.config["likelihood_models"] or models}
        for model, dataset in chosen.items():
            if model not in self.models or dataset not in self.image_datasets:
                raise ConfigError(f"conf/likelihood.yaml models.{model}: {dataset}: the model must be one of "
                                  f"{self.models} (conf/model/, conf/comparison/model/) and the dataset one of "
                                  f"{self.image_datasets} (conf/data/)")
        return chosen

    def likelihood_table_inputs(self, name: str, folder: str) -> list[str]:
        """The likelihood.json of every run of results/<folder><name>_likelihood.csv: the RBMs' (name rbm), or
        a music table's runs."""
        preset = self.preset_folders[folder]
        if name in self.music_tables:
            return [f"{run['run_dir']}/likelihood.json" for run in self.music_runs(name, preset)]
        return [f"{ImageRun(preset, model, dataset, seed).run_dir}/likelihood.json"
                for model, dataset in self.likelihood_models(preset).items() for seed in self.seeds]

    def likelihood_layers(self, run: ImageRun) -> list[str]:
        """What a run's estimate reads: every layer of its stack, and the codes the top RBM models (a DBN's).
        Refused (ConfigError) before any job when there is nothing to measure: a model without RBM layers, or
        one trained on data of another size than the likelihood's data."""
        plain, measured = self.run_config(run), self.likelihood_config(run.preset)["data"]
        layer = (plain["model"].get("pretrain") or {}).get("layer") or {}
        if layer.get("_target_") != "dltutorials.models.rbm.RBM":
            raise ConfigError(f"{run.run_dir}: model={run.model} has no RBM layers, and AIS measures an RBM or a "
                              f"stack of RBMs")
        if plain["data"]["n_features"] != measured["n_features"]:
            raise ConfigError(f"{run.run_dir}: model={run.model} trains on data={run.dataset}, "
                              f"{plain['data']['n_features']} visible units, but the likelihoods are measured on "
                              f"data={measured['name']}, {measured['n_features']}")
        layers = self.layer_files(run)
        return layers + [path.replace("layer.pt", "codes.npy") for path in layers[-2:-1]]

    def likelihood_data(self, preset: str) -> list[str]:
        """The splits every log p(v) is measured on (and the base-rate model is fitted to)."""
        data_dir = self.likelihood_config(preset)["data"]["prepared_dir"]
        return [f"{data_dir}/{split}.npz" for split in ("train", "test")]

    def likelihood_curve_runs(self, folder: str) -> list[str]:
        """The likelihood_epochs.csv of every run the per-epoch figure draws: conf/likelihood.yaml's
        curves.models."""
        preset = self.preset_folders[folder]
        plain = self.likelihood_config(preset)
        self.likelihood_models(preset)  # refuses a bad models section before its curves are read
        runs = []
        for model in plain["curves"]["models"]:
            if model not in plain["models"]:
                raise ConfigError(f"conf/likelihood.yaml curves.models: {model!r} is not one of its models "
                                  f"{list(plain['models'])}")
            dataset = plain["models"][model]
            if not self.run_config(ImageRun(preset, model, dataset, self.first_seed))["model"]["pretrain"] \
                    .get("keep_epochs"):
                raise ConfigError(f"conf/likelihood.yaml curves.models: {model} does not keep its epochs' "
                                  f"parameters (model.pretrain.keep_epochs: true in its file in conf/model/ or "
                                  f"conf/comparison/model/)")
            runs += [f"{ImageRun(preset, model, dataset, seed).run_dir}/likelihood_epochs.csv" for seed in self.seeds]
        return runs

    def likelihood_fingerprint(self, preset: str, schedule: str = "ais") -> str:
        """What an estimate depends on: the data, AIS's settings (the schedule of ``curves`` for the per-epoch
        ones), the exact sum's limit and the device."""
        return fingerprints.as_text(fingerprints.likelihood_settings(self.likelihood_config(preset), schedule))

    def music_likelihood_fingerprint(self, preset: str) -> str:
        return fingerprints.as_text(fingerprints.music_likelihood_settings(self.likelihood_config(preset)))

    # -- the tutorial table and the default target -------------------------------------------------------------

    @functools.cache
    def tutorial_table_sources(self) -> list[str]:
        """The model tables the tutorial table (conf/tutorial_table.yaml) reads."""
        spec = tutorial_table.load_spec()
        return sorted({row["table"] for section in ("reported", "ours_only") for row in spec[section]})

    def tutorial_table_inputs(self, folder: str) -> list[str]:
        """Every table the tutorial table reads, or with config partial_tutorial_table those in `models` only."""
        return [layout.table(folder, table) for table in self.tutorial_table_sources()
                if table in self.config["models"] or not self.config["partial_tutorial_table"]]

    def tutorial_table_targets(self, preset: str) -> list[str]:
        """The default target's tutorial table: when `models` has every table it reads, or a partial one is asked."""
        if self.config["partial_tutorial_table"] or set(self.tutorial_table_sources()) <= set(self.config["models"]):
            return [layout.tutorial_table(preset, ext) for ext in ("csv", "md", "html")]
        return []

    def default_targets(self) -> list[str]:
        """`snakemake` with no target: every table of config `models` and its figures, the headline figure and
        the tutorial table, for config `preset` (on the image models' dataset of `overrides`)."""
        preset, dataset = self.config["preset"], self.dataset
        targets = []
        for table in self.config["models"]:
            targets += [self.table_path(table, preset, dataset), *self.figure_paths(table, preset, dataset)]
        targets += self.headline_paths(preset, dataset)
        if dataset == TUTORIAL_DATASET:
            targets += self.tutorial_table_targets(preset)
        return targets

    # -- wildcard constraints ----------------------------------------------------------------------------------

    def wildcard_constraints(self) -> dict[str, str]:
        """The regex of every wildcard the rules use."""
        folders = alternatives(self.folders)
        return {
            "model": alternatives(self.models),
            "table": alternatives(self.all_tables()),
            "music_table": alternatives(self.music_tables),
            "variant": alternatives(self.music_variants),
            "preset": alternatives(self.presets),
            "seed": r"\d+",
            "layer": r"\d+",
            "target": alternatives(self.hmc_targets),
            "sweep": alternatives(self.sweeps),
            "folder": f"(?:{folders})",
            "preset_folder": f"(?:{alternatives(self.preset_folders)})",
            "figure": alternatives(LAYER_FIGURES),
            "hmc_figure": alternatives(HMC_FIGURES),
            "music_figure": alternatives(MUSIC_FIGURES),
            "curve": alternatives(CURVES),
            "dataset": r"[a-z0-9_]+",
            "run": self.run_pattern("run"),
            "stack": self.run_pattern("stack"),
            "model_run": self.run_pattern("model"),
            "likelihood_table": alternatives(["rbm", *self.music_tables]),
        }
