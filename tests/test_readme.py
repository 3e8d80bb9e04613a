"""make readme-results: the README's copy of the tutorial table is the table, the rest untouched."""

from __future__ import annotations

import pytest

from dltutorials import readme
from dltutorials.config import PROJECT_ROOT
from dltutorials.readme import END, START

TABLE = "# The tutorial's numbers and ours (preset paper)\n\n## Numbers the tutorial reports\n\n| a | b |\n|---|---|\n"


def test_the_table_replaces_what_is_between_the_markers_and_nothing_else(tmp_path):
    path = tmp_path / "README.md"
    path.write_text(f"intro\n## Results\n{START}\nold table\n{END}\nnarrative\n")
    table = tmp_path / "tutorial_table.md"
    table.write_text(TABLE)
    readme.main([str(path), str(table)])
    text = path.read_text()
    assert text.startswith("intro\n## Results\n" + START) and text.endswith(f"{END}\nnarrative\n")
    assert "old table" not in text
    assert "### The tutorial's numbers and ours" in text and "#### Numbers the tutorial reports" in text
    readme.main([str(path), str(table)])
    assert path.read_text() == text, "running it again changes nothing"


def test_a_readme_without_markers_or_a_missing_table_is_refused(tmp_path):
    path, table = tmp_path / "README.md", tmp_path / "tutorial_table.md"
    path.write_text("no markers here\n")
    table.write_text(TABLE)
    with pytest.raises(SystemExit, match="must hold the lines"):
        readme.main([str(path), str(table)])
    assert path.read_text() == "no markers here\n"
    with pytest.raises(SystemExit, match="not found: build it first"):
        readme.main([str(path), str(tmp_path / "missing.md")])


def test_the_projects_readme_holds_the_markers():
    text = (PROJECT_ROOT / "README.md").read_text()
    assert text.count(START) == 1 and text.count(END) == 1
