"""What a person sees while tamgu works: quiet by default, one progress bar per long step on a terminal,
plain lines (no carriage returns) when stdout is a file or a pipe, details with `-v`."""

from __future__ import annotations

import logging
import sys
import warnings

import lightning as L

# Lightning reports device checks, tips and checkpoint restores at INFO through these loggers.
LIGHTNING_LOGGERS = ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero",
                     "lightning.pytorch.accelerators.cuda", "lightning.fabric.utilities.seed",
                     "lightning.fabric.utilities.distributed", "lightning.pytorch.utilities.distributed")


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


def interactive() -> bool:
    return sys.stdout.isatty() or _in_notebook()


def _in_notebook() -> bool:
    return "ipykernel" in sys.modules


class EpochLines(L.Callback):
    """One plain line per epoch, for logs and CI where a redrawn progress bar would be noise."""

    def __init__(self, label: str):
        self.label = label

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # here, after the epoch's validation, the epoch's own training mean is in callback_metrics; at
        # validation end it still held the previous epoch's (every line showed train_loss one epoch late)
        if not trainer.is_global_zero:
            return
        m = trainer.callback_metrics
        parts = [f"{k} {float(m[k]):.4f}" for k in ("train_loss_epoch", "val_loss", "val_acc") if k in m]
        print(f"{self.label} epoch {trainer.current_epoch}: " + ", ".join(p.replace("_epoch", "") for p in parts),
              flush=True)


def trainer_display(label: str) -> dict:
    """Trainer keyword arguments and callbacks for a long training step labelled `label`."""
    quiet_lightning()
    if interactive():
        return {"enable_progress_bar": True, "enable_model_summary": verbose(), "callbacks": []}
    return {"enable_progress_bar": False, "enable_model_summary": verbose(), "callbacks": [EpochLines(label)]}
