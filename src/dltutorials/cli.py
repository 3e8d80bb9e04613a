"""What every command-line entry point shares: a bad setting or a missing input ends the process with one
line naming it, not a traceback."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from dltutorials.data.download import DataError
from dltutorials.fields import ConfigError


@contextlib.contextmanager
def one_line_errors(*also: type[Exception]) -> Iterator[None]:
    """Settings (``ConfigError``), data (``DataError``) and missing files end in one line; so do the exception
    types in ``also`` (the drawing stages add ``OSError`` and ``ValueError``: a malformed table or file)."""
    try:
        yield
    except ConfigError as error:
        sys.exit(f"config error: {error}")
    except (DataError, FileNotFoundError, *also) as error:
        sys.exit(f"error: {error}")
