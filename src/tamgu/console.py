"""What a person sees while tamgu works (light: no torch or Lightning import): quiet by default, one progress bar per long step on a terminal,
plain lines (no carriage returns) when stdout is a file or a pipe, details with `-v`."""

from __future__ import annotations

import logging
import sys
import warnings

# Lightning reports device checks, tips and checkpoint restores at INFO through these loggers.
LIGHTNING_LOGGERS = ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero",
                     "lightning.pytorch.accelerators.cuda", "lightning.fabric.utilities.seed",
                     "lightning.fabric.utilities.distributed", "lightning.pytorch.utilities.distributed",
                     "lightning.pytorch.tuner", "lightning.pytorch.trainer.connectors.checkpoint_connector")


def verbose() -> bool:
    """-v (or a user's own logging at INFO) asks for details."""
    return logging.getLogger("tamgu").isEnabledFor(logging.INFO)


def quiet_lightning() -> None:
    """Keep Lightning's INFO banners out of the output unless -v asked for them."""
    level = logging.INFO if verbose() else logging.WARNING
    for name in LIGHTNING_LOGGERS:
        logging.getLogger(name).setLevel(level)
    if not verbose():  # advice meant for library developers (logging intervals, deprecations inside Lightning)
        warnings.filterwarnings("ignore", module=r"(lightning|lightning_fabric|torch|timm)(\.|$)")


def quiet_trainer_kwargs() -> dict:
    """A Trainer for a side job (the Tuner's trials): no bar, no model table, Lightning's banners muted."""
    quiet_lightning()
    return {"enable_progress_bar": False, "enable_model_summary": False}


def interactive() -> bool:
    return sys.stdout.isatty() or in_notebook()


def in_notebook() -> bool:
    """Running inside Jupyter (an IPython kernel): figures and pages display under the cell. A kernel must be
    running, not merely imported: jupyter_client imports ipykernel to find its kernel spec, so a script (or a
    test) that ran a notebook has ipykernel in sys.modules without being in one."""
    return getattr(_shell(), "kernel", None) is not None  # a kernel's shell (Jupyter, Colab); a terminal's has none


def _shell():
    """IPython's running shell, if IPython and ipykernel are loaded at all (never imported here: too slow)."""
    if "ipykernel" not in sys.modules or "IPython" not in sys.modules:
        return None
    get = getattr(sys.modules["IPython"], "get_ipython", None)
    return get() if get else None
