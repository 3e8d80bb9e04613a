# Greedy layer-wise pretraining (tutorial sections 8.2 and 10.1): one job and one
# artifact per layer; the training set's codes at each layer are computed once.
# As in supervised.smk, each rule has a twin for an image dataset other than MNIST.


rule pretrain_layer:
    input:
        lambda w: layer_input(w.model, w.preset, TUTORIAL_DATASET, w.seed, int(w.layer)),
    output:
        "results/runs/{preset}/{model}/seed{seed}/layer{layer}/layer.pt",
    params:
        fingerprint=lambda w: layer_fingerprint(w.model, w.preset, TUTORIAL_DATASET, int(w.layer)),
    threads: lambda w: job_threads(w.model)
    priority: lambda w: job_priority(w.model)
    resources:
        mem_mb=4000,
        gpu=lambda w: job_gpus(run_config(w.model, w.preset, TUTORIAL_DATASET)),
    log:
        "results/logs/pretrain_{preset}_{model}_seed{seed}_layer{layer}.log",
    shell:
        "{PYTHON} -m dltutorials.stages.pretrain train {wildcards.layer} model={wildcards.model}"
        " preset={wildcards.preset} seed={wildcards.seed} num_threads={threads}"
        " trainer.enable_progress_bar=false {OVERRIDES} > {log} 2>&1"


rule pretrain_layer_on_dataset:
    input:
        lambda w: layer_input(w.model, w.preset, w.dataset, w.seed, int(w.layer)),
    output:
        "results/runs/{preset}/{model}/{dataset}/seed{seed}/layer{layer}/layer.pt",
    params:
        fingerprint=lambda w: layer_fingerprint(w.model, w.preset, w.dataset, int(w.layer)),
    wildcard_constraints:
        dataset=OTHER_DATASET_PATTERN,
    threads: lambda w: job_threads(w.model)
    priority: lambda w: job_priority(w.model)
    resources:
        mem_mb=4000,
        gpu=lambda w: job_gpus(run_config(w.model, w.preset, w.dataset)),
    log:
        "results/logs/pretrain_{preset}_{model}_{dataset}_seed{seed}_layer{layer}.log",
    shell:
        "{PYTHON} -m dltutorials.stages.pretrain train {wildcards.layer} model={wildcards.model}"
        " preset={wildcards.preset} data={wildcards.dataset} seed={wildcards.seed} num_threads={threads}"
        " trainer.enable_progress_bar=false {OVERRIDES} > {log} 2>&1"


rule encode_layer:
    input:
        layer="results/runs/{preset}/{model}/seed{seed}/layer{layer}/layer.pt",
        inputs=lambda w: layer_input(w.model, w.preset, TUTORIAL_DATASET, w.seed, int(w.layer)),
    output:
        "results/runs/{preset}/{model}/seed{seed}/layer{layer}/codes.npy",
    priority: lambda w: job_priority(w.model)
    resources:
        mem_mb=4000,
    log:
        "results/logs/encode_{preset}_{model}_seed{seed}_layer{layer}.log",
    shell:
        "{PYTHON} -m dltutorials.stages.pretrain encode {wildcards.layer} model={wildcards.model}"
        " preset={wildcards.preset} seed={wildcards.seed} {OVERRIDES} > {log} 2>&1"


rule encode_layer_on_dataset:
    input:
        layer="results/runs/{preset}/{model}/{dataset}/seed{seed}/layer{layer}/layer.pt",
        inputs=lambda w: layer_input(w.model, w.preset, w.dataset, w.seed, int(w.layer)),
    output:
        "results/runs/{preset}/{model}/{dataset}/seed{seed}/layer{layer}/codes.npy",
    wildcard_constraints:
        dataset=OTHER_DATASET_PATTERN,
    priority: lambda w: job_priority(w.model)
    resources:
        mem_mb=4000,
    log:
        "results/logs/encode_{preset}_{model}_{dataset}_seed{seed}_layer{layer}.log",
    shell:
        "{PYTHON} -m dltutorials.stages.pretrain encode {wildcards.layer} model={wildcards.model}"
        " preset={wildcards.preset} data={wildcards.dataset} seed={wildcards.seed} {OVERRIDES} > {log} 2>&1"
