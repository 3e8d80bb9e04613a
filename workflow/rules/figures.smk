# Figures of the image models, for every preset and dataset ({folder}: see tables.smk): the first layer's
# filters and the RBM's samples (the tutorial's figures, from the first seed's run), learning curves and
# pretraining costs from the runs' logs (every seed a line), and the headline: every classifier's test
# error beside the tutorial's.


rule layer_figure:
    input:
        lambda w: plan.layer_files(plan.figure_run(w.model, w.folder))[0],
    output:
        report("results/{folder}figures/{model}_{figure}.png", caption="../report/layer_figure.rst",
               category=plan.report_category),
    params:
        settings=lambda w: plan.figure_fingerprint(w.model, w.folder, w.figure),
        job=lambda w: plan.job_arguments(plan.figure_run(w.model, w.folder)),
    log:
        "results/logs/figure/{folder}{model}_{figure}.log",
    localrule: True
    shell:
        "{PYTHON} -m dltutorials.drawing.figures {wildcards.figure} {output} {params.job} {OVERRIDES} > {log} 2>&1"


rule curve:
    input:
        lambda w: plan.curve_inputs(w.table, w.folder, w.curve),
    output:
        report("results/{folder}figures/{table}_{curve}.png", caption="../report/curves.rst",
               category=plan.report_category),
    params:
        run_dirs=lambda w: plan.curve_run_dirs(w.table, w.folder),
    log:
        "results/logs/curve/{folder}{table}_{curve}.log",
    localrule: True
    shell:
        "{PYTHON} -m dltutorials.drawing.curves {wildcards.curve} {output} {params.run_dirs} > {log} 2>&1"


rule headline:
    input:
        lambda w: plan.headline_inputs(w.folder),
    output:
        report("results/{folder}figures/headline.png", caption="../report/headline.rst", category=TUTORIAL_CATEGORY),
    log:
        "results/logs/headline/{folder}headline.log",
    localrule: True
    shell:
        "{PYTHON} -m dltutorials.drawing.curves headline {output} {input} > {log} 2>&1"


# A sweep's heat map: the validation error of every grid point, the selected one framed.
rule sweep_figure:
    input:
        "results/{folder}sweeps/{sweep}.csv",
    output:
        report("results/{folder}sweeps/{sweep}.png", caption="../report/sweep.rst", category=plan.report_category),
    params:
        columns=lambda w: plan.sweep_columns(w.sweep, w.folder),
    log:
        "results/logs/sweep_figure/{folder}{sweep}.log",
    localrule: True
    shell:
        "{PYTHON} -m dltutorials.drawing.sweep_figure heatmap {output} {input} {params.columns} > {log} 2>&1"
