"""The one base of every error tamgu explains: what went wrong, with which file, and how to fix it.

Every refusal a user can cause is a `TamguError`. The command line prints its message as one line and exits
with its `exit_code`: 2 when tamgu refused before doing the work (a bad option, a missing file, a package
that is not installed), 1 when the work ran but some inputs could not be used (they are listed). Anything else
is a bug in tamgu: the CLI says so, shows the traceback under `-v` and asks for a report (exit 70).

Python callers catch `TamguError`, or the standard class each kind also is (`ValueError` for all of them,
`FileNotFoundError` for `MissingInput`, `RuntimeError` for `SetupError`), so older `except` clauses keep working.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class TamguError(ValueError):
    """An input or setting tamgu cannot use; the message names it and the fix."""

    exit_code = 2


class InputError(TamguError):
    """An option value or an input tamgu cannot use (out of range, the wrong kind, contradicting another)."""


class MissingInput(TamguError, FileNotFoundError):
    """A file or folder named by the user is not there (or is not what it should be)."""


class SetupError(TamguError, RuntimeError):
    """Something this machine lacks: a package, a model file, a GPU. The message says how to install it."""


class ConfigError(TamguError):
    """A config or setting that cannot be used (a key, a type, an image size); the message says which and how."""


class InputsFailed(TamguError):
    """The work ran, but some inputs could not be used (each was reported); the others' outputs are written."""

    exit_code = 1


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'epochs'?)' for a near miss among `choices`, else ''."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_range(option: str, value, low: float | None = None, high: float | None = None, what: str = "") -> None:
    """Refuse `--option value` outside [low, high] (either end may be open), naming what the option is."""
    if value is None:
        return
    if (low is not None and value < low) or (high is not None and value > high):
        span = (f"from {low} to {high}" if low is not None and high is not None else
                f"of {low} or more" if low is not None else f"of {high} or less")
        raise InputError(f"--{option.replace('_', '-')} {value}: give {what + ' ' if what else 'a value '}{span}.")
