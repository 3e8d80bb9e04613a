"""The workflow's logic, importable and tested: the Snakefile's rules only declare jobs and call into it.

- ``layout``: where every table, figure, run folder and layer lives (read by Snakemake and Hydra alike);
- ``plan``: what the workflow builds for a Snakemake ``config`` (conf/workflow.yaml): the models, tables and
  runs, each job's inputs, Hydra arguments and fingerprint, the default target, and the checks that stop a
  bad setting before any job runs.
"""
