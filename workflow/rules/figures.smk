# The tutorial's figures: first-layer filters of the pretrained models, samples from the RBM.
# Drawn from the first seed's run; the paper preset's go to results/figures/, those of an
# image dataset other than MNIST to results/[<preset>/]<dataset>/figures/ (the `_on_dataset` rules).


rule figure_paper:
    input:
        lambda w: pretrained_layer_files(w.model, "paper", TUTORIAL_DATASET, config["seeds"][0])[0],
    output:
        report("results/figures/{model}_{figure}.png", caption="../report/layer_figure.rst", category=report_category),
    params:
        seed=FIRST_SEED,
        settings=lambda w: figure_fingerprint(w.model, "paper", TUTORIAL_DATASET, w.figure),
    log:
        "results/logs/figure_paper_{model}_{figure}.log",
    localrule: True
    shell:
        "{PYTHON} -m dltutorials.stages.figures {wildcards.figure} {output} model={wildcards.model}"
        " preset=paper seed={params.seed} {OVERRIDES} > {log} 2>&1"


rule figure_paper_on_dataset:
    input:
        lambda w: pretrained_layer_files(w.model, "paper", w.dataset, config["seeds"][0])[0],
    output:
        report("results/{dataset}/figures/{model}_{figure}.png", caption="../report/layer_figure.rst", category=report_category),
    params:
        seed=FIRST_SEED,
        settings=lambda w: figure_fingerprint(w.model, "paper", w.dataset, w.figure),
    wildcard_constraints:
        dataset=OTHER_DATASET_PATTERN,
    log:
        "results/logs/figure_paper_{dataset}_{model}_{figure}.log",
    localrule: True
    shell:
        "{PYTHON} -m dltutorials.stages.figures {wildcards.figure} {output} model={wildcards.model}"
        " preset=paper data={wildcards.dataset} seed={params.seed} {OVERRIDES} > {log} 2>&1"


rule figure:
    input:
        lambda w: pretrained_layer_files(w.model, w.preset, TUTORIAL_DATASET, config["seeds"][0])[0],
    output:
        report("results/{preset}/figures/{model}_{figure}.png", caption="../report/layer_figure.rst", category=report_category),
    params:
        seed=FIRST_SEED,
        settings=lambda w: figure_fingerprint(w.model, w.preset, TUTORIAL_DATASET, w.figure),
    wildcard_constraints:
        preset="|".join(p for p in PRESETS if p != "paper"),
    log:
        "results/logs/figure_{preset}_{model}_{figure}.log",
    localrule: True
    shell:
        "{PYTHON} -m dltutorials.stages.figures {wildcards.figure} {output} model={wildcards.model}"
        " preset={wildcards.preset} seed={params.seed} {OVERRIDES} > {log} 2>&1"


rule figure_on_dataset:
    input:
        lambda w: pretrained_layer_files(w.model, w.preset, w.dataset, config["seeds"][0])[0],
    output:
        report("results/{preset}/{dataset}/figures/{model}_{figure}.png", caption="../report/layer_figure.rst", category=report_category),
    params:
        seed=FIRST_SEED,
        settings=lambda w: figure_fingerprint(w.model, w.preset, w.dataset, w.figure),
    wildcard_constraints:
        preset="|".join(p for p in PRESETS if p != "paper"),
        dataset=OTHER_DATASET_PATTERN,
    log:
        "results/logs/figure_{preset}_{dataset}_{model}_{figure}.log",
    localrule: True
    shell:
        "{PYTHON} -m dltutorials.stages.figures {wildcards.figure} {output} model={wildcards.model}"
        " preset={wildcards.preset} data={wildcards.dataset} seed={params.seed} {OVERRIDES} > {log} 2>&1"


# Curves from the runs' saved logs (dltutorials.stages.curves; the lists are in common.smk), for
# every preset and dataset: {folder} is "", "<preset>/", "<dataset>/" or "<preset>/<dataset>/".
rule curve:
    input:
        lambda w: curve_inputs(w.table, w.folder, w.curve),
    output:
        report("results/{folder}figures/{table}_{curve}.png", caption="../report/curves.rst", category=report_category),
    params:
        run_dirs=lambda w: curve_run_dirs(w.table, w.folder),
    wildcard_constraints:
        folder="|".join(sorted(FIGURE_FOLDERS, key=len, reverse=True)),
        curve="learning|pretraining",
    log:
        "results/logs/curve_{folder}{table}_{curve}.log",
    localrule: True
    shell:
        "{PYTHON} -m dltutorials.stages.curves {wildcards.curve} {output} {params.run_dirs} > {log} 2>&1"


rule headline:
    input:
        lambda w: headline_inputs(w.folder),
    output:
        report("results/{folder}figures/headline.png", caption="../report/headline.rst", category=TUTORIAL_CATEGORY),
    wildcard_constraints:
        folder="|".join(sorted(FIGURE_FOLDERS, key=len, reverse=True)),
    log:
        "results/logs/headline_{folder}figures.log",
    localrule: True
    shell:
        "{PYTHON} -m dltutorials.stages.curves headline {output} {input} > {log} 2>&1"
