# Supervised training (tutorial chapters 4-6) and the fine-tuning of
# layer-wise pretrained stacks (chapters 8, 10), then the result tables.
# Each rule of MNIST runs has a twin `..._on_dataset` for any other image dataset,
# whose paths name it: a `dataset` wildcard, passed to the job as data=<dataset>.
# MNIST's commands stay as they were, since Snakemake reruns a job whose command
# changed: runs already made are never redone for it.


rule train:
    input:
        data=lambda w: prepared_data(w.model, w.preset, TUTORIAL_DATASET),
        pretrained=lambda w: pretrained_layer_files(w.model, w.preset, TUTORIAL_DATASET, w.seed),
    output:
        metrics="results/runs/{preset}/{model}/seed{seed}/metrics.json",
        checkpoint="results/runs/{preset}/{model}/seed{seed}/model.ckpt",
    params:
        fingerprint=lambda w: training_fingerprint(w.model, w.preset, TUTORIAL_DATASET),
        run_dir=lambda w: run_dir(w.model, w.preset, TUTORIAL_DATASET, w.seed),
    threads: lambda w: job_threads(w.model)
    priority: lambda w: job_priority(w.model)
    resources:
        mem_mb=4000,
        gpu=lambda w: job_gpus(run_config(w.model, w.preset, TUTORIAL_DATASET)),
    log:
        "results/logs/train_{preset}_{model}_seed{seed}.log",
    shell:
        "{PYTHON} -m dltutorials.stages.train model={wildcards.model} preset={wildcards.preset}"
        " seed={wildcards.seed} hydra.run.dir={params.run_dir} num_threads={threads} trainer.enable_progress_bar=false"
        " {OVERRIDES} > {log} 2>&1"


rule train_on_dataset:
    input:
        data=lambda w: prepared_data(w.model, w.preset, w.dataset),
        pretrained=lambda w: pretrained_layer_files(w.model, w.preset, w.dataset, w.seed),
    output:
        metrics="results/runs/{preset}/{model}/{dataset}/seed{seed}/metrics.json",
        checkpoint="results/runs/{preset}/{model}/{dataset}/seed{seed}/model.ckpt",
    params:
        fingerprint=lambda w: training_fingerprint(w.model, w.preset, w.dataset),
        run_dir=lambda w: run_dir(w.model, w.preset, w.dataset, w.seed),
    wildcard_constraints:
        dataset=OTHER_DATASET_PATTERN,
    threads: lambda w: job_threads(w.model)
    priority: lambda w: job_priority(w.model)
    resources:
        mem_mb=4000,
        gpu=lambda w: job_gpus(run_config(w.model, w.preset, w.dataset)),
    log:
        "results/logs/train_{preset}_{model}_{dataset}_seed{seed}.log",
    shell:
        "{PYTHON} -m dltutorials.stages.train model={wildcards.model} preset={wildcards.preset} data={wildcards.dataset}"
        " seed={wildcards.seed} hydra.run.dir={params.run_dir} num_threads={threads} trainer.enable_progress_bar=false"
        " {OVERRIDES} > {log} 2>&1"


rule table_paper:
    input:
        lambda w: table_inputs(w.table, "paper", dataset_of(w)),
    output:
        report("results/{table}.csv", caption="../report/model_table.rst", category=report_category),
    params:
        runs=lambda w: table_runs(w.table, "paper", dataset_of(w)),
    log:
        "results/logs/table_paper_{table}.log",
    localrule: True
    run:
        write_model_table(params.runs, output[0], log[0])


use rule table_paper as table_paper_on_dataset with:
    output:
        report("results/{dataset}/{table}.csv", caption="../report/model_table.rst", category=report_category),
    log:
        "results/logs/table_paper_{dataset}_{table}.log",
    wildcard_constraints:
        dataset=OTHER_DATASET_PATTERN,
        table="|".join(TABLES),


rule table:
    input:
        lambda w: table_inputs(w.table, w.preset, dataset_of(w)),
    output:
        report("results/{preset}/{table}.csv", caption="../report/model_table.rst", category=report_category),
    params:
        runs=lambda w: table_runs(w.table, w.preset, dataset_of(w)),
    wildcard_constraints:
        preset="|".join(p for p in PRESETS if p != "paper"),
    log:
        "results/logs/table_{preset}_{table}.log",
    localrule: True
    run:
        write_model_table(params.runs, output[0], log[0])


use rule table as table_on_dataset with:
    output:
        report("results/{preset}/{dataset}/{table}.csv", caption="../report/model_table.rst", category=report_category),
    log:
        "results/logs/table_{preset}_{dataset}_{table}.log",
    wildcard_constraints:
        preset="|".join(p for p in PRESETS if p != "paper"),
        dataset=OTHER_DATASET_PATTERN,
        table="|".join(TABLES),
