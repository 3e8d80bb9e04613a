# The tutorial's figures: first-layer filters of the pretrained models, samples from the RBM.
# Drawn from the first seed's run; the paper preset's go to results/figures/, those of an
# image dataset other than MNIST to results/[<preset>/]<dataset>/figures/ (the `_on_dataset` rules).


rule figure_paper:
    input:
        lambda w: pretrained_layer_files(w.model, "paper", TUTORIAL_DATASET, config["seeds"][0])[0],
    output:
        "results/figures/{model}_{figure}.png",
    params:
        settings=lambda w: figure_fingerprint(w.model, "paper", TUTORIAL_DATASET, w.figure),
    log:
        "results/logs/figure_paper_{model}_{figure}.log",
    shell:
        "{PYTHON} -m dltutorials.stages.figures {wildcards.figure} {output} model={wildcards.model}"
        " preset=paper seed={FIRST_SEED} {OVERRIDES} > {log} 2>&1"


rule figure_paper_on_dataset:
    input:
        lambda w: pretrained_layer_files(w.model, "paper", w.dataset, config["seeds"][0])[0],
    output:
        "results/{dataset}/figures/{model}_{figure}.png",
    params:
        settings=lambda w: figure_fingerprint(w.model, "paper", w.dataset, w.figure),
    wildcard_constraints:
        dataset=OTHER_DATASET_PATTERN,
    log:
        "results/logs/figure_paper_{dataset}_{model}_{figure}.log",
    shell:
        "{PYTHON} -m dltutorials.stages.figures {wildcards.figure} {output} model={wildcards.model}"
        " preset=paper data={wildcards.dataset} seed={FIRST_SEED} {OVERRIDES} > {log} 2>&1"


rule figure:
    input:
        lambda w: pretrained_layer_files(w.model, w.preset, TUTORIAL_DATASET, config["seeds"][0])[0],
    output:
        "results/{preset}/figures/{model}_{figure}.png",
    params:
        settings=lambda w: figure_fingerprint(w.model, w.preset, TUTORIAL_DATASET, w.figure),
    wildcard_constraints:
        preset="|".join(p for p in PRESETS if p != "paper"),
    log:
        "results/logs/figure_{preset}_{model}_{figure}.log",
    shell:
        "{PYTHON} -m dltutorials.stages.figures {wildcards.figure} {output} model={wildcards.model}"
        " preset={wildcards.preset} seed={FIRST_SEED} {OVERRIDES} > {log} 2>&1"


rule figure_on_dataset:
    input:
        lambda w: pretrained_layer_files(w.model, w.preset, w.dataset, config["seeds"][0])[0],
    output:
        "results/{preset}/{dataset}/figures/{model}_{figure}.png",
    params:
        settings=lambda w: figure_fingerprint(w.model, w.preset, w.dataset, w.figure),
    wildcard_constraints:
        preset="|".join(p for p in PRESETS if p != "paper"),
        dataset=OTHER_DATASET_PATTERN,
    log:
        "results/logs/figure_{preset}_{dataset}_{model}_{figure}.log",
    shell:
        "{PYTHON} -m dltutorials.stages.figures {wildcards.figure} {output} model={wildcards.model}"
        " preset={wildcards.preset} data={wildcards.dataset} seed={FIRST_SEED} {OVERRIDES} > {log} 2>&1"
