# Hybrid Monte-Carlo (tutorial chapter 11): one job per target and seed, and two figures; results/hmc.csv
# is made by the `table` rule (tables.smk). Nothing is trained.


rule sample_hmc:
    output:
        metrics="results/runs/{preset}/hmc/{target}/seed{seed}/metrics.json",
        draws="results/runs/{preset}/hmc/{target}/seed{seed}/draws.npz",
    params:
        fingerprint=lambda w: plan.hmc_fingerprint(w.target, w.preset),
        run_dir=lambda w: layout.hmc_run_dir(w.preset, w.target, w.seed),
    threads: 1
    resources:
        mem_mb=2000,
        gpu=lambda w: plan.job_gpus(plan.hmc_config(w.target, w.preset)),
    log:
        "results/logs/hmc/{preset}/{target}/seed{seed}.log",
    shell:
        "{PYTHON} -m dltutorials.stages.sample hmc_target={wildcards.target} preset={wildcards.preset}"
        " seed={wildcards.seed} hydra.run.dir={params.run_dir} num_threads={threads} {HMC_OVERRIDES} > {log} 2>&1"


rule hmc_figure:
    input:
        lambda w: plan.hmc_figure_inputs(w.preset_folder),
    output:
        report("results/{preset_folder}figures/hmc_{hmc_figure}.png", caption="../report/hmc.rst",
               category=CHAPTERS["hmc"]),
    log:
        "results/logs/figure/{preset_folder}hmc_{hmc_figure}.log",
    localrule: True
    shell:
        "{PYTHON} -m dltutorials.drawing.hmc_figures {wildcards.hmc_figure} {output} {input} > {log} 2>&1"
