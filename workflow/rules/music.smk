# The RNN-RBM on polyphonic music (tutorial chapter 12): one training job per
# dataset, preset and seed (it also evaluates and generates), figures and the
# generated tunes; results/rnnrbm.csv is made by the `table` rules.


rule train_rnnrbm:
    input:
        lambda w: [f"{music_config(w.dataset, w.preset)['data']['prepared_dir']}/{split}.npz" for split in SPLITS],
    output:
        metrics="results/runs/{preset}/rnnrbm/{dataset}/seed{seed}/metrics.json",
        samples="results/runs/{preset}/rnnrbm/{dataset}/seed{seed}/samples.npz",
    params:
        fingerprint=lambda w: music_fingerprint(w.dataset, w.preset),
        run_dir=lambda w: music_run_dir(w.dataset, w.preset, w.seed),
    threads: 1
    resources:
        mem_mb=3000,
    log:
        "results/logs/rnnrbm_{preset}_{dataset}_seed{seed}.log",
    shell:
        "{PYTHON} -m dltutorials.stages.music data={wildcards.dataset} preset={wildcards.preset}"
        " seed={wildcards.seed} hydra.run.dir={params.run_dir} num_threads={threads}"
        " trainer.enable_progress_bar=false {MUSIC_OVERRIDES} > {log} 2>&1"


def music_figure_inputs(table, preset, figure):
    """samples: the first seed's run (and the test tune drawn beside it); monitor: every seed's run."""
    runs = music_runs(table, preset)
    if figure == "samples":
        prepared = music_config(MUSIC_TABLES[table], preset)["data"]["prepared_dir"]
        return [f"{runs[0]['run_dir']}/metrics.json", f"{prepared}/test.npz"]
    return [f"{run['run_dir']}/metrics.json" for run in runs]


rule figure_music_paper:
    input:
        lambda w: music_figure_inputs(w.music_table, "paper", w.music_figure),
    params:
        run_dirs=lambda w, input: [str(Path(path).parent) for path in input if path.endswith("metrics.json")],
    output:
        "results/figures/{music_table}_{music_figure}.png",
    log:
        "results/logs/figure_paper_{music_table}_{music_figure}.log",
    shell:
        "{PYTHON} -m dltutorials.stages.music_figures {wildcards.music_figure} {output}"
        " {params.run_dirs} > {log} 2>&1"


rule figure_music:
    input:
        lambda w: music_figure_inputs(w.music_table, w.preset, w.music_figure),
    params:
        run_dirs=lambda w, input: [str(Path(path).parent) for path in input if path.endswith("metrics.json")],
    output:
        "results/{preset}/figures/{music_table}_{music_figure}.png",
    wildcard_constraints:
        preset="|".join(p for p in PRESETS if p != "paper"),
    log:
        "results/logs/figure_{preset}_{music_table}_{music_figure}.log",
    shell:
        "{PYTHON} -m dltutorials.stages.music_figures {wildcards.music_figure} {output}"
        " {params.run_dirs} > {log} 2>&1"


def copy_sample(source, destination):
    from dltutorials.atomic import atomic_path

    with atomic_path(destination) as tmp:
        shutil.copyfile(source, tmp)


rule music_sample_paper:
    input:
        lambda w: f"{music_runs(w.music_table, 'paper')[0]['run_dir']}/metrics.json",
    output:
        "results/{music_table}/sample{i}.mid",
    wildcard_constraints:
        i=r"\d+",
    localrule: True
    run:
        copy_sample(Path(input[0]).parent / f"sample{wildcards.i}.mid", output[0])


rule music_sample:
    input:
        lambda w: f"{music_runs(w.music_table, w.preset)[0]['run_dir']}/metrics.json",
    output:
        "results/{preset}/{music_table}/sample{i}.mid",
    wildcard_constraints:
        preset="|".join(p for p in PRESETS if p != "paper"),
        i=r"\d+",
    localrule: True
    run:
        copy_sample(Path(input[0]).parent / f"sample{wildcards.i}.mid", output[0])
