# The Deep Learning Tutorials (LISA lab, 2014) as a pipeline.
#
#   snakemake --cores 4                          # paper preset: results/<model>.csv for every model, figures
#   snakemake --cores 4 results/mlp.csv          # one model, paper preset
#   snakemake --cores 4 --config preset=quick    # results/quick/*.csv
#   snakemake --cores 4 results/tutorial_table.md # every number the tutorial reports, beside ours
#   snakemake --cores 4 --config 'overrides=[data=foo]'   # another dataset: results/foo/*.csv (README)
#   snakemake --workflow-profile workflow/profiles/slurm --default-resources slurm_partition=<p> slurm_account=<a>
#                                                # on a SLURM cluster (README, "Cluster (SLURM)")
#   snakemake --cores 4 results/sweeps/dbn_lr.csv  # the tutorial's grid of DBN learning rates (not in `all`)
#   snakemake --cores 4 results/rbm_likelihood.csv # RBM log-likelihoods by AIS, beyond the tutorial (not in `all`)
#
# Hyperparameters live in the Hydra configs under conf/; this file only wires stages.

import os
import shutil
import sys
from pathlib import Path

from snakemake.utils import min_version, validate

min_version("9.0")


# Beside this file, so the workflow also runs with --directory elsewhere.
configfile: str(Path(workflow.basedir) / "conf" / "workflow.yaml")


validate(config, "workflow/schemas/config.schema.yaml")
config["seeds"] = [int(seed) for seed in config["seeds"]]
config["threads"] = {model: int(count) for model, count in config["threads"].items()}
config["cap_cores_at_machine"] = str(config["cap_cores_at_machine"]).lower() == "true"
config["partial_tutorial_table"] = str(config["partial_tutorial_table"]).lower() == "true"


include: "workflow/rules/common.smk"


wildcard_constraints:
    model="|".join(MODELS),
    table="|".join([*TABLES, *SAMPLER_TABLES, *MUSIC_TABLES]),
    music_table="|".join(MUSIC_TABLES),
    music_figure="|".join(MUSIC_FIGURES),
    variant="|".join(MUSIC_VARIANTS),
    preset="|".join(PRESETS),
    seed=r"\d+",
    layer=r"\d+",
    figure="filters|samples",
    target="|".join(HMC_TARGETS),
    hmc_figure="|".join(HMC_FIGURES),
    dataset=r"[a-z0-9_]+",
    sweep="|".join(SWEEPS),
    pre=SWEEP_VALUE,
    fine=SWEEP_VALUE,
    data_folder="(?:" + "|".join(re.escape(folder) for folder in DATA_FOLDERS) + ")",  # "" for MNIST


# snakemake --report results/report.html: the outputs marked report(...) with their captions.
report: "workflow/report/workflow.rst"


# `--cores` above the CPUs this process may use (the user's `--cores 4` on a 2-core
# laptop) would run more one-thread jobs than there are CPUs: time-sliced, each
# evicting the others' weights from the caches, they finish later in all than one
# job per CPU (README, "Threads"). So at most one job per CPU runs at once.
if config["cap_cores_at_machine"] and workflow.local_exec and not workflow.remote_exec \
        and workflow.global_resources["_cores"].value:
    MACHINE_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if workflow.global_resources["_cores"].value > MACHINE_CORES:
        print(f"--cores {workflow.global_resources['_cores'].value} capped at this machine's {MACHINE_CORES} CPUs "
              f"(config cap_cores_at_machine)", file=sys.stderr)
        workflow.global_resources["_cores"] = MACHINE_CORES


rule all:
    input:
        [table_path(table, config["preset"], DATASET) for table in config["models"]],
        [figure_paths(table, config["preset"], DATASET) for table in config["models"]],
        headline_figure_paths(config["preset"], DATASET),
        tutorial_table_targets(config["preset"]) if DATASET == TUTORIAL_DATASET else [],


# Rules marked `localrule: True` (downloads, data preparation, tables, figures, copies) run where
# Snakemake runs, also under a cluster executor; every other rule is a training, pretraining,
# encoding or sampling job, whose cluster resources are in workflow/profiles/slurm/config.yaml.
include: "workflow/rules/data.smk"
include: "workflow/rules/layerwise.smk"
include: "workflow/rules/supervised.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/hmc.smk"
include: "workflow/rules/music.smk"
include: "workflow/rules/sweeps.smk"
include: "workflow/rules/likelihood.smk"
include: "workflow/rules/report.smk"
