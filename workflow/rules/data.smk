# Dataset download (mirrors, SHA-256) and preparation into per-split .npz files:
# images (MNIST) from a gzipped pickle, piano rolls from folders of MIDI files;
# binarised images (mnist_binarized) drawn from another dataset's prepared splits.


rule download:
    wildcard_constraints:
        dataset="|".join(DOWNLOADED_IMAGE_DATASETS),
    output:
        "results/data/{dataset}/{dataset}.pkl.gz",
    log:
        "results/logs/download_{dataset}.log",
    localrule: True  # needs the network: on a cluster, run on the login node
    shell:
        "{MIRROR_ENV}{PYTHON} -m dltutorials.stages.data download data={wildcards.dataset} > {log} 2>&1"


rule prepare:
    wildcard_constraints:
        dataset="|".join(DOWNLOADED_IMAGE_DATASETS),
    input:
        rules.download.output,
    output:
        expand("results/data/{{dataset}}/{split}.npz", split=SPLITS),
    log:
        "results/logs/prepare_{dataset}.log",
    localrule: True
    shell:
        "{PYTHON} -m dltutorials.stages.data prepare data={wildcards.dataset} > {log} 2>&1"


rule binarize:
    wildcard_constraints:
        dataset="|".join(BINARIZED_FROM) or "(?!)",
    input:
        lambda w: expand("results/data/{source}/{split}.npz", source=BINARIZED_FROM[w.dataset], split=SPLITS),
    output:
        expand("results/data/{{dataset}}/{split}.npz", split=SPLITS),
    params:
        seed=lambda w: data_section(w.dataset)["binarize_seed"],
    log:
        "results/logs/binarize_{dataset}.log",
    localrule: True
    shell:
        "{PYTHON} -m dltutorials.stages.data binarize data={wildcards.dataset} > {log} 2>&1"


rule download_piano_rolls:
    wildcard_constraints:
        dataset="|".join(PIANO_ROLL_DATASETS),
    output:
        directory("results/data/{dataset}/midi"),
    params:
        # a corpus dataset's selection and split (nothing for a downloaded one: its checksums pin it)
        settings=lambda w: fingerprints.as_text({key: music_config(w.dataset, "paper", "tutorial")["data"].get(key)
                                                 for key in ("corpus", "split")}),
    log:
        "results/logs/download_{dataset}.log",
    localrule: True  # needs the network (or a package's corpus): on a cluster, run on the login node
    shell:
        "{MIRROR_ENV}{PYTHON} -m dltutorials.stages.data download data={wildcards.dataset} > {log} 2>&1"


rule prepare_piano_rolls:
    wildcard_constraints:
        dataset="|".join(PIANO_ROLL_DATASETS),
    input:
        rules.download_piano_rolls.output,
    output:
        expand("results/data/{{dataset}}/{split}.npz", split=SPLITS),
    params:
        settings=lambda w: fingerprints.as_text({key: music_config(w.dataset, "paper", "tutorial")["data"][key]
                                                 for key in ("dt", "note_range", "skip_bad_files")}),
    log:
        "results/logs/prepare_{dataset}.log",
    localrule: True
    shell:
        "{PYTHON} -m dltutorials.stages.data prepare data={wildcards.dataset} > {log} 2>&1"
