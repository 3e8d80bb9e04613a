# Log-likelihoods of the RBMs, beyond the tutorial (conf/likelihood.yaml, README "Likelihoods"): one AIS job
# per trained RBM, reading its layer artifact (trained by layerwise.smk's rules, or reused: the tutorial's
# own RBM of results/rbm.csv), and a table. Not in the default target: the comparison RBMs train for hours.


rule likelihood:
    input:
        layers=likelihood_layers,
        data=lambda w: likelihood_data(w.preset),
    output:
        "results/runs/{preset}/{model}/{data_folder}seed{seed}/likelihood.json",
    params:
        fingerprint=lambda w: likelihood_fingerprint(w.preset),
    threads: lambda w: job_threads(w.model)
    resources:
        mem_mb=4000,
        gpu=lambda w: job_gpus(likelihood_config(w.preset)),
    log:
        "results/logs/likelihood_{preset}_{model}_{data_folder}seed{seed}.log",
    shell:
        "{PYTHON} -m dltutorials.stages.likelihood measure results/runs/{wildcards.preset}/{wildcards.model}/"
        "{wildcards.data_folder}seed{wildcards.seed} preset={wildcards.preset} num_threads={threads}"
        " {LIKELIHOOD_OVERRIDES} > {log} 2>&1"


rule likelihood_epochs:
    input:
        layer="results/runs/{preset}/{model}/{data_folder}seed{seed}/layer1/layer.pt",
        data=lambda w: likelihood_data(w.preset),
    output:
        "results/runs/{preset}/{model}/{data_folder}seed{seed}/likelihood_epochs.csv",
    params:
        fingerprint=lambda w: likelihood_fingerprint(w.preset, "curves"),
    threads: lambda w: job_threads(w.model)
    resources:
        mem_mb=4000,
        gpu=lambda w: job_gpus(likelihood_config(w.preset)),
    log:
        "results/logs/likelihood_epochs_{preset}_{model}_{data_folder}seed{seed}.log",
    shell:
        "{PYTHON} -m dltutorials.stages.likelihood epochs results/runs/{wildcards.preset}/{wildcards.model}/"
        "{wildcards.data_folder}seed{wildcards.seed} preset={wildcards.preset} num_threads={threads}"
        " {LIKELIHOOD_OVERRIDES} > {log} 2>&1"


rule likelihood_figure_paper:
    input:
        lambda w: likelihood_curve_runs("paper"),
    output:
        report("results/figures/rbm_likelihood_epochs.png", caption="../report/rbm_likelihood_epochs.rst",
               category=CHAPTERS["rbm"]),
    log:
        "results/logs/likelihood_figure_paper.log",
    localrule: True
    shell:
        "{PYTHON} -m dltutorials.stages.likelihood figure {output} {input} > {log} 2>&1"


use rule likelihood_figure_paper as likelihood_figure with:
    input:
        lambda w: likelihood_curve_runs(w.preset),
    output:
        report("results/{preset}/figures/rbm_likelihood_epochs.png", caption="../report/rbm_likelihood_epochs.rst",
               category=CHAPTERS["rbm"]),
    wildcard_constraints:
        preset="|".join(p for p in PRESETS if p != "paper"),
    log:
        "results/logs/likelihood_figure_{preset}.log",


rule likelihood_table_paper:
    input:
        lambda w: likelihood_runs("paper"),
    output:
        report("results/rbm_likelihood.csv", caption="../report/rbm_likelihood.rst", category=CHAPTERS["rbm"]),
    log:
        "results/logs/likelihood_table_paper.log",
    localrule: True
    run:
        write_likelihood_table(input, output[0], log[0])


rule likelihood_table:
    input:
        lambda w: likelihood_runs(w.preset),
    output:
        report("results/{preset}/rbm_likelihood.csv", caption="../report/rbm_likelihood.rst",
               category=CHAPTERS["rbm"]),
    wildcard_constraints:
        preset="|".join(p for p in PRESETS if p != "paper"),
    log:
        "results/logs/likelihood_table_{preset}.log",
    localrule: True
    run:
        write_likelihood_table(input, output[0], log[0])


# The RNN-RBM's log-likelihood per frame on its valid and test tunes (conf/likelihood.yaml, `rnnrbm`): one job
# per run of the music table, reading its model.ckpt; results/[<preset>/]rnnrbm_likelihood.csv for Nottingham.
rule rnnrbm_likelihood:
    input:
        run="results/runs/{preset}/rnnrbm/{dataset}/{variant}/seed{seed}/metrics.json",
        data=lambda w: music_prepared_data(w.dataset, w.preset, w.variant),
    output:
        "results/runs/{preset}/rnnrbm/{dataset}/{variant}/seed{seed}/likelihood.json",
    params:
        fingerprint=lambda w: music_likelihood_fingerprint(w.preset),
    threads: 1
    resources:
        mem_mb=4000,
        gpu=lambda w: job_gpus(likelihood_config(w.preset)),
    log:
        "results/logs/rnnrbm_likelihood_{preset}_{dataset}_{variant}_seed{seed}.log",
    shell:
        "{PYTHON} -m dltutorials.stages.likelihood frames results/runs/{wildcards.preset}/rnnrbm/{wildcards.dataset}/"
        "{wildcards.variant}/seed{wildcards.seed} preset={wildcards.preset} num_threads={threads}"
        " {LIKELIHOOD_OVERRIDES} > {log} 2>&1"


rule rnnrbm_likelihood_table_paper:
    input:
        lambda w: music_likelihood_runs(w.music_table, "paper"),
    output:
        report("results/{music_table}_likelihood.csv", caption="../report/rnnrbm_likelihood.rst",
               category=CHAPTERS["rnnrbm"]),
    log:
        "results/logs/likelihood_table_paper_{music_table}.log",
    localrule: True
    run:
        write_likelihood_table(input, output[0], log[0])


use rule rnnrbm_likelihood_table_paper as rnnrbm_likelihood_table with:
    input:
        lambda w: music_likelihood_runs(w.music_table, w.preset),
    output:
        report("results/{preset}/{music_table}_likelihood.csv", caption="../report/rnnrbm_likelihood.rst",
               category=CHAPTERS["rnnrbm"]),
    wildcard_constraints:
        preset="|".join(p for p in PRESETS if p != "paper"),
    log:
        "results/logs/likelihood_table_{preset}_{music_table}.log",
