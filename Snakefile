# The Deep Learning Tutorials (LISA lab, 2014) as a pipeline.
#
#   snakemake --cores 4                          # paper preset: results/<model>.csv for every model, figures
#   snakemake --cores 4 results/mlp.csv          # one model, paper preset
#   snakemake --cores 4 --config preset=quick    # results/quick/*.csv
#   snakemake --cores 4 results/tutorial_table.md # every number the tutorial reports, beside ours
#   snakemake --cores 4 --config 'overrides=[data=foo]'   # another dataset: results/foo/*.csv (docs/running.md)
#   snakemake --workflow-profile workflow/profiles/slurm --default-resources slurm_partition=<p> slurm_account=<a>
#                                                # on a SLURM cluster (docs/running.md)
#   snakemake --cores 4 results/sweeps/dbn_lr.csv  # the tutorial's grid of DBN learning rates (not in `all`)
#   snakemake --cores 4 results/rbm_likelihood.csv # RBM log-likelihoods by AIS, beyond the tutorial (not in `all`)
#
# Hyperparameters live in the Hydra configs under conf/. The rules only declare jobs: what each reads, writes
# and is started with comes from dltutorials.workflow (the package's `plan` and `layout` modules, tested there).

import os
import sys
from pathlib import Path

from snakemake.utils import min_version, validate

from dltutorials.drawing import tutorial_table
from dltutorials.config import ConfigError
from dltutorials.workflow.tables import write_likelihood_table, write_model_table, write_sweep_table
from dltutorials.workflow import layout
from dltutorials.workflow.plan import CHAPTERS, TUTORIAL_CATEGORY, Plan, alternatives, quoted

min_version("9.0")


# Beside this file, so the workflow also runs with --directory elsewhere.
configfile: str(Path(workflow.basedir) / "conf" / "workflow.yaml")


validate(config, "workflow/schemas/config.schema.yaml")
try:
    plan = Plan(config)
except ConfigError as error:
    raise WorkflowError(str(error))

# What every job's command line gets beyond its rule's parameters, on purpose (dltutorials.workflow.plan's
# docstring; `snakemake --lint` notes each): the interpreter, the data mirror and the user's extra overrides.
PYTHON = plan.python
MIRROR_ENV = plan.mirror_env
OVERRIDES = quoted(plan.model_override_list)
HMC_OVERRIDES = quoted(plan.hmc_override_list)
MUSIC_OVERRIDES = quoted(plan.music_override_list)
LIKELIHOOD_OVERRIDES = quoted(plan.likelihood_override_list)


wildcard_constraints:
    **plan.wildcard_constraints(),


# snakemake --report results/report.html: the outputs marked report(...) with their captions.
report: "workflow/report/workflow.rst"


# `--cores` above the CPUs this process may use (the user's `--cores 4` on a 2-core
# laptop) would run more one-thread jobs than there are CPUs: time-sliced, each
# evicting the others' weights from the caches, they finish later in all than one
# job per CPU (docs/design.md, "Threads"). So at most one job per CPU runs at once.
if plan.config["cap_cores_at_machine"] and workflow.local_exec and not workflow.remote_exec \
        and workflow.global_resources["_cores"].value:
    MACHINE_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if workflow.global_resources["_cores"].value > MACHINE_CORES:
        print(f"--cores {workflow.global_resources['_cores'].value} capped at this machine's {MACHINE_CORES} CPUs "
              f"(config cap_cores_at_machine)", file=sys.stderr)
        workflow.global_resources["_cores"] = MACHINE_CORES


rule all:
    input:
        plan.default_targets(),


# Rules marked `localrule: True` (downloads, data preparation, tables, figures, copies) run where
# Snakemake runs, also under a cluster executor; every other rule is a training, pretraining,
# encoding or sampling job, whose cluster resources are in workflow/profiles/slurm/config.yaml.
include: "workflow/rules/data.smk"
include: "workflow/rules/images.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/hmc.smk"
include: "workflow/rules/music.smk"
include: "workflow/rules/likelihood.smk"
