# Log-likelihoods of the RBMs and the RNN-RBM, beyond the tutorial (conf/likelihood.yaml, docs/likelihoods.md):
# one AIS job per trained RBM, reading its layer artifacts (trained by images.smk's rules, or reused: the
# tutorial's own RBM of results/rbm.csv), one per RNN-RBM run, and the per-epoch figure; the tables are
# made by tables.smk's likelihood_table. Not in the default target: the comparison RBMs train for hours.
# {model_run}: a model's run folder under results/runs/ (images.smk).


rule likelihood:
    input:
        layers=lambda w: plan.likelihood_layers(plan.image_run(w.model_run)),
        data=lambda w: plan.likelihood_data(plan.image_run(w.model_run).preset),
    output:
        "results/runs/{model_run}/likelihood.json",
    params:
        fingerprint=lambda w: plan.likelihood_fingerprint(plan.image_run(w.model_run).preset),
        preset=lambda w: plan.image_run(w.model_run).preset,
    threads: lambda w: plan.job_threads(plan.image_run(w.model_run).model)
    resources:
        mem_mb=4000,
        gpu=lambda w: plan.job_gpus(plan.likelihood_config(plan.image_run(w.model_run).preset)),
    log:
        "results/logs/likelihood/{model_run}.log",
    shell:
        "{PYTHON} -m dltutorials.stages.likelihood measure results/runs/{wildcards.model_run} preset={params.preset}"
        " num_threads={threads} {LIKELIHOOD_OVERRIDES} > {log} 2>&1"


rule likelihood_epochs:
    input:
        layer="results/runs/{model_run}/layer1/layer.pt",
        data=lambda w: plan.likelihood_data(plan.image_run(w.model_run).preset),
    output:
        "results/runs/{model_run}/likelihood_epochs.csv",
    params:
        fingerprint=lambda w: plan.likelihood_fingerprint(plan.image_run(w.model_run).preset, "curves"),
        preset=lambda w: plan.image_run(w.model_run).preset,
    threads: lambda w: plan.job_threads(plan.image_run(w.model_run).model)
    resources:
        mem_mb=4000,
        gpu=lambda w: plan.job_gpus(plan.likelihood_config(plan.image_run(w.model_run).preset)),
    log:
        "results/logs/likelihood_epochs/{model_run}.log",
    shell:
        "{PYTHON} -m dltutorials.stages.likelihood epochs results/runs/{wildcards.model_run} preset={params.preset}"
        " num_threads={threads} {LIKELIHOOD_OVERRIDES} > {log} 2>&1"


rule rnnrbm_likelihood:
    input:
        run="results/runs/{preset}/rnnrbm/{dataset}/{variant}/seed{seed}/metrics.json",
        data=lambda w: plan.music_prepared_data(w.dataset, w.preset, w.variant),
    output:
        "results/runs/{preset}/rnnrbm/{dataset}/{variant}/seed{seed}/likelihood.json",
    params:
        fingerprint=lambda w: plan.music_likelihood_fingerprint(w.preset),
    threads: 1
    resources:
        mem_mb=4000,
        gpu=lambda w: plan.job_gpus(plan.likelihood_config(w.preset)),
    log:
        "results/logs/rnnrbm_likelihood/{preset}/{dataset}/{variant}/seed{seed}.log",
    shell:
        "{PYTHON} -m dltutorials.stages.likelihood frames results/runs/{wildcards.preset}/rnnrbm/{wildcards.dataset}/"
        "{wildcards.variant}/seed{wildcards.seed} preset={wildcards.preset} num_threads={threads}"
        " {LIKELIHOOD_OVERRIDES} > {log} 2>&1"


# The average test log p(v) after each epoch of conf/likelihood.yaml's curves.models.
rule likelihood_figure:
    input:
        lambda w: plan.likelihood_curve_runs(w.preset_folder),
    output:
        report("results/{preset_folder}figures/rbm_likelihood_epochs.png", caption="../report/rbm_likelihood_epochs.rst",
               category=CHAPTERS["rbm"]),
    log:
        "results/logs/figure/{preset_folder}rbm_likelihood_epochs.log",
    localrule: True
    shell:
        "{PYTHON} -m dltutorials.drawing.curves likelihood {output} {input} > {log} 2>&1"
