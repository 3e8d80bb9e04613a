"""Put the tutorial table into the README, so its results section cannot disagree with the table.

    python -m dltutorials.readme README.md published/tutorial_table.md     (make readme-results)

The README holds the table between two marker lines; everything else in it
(the narrative around the table) is kept as it is. The table's own headings
move down two levels to sit under the README's "## Results".
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from dltutorials.atomic import write_text

START, END = "<!-- tutorial-table: start (make readme-results writes this part) -->", "<!-- tutorial-table: end -->"


def spliced(readme: str, table: str) -> str:
    """``readme`` with the text between the markers replaced by ``table`` (headings demoted two levels)."""
    if readme.count(START) != 1 or readme.count(END) != 1 or readme.index(START) > readme.index(END):
        raise ValueError(f"the README must hold the lines {START!r} and {END!r} once each, in this order")
    table = re.sub(r"^(#+) ", lambda m: "#" * min(len(m.group(1)) + 2, 6) + " ", table.strip(), flags=re.M)
    before, rest = readme.split(START)
    after = rest.split(END)[1]
    return f"{before}{START}\n{table}\n{END}{after}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("readme", type=Path)
    parser.add_argument("table", type=Path, help="published/tutorial_table.md (make published-table)")
    args = parser.parse_args(argv)
    if not args.table.is_file():
        sys.exit(f"error: {args.table} not found: build it first (make published-table builds "
                 f"published/tutorial_table.md from the kept tables; snakemake {args.table} a table under results/)")
    try:
        text = spliced(args.readme.read_text(), args.table.read_text())
    except (OSError, ValueError) as error:
        sys.exit(f"error: {args.readme}: {error}")
    write_text(args.readme, text)
    print(f"wrote {args.table} into {args.readme}")


if __name__ == "__main__":
    main()
