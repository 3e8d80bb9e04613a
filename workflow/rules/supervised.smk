# Supervised training (tutorial chapters 4-6) and the fine-tuning of
# layer-wise pretrained stacks (chapters 8, 10), then the result tables.


rule train:
    input:
        data=lambda w: prepared_data(w.model, w.preset),
        pretrained=lambda w: pretrained_layer_files(w.model, w.preset, w.seed),
    output:
        metrics="results/runs/{preset}/{model}/seed{seed}/metrics.json",
        checkpoint="results/runs/{preset}/{model}/seed{seed}/model.ckpt",
    params:
        fingerprint=lambda w: training_fingerprint(w.model, w.preset),
        run_dir=lambda w: run_dir(w.model, w.preset, w.seed),
    threads: lambda w: job_threads(w.model)
    priority: lambda w: job_priority(w.model)
    resources:
        mem_mb=4000,
    log:
        "results/logs/train_{preset}_{model}_seed{seed}.log",
    shell:
        "{PYTHON} -m dltutorials.stages.train model={wildcards.model} preset={wildcards.preset}"
        " seed={wildcards.seed} hydra.run.dir={params.run_dir} num_threads={threads} trainer.enable_progress_bar=false"
        " {OVERRIDES} > {log} 2>&1"


rule table_paper:
    input:
        lambda w: table_inputs(w.table, "paper"),
    output:
        "results/{table}.csv",
    params:
        runs=lambda w: table_runs(w.table, "paper"),
    localrule: True
    run:
        from dltutorials.results import write_table

        write_table(params.runs, output[0])


rule table:
    input:
        lambda w: table_inputs(w.table, w.preset),
    output:
        "results/{preset}/{table}.csv",
    params:
        runs=lambda w: table_runs(w.table, w.preset),
    wildcard_constraints:
        preset="|".join(p for p in PRESETS if p != "paper"),
    localrule: True
    run:
        from dltutorials.results import write_table

        write_table(params.runs, output[0])
