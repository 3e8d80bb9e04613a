"""How long a dry run of the whole paper DAG takes, with the composed configs kept (dltutorials.config.composed)
and without, against Snakemake's own start on a one-rule workflow, side by side.

Every `snakemake` start builds the DAG, and under SLURM every job starts Snakemake again: composing each
run's config with Hydra and importing the classes its checks read took most of a dry run's 8 s.
Ratio: the dry run with the configs kept / the one-rule workflow's dry run (goal: under 3 s here).
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import exit_status, interleaved, report

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
ROOT = Path(__file__).resolve().parents[1]


def dry_run(workdir: Path, cache: str) -> float:
    start = time.perf_counter()
    subprocess.run([SNAKEMAKE, "-n", "--cores", "2", "--quiet", "all"], cwd=workdir, check=True,
                   env={**os.environ, "DLTUTORIALS_CACHE_DIR": cache}, capture_output=True)
    return time.perf_counter() - start


def main(repeats: int = 3) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        one_rule = Path(tmp) / "one_rule"
        one_rule.mkdir()
        (one_rule / "Snakefile").write_text('rule all:\n    output: "x"\n    shell: "touch {output}"\n')
        cold = [dry_run(ROOT, tempfile.mkdtemp(dir=tmp)) for _ in range(repeats)]
        kept = str(Path(tmp) / "kept")
        dry_run(ROOT, kept)
        warm, snakemake_alone = interleaved(functools.partial(dry_run, ROOT, kept),
                                            functools.partial(dry_run, one_rule, kept), repeats)
    cold_median = sorted(cold)[len(cold) // 2]
    report("paper_dag_dry_run", warm, snakemake_alone, 3.0, repeats,
           f"paper DAG {warm:.2f} s with the configs kept, {cold_median:.2f} s composing them; "
           f"one-rule workflow {snakemake_alone:.2f} s")


if __name__ == "__main__":
    main()
    sys.exit(exit_status())
