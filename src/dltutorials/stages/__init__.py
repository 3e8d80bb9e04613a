"""Thin command-line entry points, one per pipeline stage; Snakemake calls these.

Each takes Hydra overrides (``key=value`` ...) and calls a function of the
package that takes a composed config.
"""
