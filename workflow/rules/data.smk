# Dataset download (mirrors, SHA-256) and preparation into per-split .npz files.


rule download:
    output:
        "results/data/{dataset}/{dataset}.pkl.gz",
    params:
        overrides=lambda w: quoted(hydra_overrides([f"data={w.dataset}"])),
    log:
        "results/logs/download_{dataset}.log",
    localrule: True  # needs the network: on a cluster, run on the login node
    shell:
        "{PYTHON} -m dltutorials.stages.data download {params.overrides} > {log} 2>&1"


rule prepare:
    input:
        rules.download.output,
    output:
        expand("results/data/{{dataset}}/{split}.npz", split=SPLITS),
    params:
        overrides=lambda w: quoted(hydra_overrides([f"data={w.dataset}"])),
    log:
        "results/logs/prepare_{dataset}.log",
    shell:
        "{PYTHON} -m dltutorials.stages.data prepare {params.overrides} > {log} 2>&1"
