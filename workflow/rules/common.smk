# Helpers shared by the rules: the Hydra configs are read here (compose API),
# so the DAG follows conf/ and there is one source of truth.

import functools
import re
import shlex
import sys

from dltutorials import fingerprints, tutorial_table
from dltutorials.config import (TUTORIAL_DATASET, USER_CONFIG_ENV, ConfigError, available, check_sweep_point, composed,
                                 dataset_folder, sweep_label, validate as validate_run, validate_hmc, validate_likelihood,
                                 validate_music,
                                 validate_sweep)

# Every job runs the interpreter of the project's virtualenv (`make venv`, pinned by pyproject.toml).
# `snakemake --lint` reports two things about this, on purpose: PYTHON is not a parameter of the
# rules (a virtualenv rebuilt or moved elsewhere must not rerun finished jobs), and no rule names a
# conda environment or container (the one virtualenv is the environment of every job).
# tests/test_workflow.py checks that the lint finds nothing else.
PYTHON = shlex.quote(sys.executable)
FIRST_SEED = config["seeds"][0]
SPLITS = ["train", "valid", "test"]


def options(group):
    """The configs of a group, from conf/ and the user's $DLTUTORIALS_CONFIG_DIR; a bad folder stops the DAG here."""
    try:
        return available(group)
    except ConfigError as error:
        raise WorkflowError(str(error))


MODELS = options("model")
PRESETS = options("preset")

if config["preset"] not in PRESETS:
    raise WorkflowError(f"config preset={config['preset']!r} is not one of {PRESETS} (conf/preset/)")


@functools.cache
def model_section(model):
    """A model's config section as written in conf/model/ (no preset or override): composed once per model."""
    return composed([f"model={model}"])["model"]


def table_of(model):
    """The table a model's runs go to: its own name, or the model config's `table` (e.g. both dA runs -> da)."""
    return model_section(model).get("table", model)


TABLES = {}
for _model in MODELS:
    TABLES.setdefault(table_of(_model), []).append(_model)
# Tables of samplers, not trained models: hybrid Monte-Carlo (conf/hmc.yaml, workflow/rules/hmc.smk).
SAMPLER_TABLES = ["hmc"]
HMC_TARGETS = options("hmc_target")
HMC_FIGURES = ["samples", "adaptation"]
# The RNN-RBM (conf/rnnrbm.yaml, workflow/rules/music.smk) on each piano-roll dataset
# (data.kind in conf/data/): its table is rnnrbm for the tutorial's Nottingham tunes,
# rnnrbm_<dataset> for any other, so results of different datasets never share a file.
@functools.cache
def data_section(name):
    """A dataset's config section as written in conf/data/ (no preset or override)."""
    return composed([f"data={name}"])["data"]


def data_kind(name):
    """images or piano_roll; a dataset's files go to results/data/<name>/, so data.name must be that name."""
    data = data_section(name)
    if data.get("name") != name:
        raise WorkflowError(f"data={name}: data.name must be {name!r} (the config's file name), got {data.get('name')!r}")
    return data.get("kind", "images")


DATA_KINDS = {name: data_kind(name) for name in options("data")}
IMAGE_DATASETS = [name for name, kind in DATA_KINDS.items() if kind == "images"]
PIANO_ROLL_DATASETS = [name for name, kind in DATA_KINDS.items() if kind == "piano_roll"]
MUSIC_TABLES = {("rnnrbm" if name == "nottingham" else f"rnnrbm_{name}"): name for name in PIANO_ROLL_DATASETS}
MUSIC_FIGURES = ["samples", "monitor"]
MUSIC_VARIANTS = options("rnnrbm_variant")
# The image models' paths name any dataset but the tutorial's MNIST (results/<dataset>/, results/<preset>/<dataset>/,
# results/runs/<preset>/<model>/<dataset>/): its name must not be one of a preset or of the pipeline's own folders.
OTHER_IMAGE_DATASETS = [name for name in IMAGE_DATASETS if name != TUTORIAL_DATASET]
# Image datasets made from another one's prepared splits (data.binarized_from, e.g. mnist_binarized): the
# `binarize` rule makes them; every other image dataset is downloaded and prepared.
BINARIZED_FROM = {name: source for name in IMAGE_DATASETS
                  if (source := data_section(name).get("binarized_from")) is not None}
for _name, _source in BINARIZED_FROM.items():
    if _source not in IMAGE_DATASETS or _source in BINARIZED_FROM:
        raise WorkflowError(f"data={_name}: binarized_from {_source!r} is not one of the downloaded image "
                            f"datasets {[n for n in IMAGE_DATASETS if n not in BINARIZED_FROM]}")
DOWNLOADED_IMAGE_DATASETS = [name for name in IMAGE_DATASETS if name not in BINARIZED_FROM]
RESULTS_FOLDERS = ["data", "figures", "hand_runs", "logs", "runs", "sweeps", *MUSIC_TABLES]
for _name in OTHER_IMAGE_DATASETS:
    if not re.fullmatch(r"[a-z0-9_]+", _name) or _name in PRESETS or _name in RESULTS_FOLDERS:
        raise WorkflowError(f"data={_name}: an image dataset's name is lower-case letters, digits and _, and not "
                            f"one of the presets {PRESETS} or {RESULTS_FOLDERS}: rename data/{_name}.yaml")
# The dataset wildcard of the rules whose paths name it ("(?!)" matches nothing: no such dataset).
OTHER_DATASET_PATTERN = "|".join(OTHER_IMAGE_DATASETS) or "(?!)"
for _variant in config["rnnrbm_variants"]:
    if _variant not in MUSIC_VARIANTS:
        raise WorkflowError(f"config rnnrbm_variants: {_variant!r} is not one of {MUSIC_VARIANTS} (conf/rnnrbm_variant/)")
for _table in config["models"]:
    if _table not in TABLES and _table not in SAMPLER_TABLES and _table not in MUSIC_TABLES:
        raise WorkflowError(f"config models: {_table!r} is not one of "
                            f"{sorted([*TABLES, *SAMPLER_TABLES, *MUSIC_TABLES])} (conf/model/, hmc, or rnnrbm)")
for _target in config["hmc_targets"]:
    if _target not in HMC_TARGETS:
        raise WorkflowError(f"config hmc_targets: {_target!r} is not one of {HMC_TARGETS} (conf/hmc_target/)")


for _model in [*config["threads"], *config["start_first"]]:
    if _model != "default" and _model not in MODELS:
        raise WorkflowError(f"config threads/start_first: {_model!r} is not one of {MODELS} (conf/model/)")


def job_threads(model):
    """Threads of a model's training and pretraining jobs (config `threads`)."""
    return config["threads"].get(model, config["threads"]["default"])


def job_priority(model):
    """Snakemake priority of a model's jobs: the models in config `start_first` first, in that order."""
    order = config["start_first"]
    return len(order) - order.index(model) if model in order else 0


def job_gpus(plain):
    """GPUs of a job (Snakemake's `gpu` resource): one when its resolved config's trainer asks for a GPU
    (overrides=[trainer=gpu]), else none. The SLURM executor asks SLURM for them (`sbatch --gpus=1`,
    workflow/profiles/slurm); a local run counts them against `--resources gpu=<n>` when that is given."""
    return 1 if plain["trainer"]["accelerator"] in ("gpu", "cuda") else 0


# The mirror reaches the data stages through the environment, not as a parameter
# (`snakemake --lint` notes it): where a file came from must not make Snakemake redo
# it (its checksum is checked either way).
MIRROR_ENV = f"DLTUTORIALS_DATA_MIRROR={shlex.quote(config['data_mirror'])} " if config["data_mirror"] else ""


# Extra Hydra overrides of every run reach the jobs through the command line,
# not as parameters of the rules (`snakemake --lint` notes OVERRIDES, HMC_OVERRIDES, LIKELIHOOD_OVERRIDES and
# MUSIC_OVERRIDES); what they change is in the fingerprints, so only the
# jobs whose settings they change rerun. Each goes where its key is: sampler,
# chains and dtype to the HMC runs (conf/hmc.yaml), trainer to both, the rest
# to the models (conf/config.yaml); ais, curves, exact_max_hidden and reported to the likelihood jobs
# (conf/likelihood.yaml); `data=<name>` picks the models' dataset (below).
def _section(override):
    return override.lstrip("+~").split("=")[0].split(".")[0]


def _chooses_dataset(override):
    return override.lstrip("+").split("=")[0] == "data"


HMC_ONLY, SHARED = ("sampler", "chains", "dtype"), ("trainer",)
LIKELIHOOD_ONLY = ("ais", "curves", "exact_max_hidden", "reported")
MODEL_OVERRIDE_LIST = [o for o in config["overrides"]
                       if _section(o) not in HMC_ONLY + LIKELIHOOD_ONLY and not _chooses_dataset(o)]
HMC_OVERRIDE_LIST = [o for o in config["overrides"] if _section(o) in HMC_ONLY + SHARED]
LIKELIHOOD_OVERRIDE_LIST = [o for o in config["overrides"] if _section(o) in LIKELIHOOD_ONLY + SHARED]
LIKELIHOOD_OVERRIDES = " ".join(shlex.quote(o) for o in LIKELIHOOD_OVERRIDE_LIST)
OVERRIDES = " ".join(shlex.quote(o) for o in MODEL_OVERRIDE_LIST)
HMC_OVERRIDES = " ".join(shlex.quote(o) for o in HMC_OVERRIDE_LIST)
# The RNN-RBM's own overrides (config rnnrbm_overrides), after the shared trainer ones.
MUSIC_OVERRIDE_LIST = [o for o in config["overrides"] if _section(o) in SHARED] + config["rnnrbm_overrides"]
MUSIC_OVERRIDES = " ".join(shlex.quote(o) for o in MUSIC_OVERRIDE_LIST)

# The image models' dataset: the last `data=<name>` of the overrides, else the tutorial's MNIST. It only picks
# what the default target builds: the dataset is a wildcard of the image models' rules and each job gets
# data=<dataset>, so datasets build side by side (results/tiny/mlp.csv beside results/tiny/<dataset>/mlp.csv).
DATASET = ([TUTORIAL_DATASET] + [o.split("=", 1)[1] for o in config["overrides"] if _chooses_dataset(o)])[-1]
if DATASET not in IMAGE_DATASETS:
    raise WorkflowError(f"config overrides: data={DATASET} is not one of the image datasets {IMAGE_DATASETS} "
                        f"(conf/data/, or data/ in the folder ${USER_CONFIG_ENV})")


def dataset_of(wildcards):
    """The dataset of an image model's job: its `dataset` wildcard; MNIST's paths have none."""
    return wildcards.get("dataset", TUTORIAL_DATASET)


@functools.cache
def run_config(model, preset, dataset):
    """The resolved Hydra config of one run as a dict (validated: bad values stop the DAG here)."""
    try:
        return composed([*MODEL_OVERRIDE_LIST, f"model={model}", f"preset={preset}", f"data={dataset}"],
                        check=validate_run)
    except ConfigError as error:
        raise WorkflowError(f"model={model} preset={preset} data={dataset}: {error}")


# What each kind of job's numbers depend on is defined once, in dltutorials.fingerprints.
def training_fingerprint(model, preset, dataset):
    return fingerprints.as_text(fingerprints.training_settings(run_config(model, preset, dataset)))


def layer_fingerprint(model, preset, dataset, k):
    return fingerprints.as_text(fingerprints.layer_settings(run_config(model, preset, dataset), k))


def figure_fingerprint(model, preset, dataset, figure):
    return fingerprints.as_text(fingerprints.figure_settings(run_config(model, preset, dataset), figure))


def n_pretrained_layers(model, preset, dataset):
    cfg = run_config(model, preset, dataset)["model"]
    return len(cfg["hidden_sizes"]) if "pretrain" in cfg else 0


def pretrained_layer_files(model, preset, dataset, seed):
    layers = range(1, n_pretrained_layers(model, preset, dataset) + 1)
    return [f"{run_dir(model, preset, dataset, seed)}/layer{k}/layer.pt" for k in layers]


def layer_input(model, preset, dataset, seed, k):
    """Layer 1 learns from the prepared training split, layer k from layer k-1's codes."""
    if k == 1:
        return prepared_data(model, preset, dataset)[0]
    return f"{run_dir(model, preset, dataset, seed)}/layer{k - 1}/codes.npy"


def prepared_data(model, preset, dataset):
    data_dir = run_config(model, preset, dataset)["data"]["prepared_dir"]
    return [f"{data_dir}/{split}.npz" for split in SPLITS]


def run_dir(model, preset, dataset, seed):
    """results/runs/<preset>/<model>/[<dataset>/]seed<N>, as paths.run_dir in conf/paths/default.yaml."""
    return f"results/runs/{preset}/{model}/{dataset_folder(dataset)}seed{seed}"


def results_folder(table, preset, dataset):
    """Where a table and its figures go: results/, then <preset>/ for a preset other than paper, then <dataset>/
    for an image model's table on a dataset other than MNIST (HMC and music tables name no image dataset)."""
    return image_results_folder(preset, dataset) if table in TABLES else image_results_folder(preset, TUTORIAL_DATASET)


def image_results_folder(preset, dataset):
    """results/[<preset>/][<dataset>/] of an image model's table and figures."""
    return ("results/" if preset == "paper" else f"results/{preset}/") + dataset_folder(dataset)


def table_path(table, preset, dataset):
    """results/[<preset>/][<dataset>/]<table>.csv"""
    return f"{results_folder(table, preset, dataset)}{table}.csv"


def figure_paths(table, preset, dataset):
    """Figures of a table's models (model config `figures`): results/[<preset>/][<dataset>/]figures/."""
    folder = f"{results_folder(table, preset, dataset)}figures"
    if table == "hmc":
        return [f"{folder}/hmc_{figure}.png" for figure in HMC_FIGURES]
    if table in MUSIC_TABLES:
        return [f"{folder}/{table}_{figure}.png" for figure in MUSIC_FIGURES] + music_sample_paths(table, preset)
    return [f"{folder}/{model}_{figure}.png" for model in TABLES[table]
            for figure in run_config(model, preset, dataset)["model"].get("figures", [])] \
        + curve_figure_paths(table, preset, dataset)


def table_runs(table, preset, dataset):
    """Every run a table collects: each member model (or HMC target), each seed."""
    if table == "hmc":
        return hmc_runs(preset)
    if table in MUSIC_TABLES:
        return music_runs(table, preset)
    return [{"model": model, "preset": preset, "seed": seed,
             "dataset": run_config(model, preset, dataset)["data"]["name"],
             "run_dir": run_dir(model, preset, dataset, seed)} for model in TABLES[table] for seed in config["seeds"]]


def run_result(model, preset, dataset, seed):
    """The file that marks a finished run: metrics.json, or the top layer of a pretraining-only model."""
    if "module" in run_config(model, preset, dataset)["model"]:
        return f"{run_dir(model, preset, dataset, seed)}/metrics.json"
    return pretrained_layer_files(model, preset, dataset, seed)[-1]


def write_model_table(runs, output, log):
    """A model table from its runs (dltutorials.results.write_table), and a line saying so in the job's log."""
    from dltutorials.results import write_table

    table = write_table(runs, output)
    Path(log).write_text(f"{output}: {len(table)} rows from {len(runs)} runs\n")


def table_inputs(table, preset, dataset):
    if table == "hmc" or table in MUSIC_TABLES:
        return [f"{run['run_dir']}/metrics.json" for run in table_runs(table, preset, dataset)]
    return [run_result(run["model"], preset, dataset, run["seed"]) for run in table_runs(table, preset, dataset)]


@functools.cache
def hmc_config(target, preset):
    """The resolved config of one HMC run (conf/hmc.yaml), validated: bad values stop the DAG here."""
    try:
        return composed([*HMC_OVERRIDE_LIST, f"hmc_target={target}", f"preset={preset}"], "hmc", validate_hmc)
    except ConfigError as error:
        raise WorkflowError(f"hmc_target={target} preset={preset}: {error}")


def hmc_fingerprint(target, preset):
    return fingerprints.as_text(fingerprints.sampling_settings(hmc_config(target, preset)))


def hmc_run_dir(target, preset, seed):
    return f"results/runs/{preset}/hmc/{target}/seed{seed}"


def hmc_runs(preset):
    """Every HMC run of the table: each target of config `hmc_targets`, each seed."""
    return [{"model": "hmc", "target": target, "preset": preset, "seed": seed,
             "run_dir": hmc_run_dir(target, preset, seed)}
            for target in config["hmc_targets"] for seed in config["seeds"]]


@functools.cache
def music_config(dataset, preset, variant):
    """The resolved config of one RNN-RBM run (conf/rnnrbm.yaml), validated: bad values stop the DAG here."""
    try:
        return composed([*MUSIC_OVERRIDE_LIST, f"data={dataset}", f"preset={preset}", f"rnnrbm_variant={variant}"],
                        "rnnrbm", validate_music)
    except ConfigError as error:
        raise WorkflowError(f"rnnrbm data={dataset} preset={preset} rnnrbm_variant={variant}: {error}")


def music_fingerprint(dataset, preset, variant):
    return fingerprints.as_text(fingerprints.music_settings(music_config(dataset, preset, variant)))


def music_pretraining_fingerprint(dataset, preset, variant):
    return fingerprints.as_text(fingerprints.music_pretraining_settings(music_config(dataset, preset, variant)))


def music_run_dir(dataset, preset, variant, seed):
    return f"results/runs/{preset}/rnnrbm/{dataset}/{variant}/seed{seed}"


def music_prepared_data(dataset, preset, variant):
    prepared = music_config(dataset, preset, variant)["data"]["prepared_dir"]
    return [f"{prepared}/{split}.npz" for split in SPLITS]


def music_pretrained_rbm(dataset, preset, variant, seed):
    """The RBM a run starts from (model.pretrain_rbm), or nothing."""
    if music_config(dataset, preset, variant)["model"]["pretrain_rbm"] is None:
        return []
    return [f"{music_run_dir(dataset, preset, variant, seed)}/rbm/layer.pt"]


def music_runs(table, preset):
    """Every RNN-RBM run of a table: its dataset, each variant of config rnnrbm_variants, each seed."""
    dataset = MUSIC_TABLES[table]
    return [{"model": "rnnrbm", "preset": preset, "seed": seed, "dataset": dataset, "variant": variant,
             "run_dir": music_run_dir(dataset, preset, variant, seed)}
            for variant in config["rnnrbm_variants"] for seed in config["seeds"]]


def hmc_figure_inputs(preset):
    return [f"{hmc_run_dir(target, preset, FIRST_SEED)}/draws.npz" for target in config["hmc_targets"]]


def music_figure_inputs(table, preset, figure):
    """samples: the first seed's run (and the test tune drawn beside it); monitor: every seed's run."""
    runs = music_runs(table, preset)
    if figure == "samples":
        return [f"{runs[0]['run_dir']}/metrics.json", music_prepared_data(MUSIC_TABLES[table], preset,
                                                                           runs[0]["variant"])[2]]
    return [f"{run['run_dir']}/metrics.json" for run in runs]


def sample_folders():
    """Folder of generated tunes -> (table, preset, variant): results/[<preset>/]<table>/ holds the first
    variant's, results/[<preset>/]<table>/<variant>/ each other variant's."""
    folders = {}
    for table in MUSIC_TABLES:
        for preset in PRESETS:
            base = table if preset == "paper" else f"{preset}/{table}"
            for position, variant in enumerate(config["rnnrbm_variants"]):
                folders[base if position == 0 else f"{base}/{variant}"] = (table, preset, variant)
    return folders


SAMPLE_FOLDERS = sample_folders()


def sample_source(folder):
    table, preset, variant = SAMPLE_FOLDERS[folder]
    run = next(run for run in music_runs(table, preset) if run["variant"] == variant)
    return f"{run['run_dir']}/metrics.json"


def music_sample_paths(table, preset):
    """The first seed's generated tunes beside the table: results/[<preset>/]<table>/sample<i>.mid for the
    first variant, results/[<preset>/]<table>/<variant>/sample<i>.mid for the others (rule music_sample)."""
    folder = f"results/{table}" if preset == "paper" else f"results/{preset}/{table}"
    paths = []
    for position, variant in enumerate(config["rnnrbm_variants"]):
        n_samples = music_config(MUSIC_TABLES[table], preset, variant)["generation"]["n_samples"]
        subfolder = folder if position == 0 else f"{folder}/{variant}"
        paths += [f"{subfolder}/sample{i}.mid" for i in range(1, n_samples + 1)]
    return paths


# The tutorial table (conf/tutorial_table.yaml, workflow/rules/report.smk) reads these model tables.
TUTORIAL_TABLE_SOURCES = sorted({row["table"] for section in ("reported", "ours_only")
                                 for row in tutorial_table.load_spec()[section]})


def tutorial_table_paths(preset):
    folder = image_results_folder(preset, TUTORIAL_DATASET)
    return [f"{folder}tutorial_table.{ext}" for ext in ("csv", "md", "html")]


def tutorial_table_inputs(preset):
    """Every table the tutorial table reads (the tutorial's datasets), or with config partial_tutorial_table
    those in `models` only."""
    tables = [t for t in TUTORIAL_TABLE_SOURCES if t in config["models"] or not config["partial_tutorial_table"]]
    return [table_path(table, preset, TUTORIAL_DATASET) for table in tables]


def tutorial_table_targets(preset):
    """The default target's tutorial table: when `models` has every table it reads, or a partial one is asked."""
    if config["partial_tutorial_table"] or set(TUTORIAL_TABLE_SOURCES) <= set(config["models"]):
        return tutorial_table_paths(preset)
    return []


# Curves from the runs' saved logs (dltutorials.stages.curves): per table, the validation error
# against the epoch of its supervised runs (`learning`) and the cost per epoch of its pretrained
# layers (`pretraining`), every seed a line; `headline`: every classifier's test error beside the
# tutorial's. A single job kind each for every preset and dataset; the {folder} wildcard is the part of
# results/{folder}figures/ that names them ("" for the paper preset on MNIST, see results_folder).
FIGURE_FOLDERS = {image_results_folder(preset, dataset)[len("results/"):]: (preset, dataset)
                  for preset in PRESETS for dataset in IMAGE_DATASETS}


def curve_kinds(table, preset, dataset):
    if table not in TABLES:
        return []
    models = TABLES[table]
    supervised = any("module" in run_config(m, preset, dataset)["model"] for m in models)
    pretrained = any(n_pretrained_layers(m, preset, dataset) for m in models)
    return [kind for kind, has in (("learning", supervised), ("pretraining", pretrained)) if has]


def curve_inputs(table, folder, curve):
    preset, dataset = FIGURE_FOLDERS[folder]
    runs = table_runs(table, preset, dataset)
    if curve == "learning":
        return [f"{run['run_dir']}/metrics.json" for run in runs]
    return [path for run in runs for path in pretrained_layer_files(run["model"], preset, dataset, run["seed"])]


def curve_run_dirs(table, folder):
    return [run["run_dir"] for run in table_runs(table, *FIGURE_FOLDERS[folder])]


@functools.cache
def classifier_tables():
    """Every table whose runs end with a test error (a model config with a `module`): the headline figure reads
    them all, whatever `models` says, so that a run of some models never redraws it with only theirs."""
    return [table for table, models in TABLES.items()
            if any("module" in model_section(model) for model in models)]


def headline_inputs(folder):
    preset, dataset = FIGURE_FOLDERS[folder]
    return [table_path(table, preset, dataset) for table in classifier_tables()]


def curve_figure_paths(table, preset, dataset):
    folder = f"{results_folder(table, preset, dataset)}figures"
    return [f"{folder}/{table}_{curve}.png" for curve in curve_kinds(table, preset, dataset)]


def headline_figure_paths(preset, dataset):
    """The default target's headline figure: when `models` has every classifier's table."""
    if not set(classifier_tables()) <= set(config["models"]):
        return []
    return [f"{image_results_folder(preset, dataset)}figures/headline.png"]


# The HTML report (snakemake --report results/report.html): every table and figure under its chapter.
# The report lists categories in alphabetical order: the numbers keep the tutorial's.
TUTORIAL_CATEGORY = "00 The tutorial's numbers and ours"
CHAPTERS = {"logreg": "04 Logistic regression", "mlp": "05 Multilayer perceptron", "lenet": "06 LeNet",
            "da": "07 Denoising autoencoders", "sda": "08 Stacked denoising autoencoders",
            "rbm": "09 Restricted Boltzmann machines", "dbn": "10 Deep belief networks",
            "cae": "10b Contractive autoencoder", "hmc": "11 Hybrid Monte-Carlo", "rnnrbm": "12 RNN-RBM"}


def report_category(wildcards):
    """The chapter of a table or figure, from whichever of its wildcards names the model."""
    if "sweep" in wildcards.keys():
        return CHAPTERS[table_of(sweep_model(wildcards.sweep, FIGURE_FOLDERS[wildcards.folder][0]))]
    if "hmc_figure" in wildcards.keys():
        return CHAPTERS["hmc"]
    if "music_table" in wildcards.keys() or wildcards.get("table", "") in MUSIC_TABLES:
        return CHAPTERS["rnnrbm"]
    name = wildcards.get("table") or table_of(wildcards.get("model"))
    return CHAPTERS.get(name, name)


# Sweeps (conf/sweep/<name>.yaml, workflow/rules/sweeps.smk): a grid of fine-tuning runs of one layer-wise
# model over a pretraining key and a fine-tuning key, e.g. the tutorial's search for the DBN's learning
# rates (section 10.5). Not in the default target (README, "Sweeps").
SWEEPS = options("sweep")
# A grid value in a path, as sweep_label writes it: 0.1, 0.0001, 1e-05.
SWEEP_VALUE = r"[0-9][0-9.e+-]*"
# {data_folder} of a sweep's run paths: "" for MNIST, "<dataset>/" for another image dataset, as in run_dir.
DATA_FOLDERS = {dataset_folder(name): name for name in IMAGE_DATASETS}


@functools.cache
def sweep_config(sweep, preset):
    """A sweep's model and axes (conf/sweep.yaml with the preset's grid), validated: bad values stop the DAG here."""
    try:
        return composed([f"sweep={sweep}", f"preset={preset}"], "sweep", validate_sweep)
    except ConfigError as error:
        raise WorkflowError(f"sweep={sweep} preset={preset}: {error}")


def sweep_model(sweep, preset):
    return sweep_config(sweep, preset)["model"]


def sweep_columns(sweep, preset):
    """The table's columns of the two axes: pretrain_<setting>, finetune_<setting> (e.g. ..._learning_rate)."""
    grid = sweep_config(sweep, preset)
    return [f"{axis}_{grid[axis]['key'].rsplit('.', 1)[-1]}" for axis in ("pretrain", "finetune")]


def sweep_overrides(sweep, preset, pre, fine=None):
    """A grid point's Hydra overrides, from the values its path names (pre<x>, fine<y>); without fine, those of
    its pretraining alone."""
    grid, overrides = sweep_config(sweep, preset), []
    for axis, label in (("pretrain", pre), ("finetune", fine)):
        if label is None:
            continue
        values = {sweep_label(value): value for value in grid[axis]["values"]}
        if label not in values:
            raise WorkflowError(f"sweep={sweep} preset={preset}: {label} is not one of sweep.{axis}.values "
                                f"{list(values)}")
        overrides.append(f"{grid[axis]['key']}={values[label]!r}")
    return overrides


@functools.cache
def sweep_run_config(sweep, preset, data_folder, pre, fine=None):
    """The resolved config of a grid point's fine-tuning (of its pretraining alone without fine), validated."""
    point = [f"data={DATA_FOLDERS[data_folder]}", *sweep_overrides(sweep, preset, pre, fine)]
    try:
        plain = composed([*MODEL_OVERRIDE_LIST, f"model={sweep_model(sweep, preset)}", f"preset={preset}", *point],
                         check=validate_run)
        check_sweep_point(plain, sweep_config(sweep, preset))
        return plain
    except ConfigError as error:
        raise WorkflowError(f"sweep={sweep} preset={preset} {' '.join(point)}: {error}")


def sweep_point_overrides(w):
    """The overrides a job adds after the user's: its pretraining value, and its fine-tuning value if it has one."""
    return " ".join(shlex.quote(o) for o in sweep_overrides(w.sweep, w.preset, w.pre, w.get("fine")))


def sweep_stack_path(preset, sweep, data_folder, pre, seed):
    """results/runs/<preset>/sweeps/<sweep>/[<dataset>/]pre<x>/seed<N>: the stack one pretraining value makes,
    which every fine-tuning of the grid starts from (its layer<k>/ folders; each point's run in fine<y>/)."""
    return f"results/runs/{preset}/sweeps/{sweep}/{data_folder}pre{pre}/seed{seed}"


def sweep_stack_dir(w):
    return sweep_stack_path(w.preset, w.sweep, w.data_folder, w.pre, w.seed)


def sweep_layer_files(w):
    n_layers = len(sweep_run_config(w.sweep, w.preset, w.data_folder, w.pre)["model"]["hidden_sizes"])
    return [f"{sweep_stack_dir(w)}/layer{k}/layer.pt" for k in range(1, n_layers + 1)]


def sweep_prepared_data(w):
    return prepared_data(sweep_model(w.sweep, w.preset), w.preset, DATA_FOLDERS[w.data_folder])


def sweep_layer_input(w):
    """Layer 1 learns from the prepared training split, layer k from the stack's layer k-1 codes."""
    k = int(w.layer)
    return sweep_prepared_data(w)[0] if k == 1 else f"{sweep_stack_dir(w)}/layer{k - 1}/codes.npy"


def sweep_layer_fingerprint(w):
    plain = sweep_run_config(w.sweep, w.preset, w.data_folder, w.pre)
    return fingerprints.as_text(fingerprints.layer_settings(plain, int(w.layer)))


def sweep_training_fingerprint(w):
    plain = sweep_run_config(w.sweep, w.preset, w.data_folder, w.pre, w.fine)
    return fingerprints.as_text(fingerprints.training_settings(plain))


def sweep_points(sweep, folder):
    """Every run of a sweep's table (results/<folder>sweeps/<sweep>.csv): each grid point, each seed, in the
    grid's order."""
    preset, dataset = FIGURE_FOLDERS[folder]
    grid, columns = sweep_config(sweep, preset), sweep_columns(sweep, preset)
    stack = functools.partial(sweep_stack_path, preset, sweep, dataset_folder(dataset))
    return [{"sweep": sweep, columns[0]: pre, columns[1]: fine, "seed": seed,
             "run_dir": f"{stack(sweep_label(pre), seed)}/fine{sweep_label(fine)}"}
            for pre in grid["pretrain"]["values"] for fine in grid["finetune"]["values"] for seed in config["seeds"]]


def write_sweep_table(points, columns, output, log):
    """A sweep's table (dltutorials.results.write_sweep_table), and a line saying which point it selected."""
    from dltutorials.results import write_sweep_table as write

    table = write(points, columns, output)
    chosen = table[table["selected"]].iloc[0]
    Path(log).write_text(f"{output}: {len(table)} rows; selected {columns[0]}={chosen[columns[0]]:g} "
                         f"{columns[1]}={chosen[columns[1]]:g}, validation error {chosen['mean_valid_error']} %\n")


# Log-likelihoods, beyond the tutorial (conf/likelihood.yaml, workflow/rules/likelihood.smk): AIS measures
# each RBM of results/[<preset>/]rbm_likelihood.csv, trained on its dataset by the pretraining rules.
@functools.cache
def likelihood_config(preset):
    """The resolved likelihood settings of a preset, validated: bad values stop the DAG here."""
    try:
        return composed([*LIKELIHOOD_OVERRIDE_LIST, f"preset={preset}"], "likelihood", validate_likelihood)
    except ConfigError as error:
        raise WorkflowError(f"likelihood preset={preset}: {error}")


def likelihood_models(preset):
    """{model: dataset it trains on} of the table: conf/likelihood.yaml's `models`, or those of config
    `likelihood_models` among them."""
    models = likelihood_config(preset)["models"]
    for model in config["likelihood_models"]:
        if model not in models:
            raise WorkflowError(f"config likelihood_models: {model!r} is not one of {list(models)} "
                                f"(models in conf/likelihood.yaml)")
    chosen = {model: models[model] for model in config["likelihood_models"] or models}
    for model, dataset in chosen.items():
        if model not in MODELS or dataset not in IMAGE_DATASETS:
            raise WorkflowError(f"conf/likelihood.yaml models.{model}: {dataset}: the model must be one of "
                                f"{MODELS} (conf/model/) and the dataset one of {IMAGE_DATASETS} (conf/data/)")
    return chosen


def likelihood_runs(preset):
    """The likelihood.json of every run in the table: each model on its dataset, each seed."""
    return [f"{run_dir(model, preset, dataset, seed)}/likelihood.json"
            for model, dataset in likelihood_models(preset).items() for seed in config["seeds"]]


def likelihood_layers(w):
    """What a run's estimate reads: every layer of its stack, and the codes the top RBM models (a DBN's)."""
    dataset = DATA_FOLDERS[w.data_folder]
    layers = pretrained_layer_files(w.model, w.preset, dataset, w.seed)
    return layers + [path.replace("layer.pt", "codes.npy") for path in layers[-2:-1]]


def likelihood_data(preset):
    """The splits every log p(v) is measured on (and the base-rate model is fitted to)."""
    data_dir = likelihood_config(preset)["data"]["prepared_dir"]
    return [f"{data_dir}/{split}.npz" for split in ("train", "test")]


def write_likelihood_table(inputs, output, log):
    """results/[<preset>/]rbm_likelihood.csv from the runs' likelihood.json, and a line saying so in the log."""
    from dltutorials.results import write_likelihood_table as write

    table = write(inputs, output)
    Path(log).write_text(f"{output}: {len(table)} rows\n")


def likelihood_curve_runs(preset):
    """The likelihood_epochs.csv of every run the per-epoch figure draws: conf/likelihood.yaml's curves.models."""
    plain, models = likelihood_config(preset), likelihood_models(preset)
    for model in plain["curves"]["models"]:
        if model not in plain["models"]:
            raise WorkflowError(f"conf/likelihood.yaml curves.models: {model!r} is not one of its models "
                                f"{list(plain['models'])}")
        if not run_config(model, preset, plain["models"][model])["model"]["pretrain"].get("keep_epochs"):
            raise WorkflowError(f"conf/likelihood.yaml curves.models: {model} does not keep its epochs' parameters "
                                f"(model.pretrain.keep_epochs: true in conf/model/{model}.yaml)")
    return [f"{run_dir(model, preset, plain['models'][model], seed)}/likelihood_epochs.csv"
            for model in plain["curves"]["models"] for seed in config["seeds"]]


def music_likelihood_runs(table, preset):
    """The likelihood.json of every run of a music table (each variant of config rnnrbm_variants, each seed)."""
    return [f"{run['run_dir']}/likelihood.json" for run in music_runs(table, preset)]


def music_likelihood_fingerprint(preset):
    plain = likelihood_config(preset)
    return fingerprints.as_text({"rnnrbm": {key: value for key, value in plain["rnnrbm"].items() if key != "reported"},
                                 "seed": plain["ais"]["seed"], "smoothing": plain["ais"]["base_rate_smoothing"],
                                 "exact_max_hidden": plain["exact_max_hidden"],
                                 "trainer": plain["trainer"]["accelerator"]})


def likelihood_fingerprint(preset, schedule="ais"):
    """What an estimate depends on: the data, AIS's settings (the schedule of ``curves`` for the per-epoch
    ones), the exact sum's limit and the device."""
    plain = likelihood_config(preset)
    settings = {"data": plain["data"]["name"], "ais": {**plain["ais"], "schedule": plain[schedule]["schedule"]},
                "trainer": plain["trainer"]["accelerator"]}
    if schedule == "ais":
        settings.update(exact_max_hidden=plain["exact_max_hidden"], reported=plain.get("reported"),
                        dbn_bound_samples=plain["dbn_bound_samples"])
    return fingerprints.as_text(settings)
