# Dataset download (mirrors, SHA-256) and preparation into per-split .npz files: images (MNIST) from a
# gzipped pickle, `python -m dltutorials.stages.data <step> data=<name>`; binarised images (mnist_binarized)
# drawn from another dataset's prepared splits; piano rolls from a folder of MIDI files,
# `python -m dltutorials.stages.music_data <step> data=<name>`.


rule download:
    wildcard_constraints:
        dataset=alternatives(plan.downloaded_image_datasets),
    output:
        "results/data/{dataset}/{dataset}.pkl.gz",
    log:
        "results/logs/download_{dataset}.log",
    localrule: True  # needs the network: on a cluster, run on the login node
    shell:
        "{MIRROR_ENV}{PYTHON} -m dltutorials.stages.data download data={wildcards.dataset} > {log} 2>&1"


rule download_piano_rolls:
    wildcard_constraints:
        dataset=alternatives(plan.piano_roll_datasets),
    output:
        directory("results/data/{dataset}/midi"),
    params:
        # a corpus dataset's selection and split (nothing for a downloaded one: its checksums pin it)
        settings=lambda w: plan.music_data_settings(w.dataset, ("corpus", "split")),
    log:
        "results/logs/download_{dataset}.log",
    localrule: True  # needs the network (or a package's corpus): on a cluster, run on the login node
    shell:
        "{MIRROR_ENV}{PYTHON} -m dltutorials.stages.music_data download data={wildcards.dataset} > {log} 2>&1"


rule prepare:
    wildcard_constraints:
        dataset=alternatives(plan.downloaded_image_datasets),
    input:
        lambda w: plan.downloaded(w.dataset),
    output:
        expand("results/data/{{dataset}}/{split}.npz", split=layout.SPLITS),
    log:
        "results/logs/prepare_{dataset}.log",
    localrule: True
    shell:
        "{PYTHON} -m dltutorials.stages.data prepare data={wildcards.dataset} > {log} 2>&1"


rule prepare_piano_rolls:
    wildcard_constraints:
        dataset=alternatives(plan.piano_roll_datasets),
    input:
        lambda w: plan.downloaded(w.dataset),
    output:
        expand("results/data/{{dataset}}/{split}.npz", split=layout.SPLITS),
    params:
        # the frames: their length or beat, the notes, the key a transposed tune moves to
        settings=lambda w: plan.preparation_settings(w.dataset),
    log:
        "results/logs/prepare_{dataset}.log",
    localrule: True
    shell:
        "{PYTHON} -m dltutorials.stages.music_data prepare data={wildcards.dataset} > {log} 2>&1"


rule binarize:
    wildcard_constraints:
        dataset=alternatives(plan.binarized_from),
    input:
        lambda w: [layout.prepared_split(plan.binarized_from[w.dataset], split) for split in layout.SPLITS],
    output:
        expand("results/data/{{dataset}}/{split}.npz", split=layout.SPLITS),
    params:
        seed=lambda w: plan.data_section(w.dataset)["binarize_seed"],
    log:
        "results/logs/binarize_{dataset}.log",
    localrule: True
    shell:
        "{PYTHON} -m dltutorials.stages.data binarize data={wildcards.dataset} > {log} 2>&1"
