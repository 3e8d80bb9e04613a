"""Thin command-line entry points, one per pipeline stage; Snakemake calls these.

Each takes Hydra overrides (``key=value`` ...) and calls a function of the
package that takes a composed config.
"""

import contextlib
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from dltutorials.config import ConfigError
from dltutorials.data.download import DataError

# Data is in memory and sliced: DataLoader worker processes would only add overhead.
warnings.filterwarnings("ignore", message=".*does not have many workers.*")
warnings.filterwarnings("ignore", message=".*LeafSpec.*is deprecated.*")  # inside lightning 2.6 with torch 2.13


@contextlib.contextmanager
def one_line_errors() -> Iterator[None]:
    """A bad setting or a missing input ends the process with one line naming it, not a traceback."""
    try:
        yield
    except ConfigError as error:
        sys.exit(f"config error: {error}")
    except (DataError, FileNotFoundError) as error:
        sys.exit(f"error: {error}")


def run_in_output_dir(stage: Callable[[DictConfig, Path], dict], cfg: DictConfig) -> dict:
    """``stage(cfg, out_dir)`` in Hydra's output directory (the run's folder under Snakemake, else one of its
    own); a bad setting or a missing input ends the process with one line."""
    with one_line_errors():
        return stage(cfg, HydraConfig.get().runtime.output_dir)
