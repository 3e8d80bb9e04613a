# The image models' jobs (tutorial chapters 4-10): greedy layer-wise pretraining, one job and one artifact
# per layer, the training set's codes at each layer computed once (sections 8.2, 10.1); then supervised
# training, or fine-tuning of the pretrained stack. One rule each for every preset, dataset and sweep:
# {stack} and {run} are a folder under results/runs/ (dltutorials.workflow.plan.ImageRun):
#   <preset>/<model>/[<dataset>/]seed<N>                     a model's run (MNIST's paths name no dataset)
#   <preset>/sweeps/<sweep>/[<dataset>/]pre<x>/seed<N>       a sweep's stack for one pretraining value
#   <preset>/sweeps/<sweep>/[<dataset>/]pre<x>/seed<N>/fine<y>   a grid point's fine-tuning on that stack
# A sweep's jobs get the grid point's overrides after the user's (params.point).


rule pretrain_layer:
    input:
        lambda w: plan.layer_input(plan.image_run(w.stack), int(w.layer)),
    output:
        "results/runs/{stack}/layer{layer}/layer.pt",
    params:
        fingerprint=lambda w: plan.layer_fingerprint(plan.image_run(w.stack), int(w.layer)),
        job=lambda w: plan.job_arguments(plan.image_run(w.stack)),
        point=lambda w: plan.point_arguments(plan.image_run(w.stack)),
    threads: lambda w: plan.job_threads(plan.image_run(w.stack).model)
    priority: lambda w: plan.job_priority(plan.image_run(w.stack).model)
    resources:
        mem_mb=4000,
        gpu=lambda w: plan.job_gpus(plan.run_config(plan.image_run(w.stack))),
    log:
        "results/logs/pretrain/{stack}/layer{layer}.log",
    shell:
        "{PYTHON} -m dltutorials.stages.pretrain train {wildcards.layer} {params.job} num_threads={threads}"
        " trainer.enable_progress_bar=false {OVERRIDES} {params.point} > {log} 2>&1"


rule encode_layer:
    input:
        layer="results/runs/{stack}/layer{layer}/layer.pt",
        inputs=lambda w: plan.layer_input(plan.image_run(w.stack), int(w.layer)),
    output:
        "results/runs/{stack}/layer{layer}/codes.npy",
    params:
        job=lambda w: plan.job_arguments(plan.image_run(w.stack)),
        point=lambda w: plan.point_arguments(plan.image_run(w.stack)),
    priority: lambda w: plan.job_priority(plan.image_run(w.stack).model)
    resources:
        mem_mb=4000,
    log:
        "results/logs/encode/{stack}/layer{layer}.log",
    shell:
        "{PYTHON} -m dltutorials.stages.pretrain encode {wildcards.layer} {params.job} {OVERRIDES} {params.point}"
        " > {log} 2>&1"


rule train:
    input:
        data=lambda w: plan.prepared_data(plan.image_run(w.run)),
        pretrained=lambda w: plan.layer_files(plan.image_run(w.run)),
    output:
        metrics="results/runs/{run}/metrics.json",
        checkpoint="results/runs/{run}/model.ckpt",
    params:
        fingerprint=lambda w: plan.training_fingerprint(plan.image_run(w.run)),
        job=lambda w: plan.job_arguments(plan.image_run(w.run), writes_run_dir=True),
        point=lambda w: plan.point_arguments(plan.image_run(w.run)),
    threads: lambda w: plan.job_threads(plan.image_run(w.run).model)
    priority: lambda w: plan.job_priority(plan.image_run(w.run).model)
    resources:
        mem_mb=4000,
        gpu=lambda w: plan.job_gpus(plan.run_config(plan.image_run(w.run))),
    log:
        "results/logs/train/{run}.log",
    shell:
        "{PYTHON} -m dltutorials.stages.train {params.job} num_threads={threads} trainer.enable_progress_bar=false"
        " {OVERRIDES} {params.point} > {log} 2>&1"
