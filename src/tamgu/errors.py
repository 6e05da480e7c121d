"""The one base of every error tamgu explains: what went wrong, with which file, and how to fix it.

The command line catches `TamguError` and prints its message as one line (exit 1); Python callers can
catch it, or the `ValueError` it also is.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class TamguError(ValueError):
    """An input or setting tamgu cannot use; the message names it and the fix."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'epochs'?)' for a near miss among `choices`, else ''."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
