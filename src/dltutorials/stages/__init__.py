"""The stages that make numbers: prepare data, train, pretrain, sample, measure. Every one is called the same way,

    python -m dltutorials.stages.<name> [<argument>...] [<key>=<value>...]

its own arguments first (what to do, a layer, a run folder: ``--help`` lists them), then Hydra overrides of
its root config (``conf/<root>.yaml``). The rest of Hydra's command line works for every stage too: ``-m``
runs a sweep (or SLURM jobs, ``hydra/launcher=slurm``), ``--cfg job`` prints the composed config.

What every run does at its start and at its end is here, once (``start``, ``finish``): torch's threads and
the seed; then the resolved config (``config.yaml``) and, last and atomically, the result with its provenance
(``metrics.json``: its presence marks a finished run). A bad setting or a missing input ends the process with
one line naming it (``dltutorials.cli``). The stages that only draw are ``dltutorials.drawing``.
"""

from __future__ import annotations

import argparse
import socket
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import hydra
import lightning as L
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from dltutorials import runtime
from dltutorials.atomic import write_json, write_text
from dltutorials.cli import one_line_errors
from dltutorials.config import CONFIG_DIR
from dltutorials.provenance import code_digest, git_commit, library_versions, numerics_fingerprint, processor

# Data is in memory and sliced: DataLoader worker processes would only add overhead.
warnings.filterwarnings("ignore", message=".*does not have many workers.*")
warnings.filterwarnings("ignore", message=".*LeafSpec.*is deprecated.*")  # inside lightning 2.6 with torch 2.13

# For the stages that write beside a run or the data rather than into a run folder of their own (hydra.run.dir):
# Hydra writes nothing of its own, and logs to the console only (the rule's log under Snakemake).
NO_RUN_FOLDER = ["hydra.run.dir=.", "hydra.output_subdir=null", "hydra/job_logging=stdout"]


def start(cfg: DictConfig, seed: int | None = None) -> None:
    """What every run does first: torch's threads and the allocator (``runtime.configure``), then every random
    generator seeded with the run's seed, or with ``seed`` where a part of a run has a stream of its own."""
    runtime.configure(cfg.num_threads)
    L.seed_everything(cfg.seed if seed is None else seed, verbose=False)


def provenance(settings: dict) -> dict:
    """What made a result: the digest of the numerics code, the fingerprint of ``settings`` (what changes the
    result's numbers, ``dltutorials.fingerprints``) with that code, the machine and its CPU, the commit, the
    libraries."""
    code = code_digest()
    return {"code": code, "numerics": numerics_fingerprint(settings, code), "host": socket.gethostname(),
            "cpu": processor(), "git_commit": git_commit(), "versions": library_versions()}


def finish(folder: str | Path, plain: dict, result: dict, settings: dict,
           last: str | Callable[[dict], None] = "metrics.json", config_file: str = "config.yaml") -> dict:
    """What every run does last: its resolved config (``config_file``), then ``result`` with its provenance
    (``settings``: what changes its numbers), written last and atomically (``last``: a JSON file in ``folder``,
    or a function that saves the result some other way, e.g. with a layer's weights), since its presence marks a
    finished run. Returns the result."""
    result = {**result, **provenance(settings)}
    write_text(Path(folder) / config_file, OmegaConf.to_yaml(plain))
    if callable(last):
        last(result)
    else:
        write_json(Path(folder) / last, result)
    return result


def main(doc: str, run: Callable[..., dict], summary: Callable[[dict], str], config_name: str = "config",
         arguments: Callable[[argparse.ArgumentParser], None] | None = None, run_folder: bool = True) -> None:
    """The command line of a stage: ``arguments`` declares its own (added to a parser), the rest goes to Hydra;
    ``run(cfg, folder, **arguments)`` runs, ``summary(result)`` is printed. ``folder`` is Hydra's output folder
    (the run's folder: Snakemake passes ``hydra.run.dir``), or None for a stage without a ``run_folder``."""
    args: dict = {}
    overrides = sys.argv[1:]
    module = run.__module__  # under python -m, __main__'s: its name is the spec's
    if module == "__main__":
        module = getattr(sys.modules["__main__"].__spec__, "name", module)
    if arguments is not None:  # its own arguments come first; the rest (which may start with -m) is Hydra's
        parser = argparse.ArgumentParser(prog=f"python -m {module}", description=doc,
                                         formatter_class=argparse.RawDescriptionHelpFormatter,
                                         epilog="Hydra's own options: --hydra-help")
        arguments(parser)
        parser.add_argument("hydra", nargs=argparse.REMAINDER, help="Hydra overrides, e.g. preset=quick")
        args = vars(parser.parse_args())
        overrides = args.pop("hydra")
    # Hydra names the run's log after the job: <run folder>/<stage>.log (train.log, sample.log, music.log).
    # Hydra's parser takes its overrides as one run of positionals: ours go with the user's first one (after
    # options such as -m), or last when there is none
    ours = [f"hydra.job.name={module.rpartition('.')[2]}", *([] if run_folder else NO_RUN_FOLDER)]
    first = next((k for k, token in enumerate(overrides) if "=" in token and not token.startswith("-")),
                 len(overrides))
    sys.argv = [sys.argv[0], *overrides[:first], *ours, *overrides[first:]]

    @hydra.main(config_path=str(CONFIG_DIR), config_name=config_name, version_base="1.3")
    def job(cfg: DictConfig) -> None:
        folder = Path(HydraConfig.get().runtime.output_dir) if run_folder else None
        with one_line_errors():
            result = run(cfg, folder, **args)
        print(summary(result))

    job()
