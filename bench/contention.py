"""Training updates beside a busy program: the project's thread settings alone and beside one CPU-bound process.

The busy process (``python -c "while True: pass"``) is started in its own
session (``start_new_session``), so on Linux with autogroup scheduling it is
in its own scheduling group, like a program in another terminal. Each
measurement runs in a fresh process that imports the package first (which
sets the OpenMP wait policy) and uses the threads a Snakemake job of that
model gets (``threads`` in conf/workflow.yaml). Ratio: beside / alone.
"""

from __future__ import annotations

import functools
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from common import exit_status, interleaved, report

UPDATES = {"mlp": 2000, "dbn": 1000}


def job_threads(model: str) -> int:
    threads = yaml.safe_load((Path(__file__).parents[1] / "conf/workflow.yaml").read_text())["threads"]
    return threads.get(model, threads["default"])


def seconds_per_update(model: str) -> float:
    """In this (fresh) process: the model's update at the paper batch size, with its job's threads."""
    import torch  # after `common`, which imports the package: the OpenMP wait policy is set, as in a job
    from hydra.utils import instantiate

    from dltutorials.config import compose
    from dltutorials.stages.pretrain import build_layer

    torch.set_num_threads(job_threads(model))
    torch.manual_seed(0)
    cfg = compose([f"model={model}"])
    if model == "dbn":  # the DBN's first RBM, CD-1 at batch 10
        layer, batch = build_layer(cfg, 1), cfg.model.pretrain.batch_size
        x = torch.rand(50, batch, cfg.data.n_features)

        def update(i: int) -> None:
            layer.update(x[i % 50])
    else:
        layer, batch = instantiate(cfg.model.module), cfg.model.batch_size
        x, y = torch.rand(50, batch, cfg.data.n_features), torch.randint(0, 10, (50, batch))

        def update(i: int) -> None:
            layer.update(x[i % 50], y[i % 50])

    for i in range(UPDATES[model] // 10):
        update(i)
    start = time.perf_counter()
    for i in range(UPDATES[model]):
        update(i)
    return (time.perf_counter() - start) / UPDATES[model]


def in_fresh_process(model: str, beside_busy: bool) -> float:
    busy = None
    if beside_busy:
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
        time.sleep(0.5)
    try:
        out = subprocess.run([sys.executable, __file__, "--child", model], check=True, capture_output=True,
                             text=True).stdout
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
    return float(out.strip().splitlines()[-1])


def main(repeats: int = 3) -> None:
    # a SIGTERM (timeout, Ctrl-C's cousin) must still run the `finally` that stops the busy process
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(f"stopped by signal {signum}"))
    for model, name in (("mlp", "mlp_update_beside_busy_process"), ("dbn", "rbm_cd1_update_beside_busy_process")):
        beside, alone = interleaved(functools.partial(in_fresh_process, model, True),
                                    functools.partial(in_fresh_process, model, False), repeats)
        report(name, beside, alone, 1.3, repeats,
               extra=f"beside {beside * 1e3:.3f} ms alone {alone * 1e3:.3f} ms per update, "
                     f"{job_threads(model)} thread(s)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        print(seconds_per_update(sys.argv[2]))
    else:
        main()
        sys.exit(exit_status())
