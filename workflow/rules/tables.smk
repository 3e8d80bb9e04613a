# Result tables, each from its runs, for every preset and dataset: {folder} is the part of results/{folder}
# that names them ("" for the paper preset on MNIST, "<preset>/", "[<preset>/]<dataset>/"; tables of the HMC
# and RNN-RBM runs and the tutorial table name no dataset: {preset_folder}).


# A model's table (a row per run; a table such as da collects several models), the HMC table, a music table.
rule table:
    input:
        lambda w: plan.table_inputs(w.table, w.folder),
    output:
        report("results/{folder}{table}.csv", caption="../report/model_table.rst", category=plan.report_category),
    params:
        runs=lambda w: plan.table_runs(w.table, w.folder),
    log:
        "results/logs/table/{folder}{table}.log",
    localrule: True
    run:
        write_model_table(params.runs, output[0], log[0])


# A sweep's table: a row per grid point and seed, the point of the best mean validation error marked.
rule sweep_table:
    input:
        lambda w: [f"{point['run_dir']}/metrics.json" for point in plan.sweep_points(w.sweep, w.folder)],
    output:
        report("results/{folder}sweeps/{sweep}.csv", caption="../report/sweep.rst", category=plan.report_category),
    params:
        points=lambda w: plan.sweep_points(w.sweep, w.folder),
        columns=lambda w: plan.sweep_columns(w.sweep, w.folder),
    log:
        "results/logs/sweep_table/{folder}{sweep}.log",
    localrule: True
    run:
        write_sweep_table(params.points, params.columns, output[0], log[0])


# Every number the tutorial reports beside ours (mean over seeds), with the verdict against the tolerance
# conf/tutorial_table.yaml promises.
rule tutorial_table:
    input:
        lambda w: plan.tutorial_table_inputs(w.preset_folder),
        spec=str(tutorial_table.SPEC_PATH),
    output:
        csv="results/{preset_folder}tutorial_table.csv",
        md="results/{preset_folder}tutorial_table.md",
        html=report("results/{preset_folder}tutorial_table.html", caption="../report/tutorial_table.rst",
                    category=TUTORIAL_CATEGORY),
    params:
        tables=lambda w: plan.tutorial_table_inputs(w.preset_folder),
    log:
        "results/logs/tutorial_table/{preset_folder}tutorial_table.log",
    localrule: True
    shell:
        "{PYTHON} -m dltutorials.drawing.tutorial_table table {output.csv} {params.tables} > {log} 2>&1"


# Log-likelihoods (beyond the tutorial): the RBMs' by AIS (rbm_likelihood.csv), an RNN-RBM's per frame
# (<music table>_likelihood.csv), each from its runs' likelihood.json (likelihood.smk).
rule likelihood_table:
    input:
        lambda w: plan.likelihood_table_inputs(w.likelihood_table, w.preset_folder),
    output:
        report("results/{preset_folder}{likelihood_table}_likelihood.csv", caption="../report/likelihood.rst",
               category=plan.report_category),
    log:
        "results/logs/likelihood_table/{preset_folder}{likelihood_table}.log",
    localrule: True
    run:
        write_likelihood_table(input, output[0], log[0])
