# Dataset download (mirrors, SHA-256) and preparation into per-split .npz files.


rule download:
    output:
        "results/data/{dataset}/{dataset}.pkl.gz",
    log:
        "results/logs/download_{dataset}.log",
    localrule: True  # needs the network: on a cluster, run on the login node
    shell:
        "{MIRROR_ENV}{PYTHON} -m dltutorials.stages.data download data={wildcards.dataset} > {log} 2>&1"


rule prepare:
    input:
        rules.download.output,
    output:
        expand("results/data/{{dataset}}/{split}.npz", split=SPLITS),
    log:
        "results/logs/prepare_{dataset}.log",
    shell:
        "{PYTHON} -m dltutorials.stages.data prepare data={wildcards.dataset} > {log} 2>&1"
