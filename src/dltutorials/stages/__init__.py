"""Thin command-line entry points, one per pipeline stage; Snakemake calls these.

Each takes Hydra overrides (``key=value`` ...) and calls a function of the
package that takes a composed config.
"""

import warnings

# Data is in memory and sliced: DataLoader worker processes would only add overhead.
warnings.filterwarnings("ignore", message=".*does not have many workers.*")
warnings.filterwarnings("ignore", message=".*LeafSpec.*is deprecated.*")  # inside lightning 2.6 with torch 2.13
