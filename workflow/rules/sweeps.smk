# Sweeps (conf/sweep/<name>.yaml; the helpers are in common.smk): a grid of fine-tuning runs of one
# layer-wise model, e.g. the tutorial's search for the DBN's learning rates (section 10.5). Each
# pretraining value makes one stack of layers, a job per layer as in layerwise.smk, which every
# fine-tuning value starts from (5 stacks for the tutorial's 5 x 4 grid, not 20):
#   results/runs/<preset>/sweeps/<sweep>/[<dataset>/]pre<x>/seed<N>/layer<k>/   the stack
#   results/runs/<preset>/sweeps/<sweep>/[<dataset>/]pre<x>/seed<N>/fine<y>/    a point's fine-tuning
# then results/[<preset>/][<dataset>/]sweeps/<sweep>.csv (a row per point and seed, the selected one
# marked) and its heat map .png. The jobs are the usual stages with the stack as paths.run_dir and the
# point's overrides after the user's. Not in the default target: README, "Sweeps".


rule sweep_pretrain_layer:
    input:
        sweep_layer_input,
    output:
        "results/runs/{preset}/sweeps/{sweep}/{data_folder}pre{pre}/seed{seed}/layer{layer}/layer.pt",
    params:
        fingerprint=sweep_layer_fingerprint,
        model=lambda w: sweep_model(w.sweep, w.preset),
        dataset=lambda w: DATA_FOLDERS[w.data_folder],
        stack=sweep_stack_dir,
        point=sweep_point_overrides,
    threads: lambda w: job_threads(sweep_model(w.sweep, w.preset))
    priority: lambda w: job_priority(sweep_model(w.sweep, w.preset))
    resources:
        mem_mb=4000,
        gpu=lambda w: job_gpus(sweep_run_config(w.sweep, w.preset, w.data_folder, w.pre)),
    log:
        "results/logs/sweep_pretrain_{preset}_{sweep}_{data_folder}pre{pre}_seed{seed}_layer{layer}.log",
    shell:
        "{PYTHON} -m dltutorials.stages.pretrain train {wildcards.layer} model={params.model}"
        " preset={wildcards.preset} data={params.dataset} seed={wildcards.seed} num_threads={threads}"
        " paths.run_dir={params.stack} trainer.enable_progress_bar=false {OVERRIDES} {params.point} > {log} 2>&1"


rule sweep_encode_layer:
    input:
        layer="results/runs/{preset}/sweeps/{sweep}/{data_folder}pre{pre}/seed{seed}/layer{layer}/layer.pt",
        inputs=sweep_layer_input,
    output:
        "results/runs/{preset}/sweeps/{sweep}/{data_folder}pre{pre}/seed{seed}/layer{layer}/codes.npy",
    params:
        model=lambda w: sweep_model(w.sweep, w.preset),
        dataset=lambda w: DATA_FOLDERS[w.data_folder],
        stack=sweep_stack_dir,
        point=sweep_point_overrides,
    priority: lambda w: job_priority(sweep_model(w.sweep, w.preset))
    resources:
        mem_mb=4000,
    log:
        "results/logs/sweep_encode_{preset}_{sweep}_{data_folder}pre{pre}_seed{seed}_layer{layer}.log",
    shell:
        "{PYTHON} -m dltutorials.stages.pretrain encode {wildcards.layer} model={params.model}"
        " preset={wildcards.preset} data={params.dataset} seed={wildcards.seed} paths.run_dir={params.stack}"
        " {OVERRIDES} {params.point} > {log} 2>&1"


rule sweep_train:
    input:
        data=sweep_prepared_data,
        pretrained=sweep_layer_files,
    output:
        metrics="results/runs/{preset}/sweeps/{sweep}/{data_folder}pre{pre}/seed{seed}/fine{fine}/metrics.json",
        checkpoint="results/runs/{preset}/sweeps/{sweep}/{data_folder}pre{pre}/seed{seed}/fine{fine}/model.ckpt",
    params:
        fingerprint=sweep_training_fingerprint,
        model=lambda w: sweep_model(w.sweep, w.preset),
        dataset=lambda w: DATA_FOLDERS[w.data_folder],
        stack=sweep_stack_dir,
        run_dir=lambda w: f"{sweep_stack_dir(w)}/fine{w.fine}",
        point=sweep_point_overrides,
    threads: lambda w: job_threads(sweep_model(w.sweep, w.preset))
    priority: lambda w: job_priority(sweep_model(w.sweep, w.preset))
    resources:
        mem_mb=4000,
        gpu=lambda w: job_gpus(sweep_run_config(w.sweep, w.preset, w.data_folder, w.pre, w.fine)),
    log:
        "results/logs/sweep_train_{preset}_{sweep}_{data_folder}pre{pre}_seed{seed}_fine{fine}.log",
    shell:
        "{PYTHON} -m dltutorials.stages.train model={params.model} preset={wildcards.preset} data={params.dataset}"
        " seed={wildcards.seed} paths.run_dir={params.stack} hydra.run.dir={params.run_dir} num_threads={threads}"
        " trainer.enable_progress_bar=false {OVERRIDES} {params.point} > {log} 2>&1"


# {folder}: "", "<preset>/", "<dataset>/" or "<preset>/<dataset>/", as for the curves (figures.smk).
rule sweep_table:
    input:
        lambda w: [f"{point['run_dir']}/metrics.json" for point in sweep_points(w.sweep, w.folder)],
    output:
        report("results/{folder}sweeps/{sweep}.csv", caption="../report/sweep.rst", category=report_category),
    params:
        points=lambda w: sweep_points(w.sweep, w.folder),
        columns=lambda w: sweep_columns(w.sweep, FIGURE_FOLDERS[w.folder][0]),
    wildcard_constraints:
        folder="|".join(sorted(FIGURE_FOLDERS, key=len, reverse=True)),
    log:
        "results/logs/sweep_table_{folder}{sweep}.log",
    localrule: True
    run:
        write_sweep_table(params.points, params.columns, output[0], log[0])


rule sweep_figure:
    input:
        "results/{folder}sweeps/{sweep}.csv",
    output:
        report("results/{folder}sweeps/{sweep}.png", caption="../report/sweep.rst", category=report_category),
    params:
        columns=lambda w: sweep_columns(w.sweep, FIGURE_FOLDERS[w.folder][0]),
    wildcard_constraints:
        folder="|".join(sorted(FIGURE_FOLDERS, key=len, reverse=True)),
    log:
        "results/logs/sweep_figure_{folder}{sweep}.log",
    localrule: True
    shell:
        "{PYTHON} -m dltutorials.stages.sweep_figure {input} {output} {params.columns} > {log} 2>&1"
