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


# Curves from the runs' saved logs (dltutorials.stages.curves; the figures' lists are in common.smk).
CURVE_SHELL = ("{PYTHON} -m dltutorials.stages.curves {wildcards.curve} {output} {params.run_dirs}"
               " > {log} 2>&1")


rule curve_paper:
    input:
        lambda w: curve_inputs(w.table, "paper", w.curve),
    output:
        "results/figures/{table}_{curve}.png",
    params:
        run_dirs=lambda w: [run["run_dir"] for run in table_runs(w.table, "paper")],
    wildcard_constraints:
        curve="learning|pretraining",
    log:
        "results/logs/curve_paper_{table}_{curve}.log",
    shell:
        CURVE_SHELL


rule curve:
    input:
        lambda w: curve_inputs(w.table, w.preset, w.curve),
    output:
        "results/{preset}/figures/{table}_{curve}.png",
    params:
        run_dirs=lambda w: [run["run_dir"] for run in table_runs(w.table, w.preset)],
    wildcard_constraints:
        preset="|".join(p for p in PRESETS if p != "paper"),
        curve="learning|pretraining",
    log:
        "results/logs/curve_{preset}_{table}_{curve}.log",
    shell:
        CURVE_SHELL


rule headline_paper:
    input:
        lambda w: [table_path(table, "paper") for table in classifier_tables("paper")],
    output:
        "results/figures/headline.png",
    log:
        "results/logs/headline_paper.log",
    shell:
        "{PYTHON} -m dltutorials.stages.curves headline {output} {input} > {log} 2>&1"


rule headline:
    input:
        lambda w: [table_path(table, w.preset) for table in classifier_tables(w.preset)],
    output:
        "results/{preset}/figures/headline.png",
    wildcard_constraints:
        preset="|".join(p for p in PRESETS if p != "paper"),
    log:
        "results/logs/headline_{preset}.log",
    shell:
        "{PYTHON} -m dltutorials.stages.curves headline {output} {input} > {log} 2>&1"
