# The Deep Learning Tutorials (LISA lab, 2014) as a pipeline.
#
#   snakemake --cores 4                          # paper preset: results/<model>.csv for every model, figures
#   snakemake --cores 4 results/mlp.csv          # one model, paper preset
#   snakemake --cores 4 --config preset=quick    # results/quick/*.csv
#
# Hyperparameters live in the Hydra configs under conf/; this file only wires stages.

from pathlib import Path

from snakemake.utils import min_version, validate

min_version("9.0")


# Beside this file, so the workflow also runs with --directory elsewhere.
configfile: str(Path(workflow.basedir) / "conf" / "workflow.yaml")


validate(config, "workflow/schemas/config.schema.yaml")
config["seeds"] = [int(seed) for seed in config["seeds"]]


include: "workflow/rules/common.smk"


rule all:
    input:
        [table_path(table, config["preset"]) for table in config["models"]],
        [figure_paths(table, config["preset"]) for table in config["models"]],


include: "workflow/rules/data.smk"
include: "workflow/rules/layerwise.smk"
include: "workflow/rules/supervised.smk"
include: "workflow/rules/figures.smk"
