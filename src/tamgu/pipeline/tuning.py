"""`--batch-size auto` and `--lr-find`: Lightning's Tuner, run once per run on fold 0's training images.

What it found goes to RUN/tuned.json (batch size, learning rate, the finder's curve); every fold, a resumed run
and a rerun with the same options use those values, so all folds train alike. The run's config.yaml holds
the numbers that trained (a later `tamgu predict RUN` needs a number, not "auto").
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import lightning as L
import pandas as pd
from lightning.pytorch.tuner import Tuner

from ..console import quiet_trainer_kwargs
from . import runfolder
from .config import ConfigError, TrainConfig
from .data import Dataset
from .loaders import FoldData, training_targets

# The batch-size search: powers of two from INIT_BATCH, at most MAX_TRIALS doublings (16 .. 1024), a few steps
# each; it stops earlier at the first out-of-memory or when a batch would hold the whole training set.
INIT_BATCH, MAX_TRIALS, STEPS_PER_TRIAL = 16, 6, 3
# The learning-rate finder: an exponential sweep over this range (fast.ai's and Lightning's usual one).
LR_RANGE, LR_STEPS = (1e-6, 1.0), 100


def needs_tuning(cfg: TrainConfig) -> bool:
    return cfg.batch_size == "auto" or cfg.lr_find


def apply_tuned(cfg: TrainConfig, tuned: dict) -> TrainConfig:
    """The config with what the Tuner found in place of `auto` (and of the default learning rate)."""
    update = {}
    if cfg.batch_size == "auto" and "batch_size" in tuned:
        update["batch_size"] = int(tuned["batch_size"])
    if cfg.lr_find and cfg.lr is None and "lr" in tuned:
        update["lr"] = float(tuned["lr"])
    return cfg.model_copy(update=update)



def tune(cfg: TrainConfig, ds: Dataset, folds: pd.DataFrame, run_dir: Path) -> TrainConfig:
    """Find what `cfg` leaves to the Tuner (RUN/tuned.json if an earlier start already did) and return the
    config with those values. Multi-device runs are refused: Lightning tunes on one device."""
    if not needs_tuning(cfg):
        return cfg
    tuned = runfolder.read_tuned(run_dir)
    if tuned and (cfg.batch_size != "auto" or "batch_size" in tuned) and (not cfg.lr_find or "lr" in tuned):
        return apply_tuned(cfg, tuned)
    if (isinstance(cfg.devices, int) and cfg.devices > 1) or "," in str(cfg.devices) or cfg.num_nodes > 1:
        raise ConfigError("--batch-size auto and --lr-find run on one device (Lightning's Tuner does not support "
                          "DDP): tune with --devices 1 --fold 0 first, then pass the numbers it printed "
                          "(--batch-size N --lr X) to the multi-device run.")
    from .module import Classifier

    tr, va = folds[folds["fold"] != 0], folds[folds["fold"] == 0]
    start = cfg.model_copy(update={"batch_size": INIT_BATCH if cfg.batch_size == "auto" else cfg.batch_size})
    data = FoldData(start, tr, va, training_targets(tr, ds))
    module = Classifier.from_config(start, ds.classes)
    found: dict = dict(tuned or {})
    with tempfile.TemporaryDirectory(prefix="tamgu-tune-") as tmp:
        # trials are counted in steps (max_steps); epochs must not end them first on a small set
        trainer = L.Trainer(max_epochs=10_000, accelerator=cfg.accelerator, devices=1, precision=cfg.precision,
                            logger=False, enable_checkpointing=False, default_root_dir=tmp,
                            num_sanity_val_steps=0, **quiet_trainer_kwargs())
        tuner = Tuner(trainer)
        if cfg.batch_size == "auto":
            size = tuner.scale_batch_size(module, datamodule=data, mode="power", init_val=INIT_BATCH,
                                          max_trials=MAX_TRIALS, steps_per_trial=STEPS_PER_TRIAL)
            found["batch_size"] = int(min(size or INIT_BATCH, len(tr)))
            data.batch_size = found["batch_size"]
            print(f"--batch-size auto: {found['batch_size']} images per batch on "
                  f"{type(trainer.accelerator).__name__.replace('Accelerator', '')}", flush=True)
        if cfg.lr_find:
            # Lightning's suggestion skips the sweep's first 10 points: at least 30 steps, at most LR_STEPS
            steps = min(LR_STEPS, max(30, 3 * len(tr) // int(data.batch_size)))
            finder = tuner.lr_find(module, datamodule=data, min_lr=LR_RANGE[0], max_lr=LR_RANGE[1],
                                   num_training=steps, attr_name="lr", update_attr=False)
            suggestion = finder.suggestion() if finder is not None else None
            found["lr"] = float(suggestion) if suggestion else cfg.learning_rate
            found["lr_curve"] = {"lr": [float(v) for v in finder.results["lr"]],
                                 "loss": [float(v) for v in finder.results["loss"]]} if finder is not None else {}
            print(f"--lr-find: learning rate {found['lr']:.3g}"
                  + ("" if suggestion else " (the finder gave no suggestion: kept the default)"), flush=True)
    runfolder.write_tuned(run_dir, found)
    return apply_tuned(cfg, found)
