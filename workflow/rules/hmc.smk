# Hybrid Monte-Carlo (tutorial chapter 11): one job per target and seed and two
# figures; results/hmc.csv is made by the `table` rules. Nothing is trained.


rule sample_hmc:
    output:
        metrics="results/runs/{preset}/hmc/{target}/seed{seed}/metrics.json",
        draws="results/runs/{preset}/hmc/{target}/seed{seed}/draws.npz",
    params:
        fingerprint=lambda w: hmc_fingerprint(w.target, w.preset),
        run_dir=lambda w: hmc_run_dir(w.target, w.preset, w.seed),
    threads: 1
    resources:
        mem_mb=2000,
        gpu=lambda w: job_gpus(hmc_config(w.target, w.preset)),
    log:
        "results/logs/hmc_{preset}_{target}_seed{seed}.log",
    shell:
        "{PYTHON} -m dltutorials.stages.sample hmc_target={wildcards.target} preset={wildcards.preset}"
        " seed={wildcards.seed} hydra.run.dir={params.run_dir} num_threads={threads} {HMC_OVERRIDES} > {log} 2>&1"


rule figure_hmc_paper:
    input:
        lambda w: hmc_figure_inputs("paper"),
    output:
        report("results/figures/hmc_{hmc_figure}.png", caption="../report/hmc.rst", category=report_category),
    log:
        "results/logs/figure_paper_hmc_{hmc_figure}.log",
    localrule: True
    shell:
        "{PYTHON} -m dltutorials.stages.hmc_figures {wildcards.hmc_figure} {output} {input} > {log} 2>&1"


rule figure_hmc:
    input:
        lambda w: hmc_figure_inputs(w.preset),
    output:
        report("results/{preset}/figures/hmc_{hmc_figure}.png", caption="../report/hmc.rst", category=report_category),
    wildcard_constraints:
        preset="|".join(p for p in PRESETS if p != "paper"),
    log:
        "results/logs/figure_{preset}_hmc_{hmc_figure}.log",
    localrule: True
    shell:
        "{PYTHON} -m dltutorials.stages.hmc_figures {wildcards.hmc_figure} {output} {input} > {log} 2>&1"
