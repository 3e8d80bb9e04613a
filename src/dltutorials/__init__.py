"""The LISA lab Deep Learning Tutorials (2014) as a Snakemake + Hydra + PyTorch Lightning pipeline."""

import os

# OpenMP threads that wait for a sibling sleep instead of spinning. With the
# default (spin), a job using 2 threads beside any other busy program on a
# 2-core machine spends its time spinning for a sibling the scheduler does not
# run: an MLP update took 39-99 ms instead of 0.6 ms (docs/design.md, "Threads").
# libgomp reads this once, when torch loads it, so it is set before any
# module of this package imports torch; a value the user exported wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
