"""The stages that only draw: each reads finished runs' files or the tables and writes one figure or table.
Nothing here trains or samples a model for a number (that is ``dltutorials.stages``), so a change here never
changes a result. Every one is called the same way:

    python -m dltutorials.drawing.<name> <what> <output> <inputs>...

``<what>`` picks the figure, ``<inputs>`` are run folders, files or tables (Hydra overrides for ``figures``,
which reads a run through its config). A missing or malformed input ends the process with one line naming it;
every output is written atomically (``dltutorials.atomic``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from dltutorials.cli import one_line_errors

Drawing = Callable[[Path, list[str]], None]


def main(doc: str, drawings: dict[str, Drawing], inputs: str, argv: list[str] | None = None,
         at_least_one: bool = True) -> None:
    """Parse ``<what> <output> <inputs>...`` and draw ``drawings[what](output, inputs)``; ``doc`` is the module's
    docstring (the command's help), ``inputs`` says what the inputs are."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=list(drawings))
    parser.add_argument("output", type=Path)
    parser.add_argument("inputs", nargs="+" if at_least_one else "*", help=inputs)
    args = parser.parse_args(argv)
    with one_line_errors(OSError, ValueError):
        drawings[args.what](args.output, args.inputs)
    print(f"wrote {args.output}")
