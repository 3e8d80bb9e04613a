# The RNN-RBM on polyphonic music (tutorial chapter 12): per dataset, preset, variant (conf/rnnrbm_variant/)
# and seed one training job, which also evaluates and generates, after an RBM pretraining job where the
# variant asks for one; then figures and the generated tunes. results/rnnrbm.csv is made by the `table`
# rule (tables.smk).


rule pretrain_rnnrbm:
    input:
        lambda w: plan.music_prepared_data(w.dataset, w.preset, w.variant),
    output:
        "results/runs/{preset}/rnnrbm/{dataset}/{variant}/seed{seed}/rbm/layer.pt",
    params:
        fingerprint=lambda w: plan.music_pretraining_fingerprint(w.dataset, w.preset, w.variant),
        run_dir=lambda w: layout.music_run_dir(w.preset, w.dataset, w.variant, w.seed),
    threads: 1
    resources:
        mem_mb=2000,
        gpu=lambda w: plan.job_gpus(plan.music_config(w.dataset, w.preset, w.variant)),
    log:
        "results/logs/rnnrbm_pretrain/{preset}/{dataset}/{variant}/seed{seed}.log",
    shell:
        "{PYTHON} -m dltutorials.stages.music_pretrain data={wildcards.dataset} preset={wildcards.preset}"
        " rnnrbm_variant={wildcards.variant} seed={wildcards.seed} hydra.run.dir={params.run_dir}"
        " num_threads={threads} trainer.enable_progress_bar=false {MUSIC_OVERRIDES}"
        " > {log} 2>&1"


rule train_rnnrbm:
    input:
        data=lambda w: plan.music_prepared_data(w.dataset, w.preset, w.variant),
        pretrained=lambda w: plan.music_pretrained_rbm(w.dataset, w.preset, w.variant, w.seed),
    output:
        metrics="results/runs/{preset}/rnnrbm/{dataset}/{variant}/seed{seed}/metrics.json",
        samples="results/runs/{preset}/rnnrbm/{dataset}/{variant}/seed{seed}/samples.npz",
    params:
        fingerprint=lambda w: plan.music_fingerprint(w.dataset, w.preset, w.variant),
        run_dir=lambda w: layout.music_run_dir(w.preset, w.dataset, w.variant, w.seed),
    threads: 1
    resources:
        mem_mb=3000,
        gpu=lambda w: plan.job_gpus(plan.music_config(w.dataset, w.preset, w.variant)),
    log:
        "results/logs/rnnrbm/{preset}/{dataset}/{variant}/seed{seed}.log",
    shell:
        "{PYTHON} -m dltutorials.stages.music data={wildcards.dataset} preset={wildcards.preset}"
        " rnnrbm_variant={wildcards.variant} seed={wildcards.seed} hydra.run.dir={params.run_dir}"
        " num_threads={threads} trainer.enable_progress_bar=false {MUSIC_OVERRIDES} > {log} 2>&1"


rule music_figure:
    input:
        lambda w: plan.music_figure_inputs(w.music_table, w.preset_folder, w.music_figure),
    params:
        run_dirs=lambda w, input: [str(Path(path).parent) for path in input if path.endswith("metrics.json")],
    output:
        report("results/{preset_folder}figures/{music_table}_{music_figure}.png", caption="../report/music.rst",
               category=CHAPTERS["rnnrbm"]),
    log:
        "results/logs/figure/{preset_folder}{music_table}_{music_figure}.log",
    localrule: True
    shell:
        "{PYTHON} -m dltutorials.drawing.music_figures {wildcards.music_figure} {output} {params.run_dirs} > {log} 2>&1"


# The first seed's generated tunes beside the table: results/[<preset>/]<table>/sample<i>.mid for the first
# variant of config rnnrbm_variants, results/[<preset>/]<table>/<variant>/sample<i>.mid for the others.
rule music_sample:
    input:
        lambda w: plan.sample_source(w.sample_folder),
    output:
        "results/{sample_folder}/sample{i}.mid",
    wildcard_constraints:
        sample_folder=alternatives(plan.sample_folders()),
        i=r"\d+",
    params:
        tune=lambda w, input: f"{Path(input[0]).parent}/sample{w.i}.mid",
    log:
        "results/logs/music_sample/{sample_folder}/sample{i}.log",
    localrule: True
    shell:
        # under a temporary name, then renamed: never a half-copied tune
        "(cp {params.tune:q} {output:q}.part && mv {output:q}.part {output:q}) > {log} 2>&1"
