# The tutorial's figures: first-layer filters of the pretrained models, samples from the RBM.
# Drawn from the first seed's run; the paper preset's go to results/figures/.


rule figure_paper:
    input:
        lambda w: pretrained_layer_files(w.model, "paper", config["seeds"][0])[0],
    output:
        "results/figures/{model}_{figure}.png",
    params:
        settings=lambda w: figure_fingerprint(w.model, "paper", w.figure),
    log:
        "results/logs/figure_paper_{model}_{figure}.log",
    shell:
        "{PYTHON} -m dltutorials.stages.figures {wildcards.figure} {output} model={wildcards.model}"
        " preset=paper seed={FIRST_SEED} {OVERRIDES} > {log} 2>&1"


rule figure:
    input:
        lambda w: pretrained_layer_files(w.model, w.preset, config["seeds"][0])[0],
    output:
        "results/{preset}/figures/{model}_{figure}.png",
    params:
        settings=lambda w: figure_fingerprint(w.model, w.preset, w.figure),
    wildcard_constraints:
        preset="|".join(p for p in PRESETS if p != "paper"),
    log:
        "results/logs/figure_{preset}_{model}_{figure}.log",
    shell:
        "{PYTHON} -m dltutorials.stages.figures {wildcards.figure} {output} model={wildcards.model}"
        " preset={wildcards.preset} seed={FIRST_SEED} {OVERRIDES} > {log} 2>&1"
