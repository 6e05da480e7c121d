"""Training: one function per fold, one for the whole cross-validation (resume, assembly, collect).

The model is `module.Classifier`; its predictions come from `inference`; what is written where is
`runfolder`'s contract (config.yaml, folds.csv, fold<k>/, oof.csv, test_pred.csv, submission.csv,
summary.json).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import pandas as pd
import torch
from lightning.pytorch.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

from ..errors import InputError
from ..files import write_csv, write_yaml
from . import runfolder
from .config import ConfigError, TrainConfig, config_differences, load_config
from .data import DataError, Dataset, Problem, find_truth, load_dataset, read_truth
from .folds import make_folds
from ..runtime import device_for, trainer_display
from .inference import predict_folds
from .metrics import accuracy, log_loss, score_frame
from .module import Classifier
from .loaders import make_loader, on_cuda, training_targets
from .table import fold_mean
from .tuning import apply_tuned, tune

log = logging.getLogger(__name__)



def check_hardware(cfg: TrainConfig) -> None:
    """Options the device cannot honour are refused before any work: 16-bit float autocast needs a GPU."""
    device = device_for(cfg.accelerator).type
    if cfg.precision.startswith("16") and device == "cpu":
        raise ConfigError(f"--precision {cfg.precision} needs a GPU (this run is on the CPU): use bf16-mixed on a "
                          "CPU, or 32-true.")


@dataclass
class FoldResult:
    fold: int
    oof: pd.DataFrame          # img, fold, classes...
    test_pred: pd.DataFrame    # img, fold, classes...
    best_val_loss: float
    best_epoch: int
    epochs_run: int
    checkpoint: str
    seconds: float



class SeedByEpoch(L.Callback):
    """Makes every training epoch a pure function of (seed, epoch), so a fold resumed from last.ckpt ends
    exactly as an uninterrupted one does (and the number of loader workers does not matter).

    - `epoch()` feeds `EpochShuffle` (order and per-image augmentation seeds). With loader workers,
      Lightning builds a resumed epoch's loader before it restores its epoch counter, so the epoch to
      resume at is taken from the checkpoint itself (last.ckpt is written at the end of an epoch).
    - Before every training step the RNG (dropout, drop-path) is seeded from (seed, epoch, step).
    """

    def __init__(self, seed: int):
        self.seed = seed
        self.trainer: L.Trainer | None = None
        self.resume_epoch = 0

    def setup(self, trainer, pl_module, stage) -> None:
        self.trainer = trainer

    def on_load_checkpoint(self, trainer, pl_module, checkpoint) -> None:
        self.resume_epoch = int(checkpoint["epoch"]) + 1

    def epoch(self) -> int:
        current = self.trainer.current_epoch if self.trainer is not None else 0
        return max(current, self.resume_epoch)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        s = np.random.SeedSequence([self.seed, trainer.current_epoch, batch_idx]).generate_state(1)[0]
        torch.manual_seed(int(s))


def make_trainer(cfg: TrainConfig, fold_dir: Path, callbacks: list | None = None) -> L.Trainer:
    """A new Trainer for one fold: early stopping on val_loss, best checkpoint kept, CSV log per epoch.

    A fresh Trainer and fresh callbacks per fold: early-stopping state must never leak across folds.
    """
    best = ModelCheckpoint(dirpath=fold_dir, filename="best", monitor="val_loss", mode="min", save_top_k=1,
                           save_weights_only=True, enable_version_counter=False)
    last = ModelCheckpoint(dirpath=fold_dir, filename="last", save_top_k=1, save_last=False,
                           enable_version_counter=False)  # full state, for resuming an interrupted fold
    stop = EarlyStopping(monitor="val_loss", mode="min", patience=cfg.patience)
    limit = cfg.limit_batches
    display = trainer_display(fold_dir.name)
    loggers = [CSVLogger(save_dir=fold_dir, name="", version="")]  # metrics.csv: what epoch_history reads
    if cfg.logger == "tensorboard":
        loggers.append(TensorBoardLogger(save_dir=fold_dir, name="tensorboard", version="", default_hp_metric=False))
    return L.Trainer(
        max_epochs=cfg.epochs, accelerator=cfg.accelerator, devices=cfg.devices, num_nodes=cfg.num_nodes,
        precision=cfg.precision,
        callbacks=[best, last, stop, LearningRateMonitor("epoch")] + display.pop("callbacks") + (callbacks or []),
        **display,
        logger=loggers, default_root_dir=fold_dir,
        limit_train_batches=limit, limit_val_batches=limit, num_sanity_val_steps=0,
        deterministic=False, log_every_n_steps=10,
    )


def keep_metrics(fold_dir: Path) -> None:
    """Lightning's CSV logger rewrites metrics.csv when a run resumes: keep the epochs before the
    interruption as metrics.N.csv, which `epoch_history` reads first."""
    current = fold_dir / "metrics.csv"
    if current.exists():
        n = len(list(fold_dir.glob("metrics.*.csv")))
        current.replace(fold_dir / f"metrics.{n}.csv")


def epoch_history(metrics_csv: Path) -> pd.DataFrame:
    """One row per epoch (epoch, train_loss, train_acc, val_loss, val_acc) from Lightning's step-wise metrics.csv
    (and the metrics.N.csv that `keep_metrics` set aside when the fold was resumed)."""
    cols = {"train_loss_epoch": "train_loss", "train_acc": "train_acc", "val_loss": "val_loss", "val_acc": "val_acc"}
    parts = sorted(metrics_csv.parent.glob("metrics.*.csv"), key=lambda p: int(p.suffixes[0][1:])) + [metrics_csv]
    frames = [pd.read_csv(p) for p in parts if p.exists()]
    m = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["epoch"])
    m = m.dropna(subset=["epoch"]).rename(columns=cols)
    h = m.groupby("epoch").last().reindex(columns=list(cols.values())).reset_index()
    h["epoch"] = h["epoch"].astype(int)
    return h



def train_fold(cfg: TrainConfig, ds: Dataset, folds: pd.DataFrame, fold: int, run_dir: Path) -> FoldResult | None:
    """Train fold `fold`, restore its best checkpoint, predict its validation images and the test set.

    Returns None on DDP ranks other than 0 (rank 0 writes everything)."""
    t0 = time.time()
    fold_dir = runfolder.fold_dir(run_dir, fold)
    fold_dir.mkdir(parents=True, exist_ok=True)
    L.seed_everything(cfg.seed + fold, workers=True, verbose=False)
    # what this fold was trained with, so that folds trained on different machines can be checked (collect)
    write_yaml({**cfg.to_dict(), "folds_sha1": folds_digest(folds)}, fold_dir / runfolder.CONFIG)
    tr, va = folds[folds["fold"] != fold], folds[folds["fold"] == fold]
    module = Classifier.from_config(cfg, ds.classes)
    module.channels_last = cfg.channels_last == "on" or (cfg.channels_last == "auto" and on_cuda(cfg))
    seed = cfg.seed + fold
    seeding = SeedByEpoch(seed)
    trainer = make_trainer(cfg, fold_dir, [seeding])
    resume = fold_dir / "last.ckpt"
    if resume.exists():
        keep_metrics(fold_dir)
    trainer.fit(module, make_loader(tr["path"].tolist(), training_targets(tr, ds), cfg, True,
                                    seed=seed, epoch=seeding.epoch),
                make_loader(va["path"].tolist(), va["y"].tolist(), cfg, False),
                ckpt_path=str(resume) if resume.exists() else None)
    if trainer.world_size > 1 and trainer.global_rank != 0:
        # DDP: rank 0 alone predicts and writes; the others wait for it, so that every rank then sees the
        # same finished folds and enters the next fold's fit together
        trainer.strategy.barrier("fold-written")
        return None
    best_cb = trainer.checkpoint_callback
    best_path = best_cb.best_model_path
    if not best_path:
        raise RuntimeError(f"fold {fold} produced no checkpoint: was validation skipped (limit_batches=0)?")
    # The book predicted with the weights of the last epoch, `patience` epochs past the best: we restore the best.
    module.load_state_dict(torch.load(best_path, map_location="cpu", weights_only=True)["state_dict"])
    oof = predict_folds({fold: module}, va["path"].tolist(), va["img"].tolist(), cfg)
    test = predict_folds({fold: module}, ds.test["path"].tolist(), ds.test["img"].tolist(), cfg) \
        if len(ds.test) else pd.DataFrame(columns=["img", "fold"] + ds.classes)
    history = epoch_history(fold_dir / "metrics.csv")
    write_csv(history, fold_dir / "history.csv")
    best_epoch = int(history.loc[history["val_loss"].idxmin(), "epoch"]) if history["val_loss"].notna().any() else -1
    write_csv(oof, fold_dir / runfolder.OOF)
    write_csv(test, fold_dir / runfolder.TEST)
    if resume.exists():
        resume.unlink()  # the fold is complete; the best checkpoint is all that is needed now
    if trainer.world_size > 1:
        trainer.strategy.barrier("fold-written")
    return FoldResult(fold, oof, test, float(best_cb.best_model_score), best_epoch, int(trainer.current_epoch),
                      best_path, time.time() - t0)


def _load_folds(run_dir: Path, cfg: TrainConfig, ds: Dataset) -> pd.DataFrame:
    """folds.csv of an earlier (interrupted) run is reused only if it was made the same way on the same images."""
    folds = runfolder.read_folds(run_dir)
    if folds is not None and runfolder.is_run(run_dir):
        prev = runfolder.read_config(run_dir)
        same = all(prev.get(k) == getattr(cfg, k) for k in ("split", "folds", "seed"))
        if same and set(folds["img"]) == set(ds.train["img"]):
            return ds.train.merge(folds[["img", "fold"]], on="img")
        raise InputError(f"{run_dir} holds a run made with other folds or data: choose a new --out, or delete the folder.")
    # "driver" on a class-per-folder set means its groups (a folder set has no drivers, only groups)
    split = "group" if cfg.split == "driver" and ds.kind == "folders" else cfg.split
    folds = make_folds(ds.train, split, cfg.folds, cfg.seed)
    runfolder.Run(run_dir).write(folds=folds[["img", "label", "group", "fold"]])
    return folds


def summarize(oof: pd.DataFrame, truth: pd.DataFrame, classes: list[str]) -> dict:
    merged = oof.merge(truth[["img", "y"]], on="img")
    per_fold = {}
    for k, g in merged.groupby("fold"):
        p = g[classes].to_numpy()
        per_fold[int(k)] = {"log_loss": log_loss(g["y"], p), "accuracy": accuracy(g["y"], p), "images": int(len(g))}
    p = merged[classes].to_numpy()
    overall = {"log_loss": log_loss(merged["y"], p), "accuracy": accuracy(merged["y"], p), "images": int(len(merged))}
    return {"per_fold": per_fold, "oof": overall}


def train(data: str | Path | None = None, out: str | Path | None = None, config: str | Path | None = None,
          fresh: bool = False, **options: Any) -> dict:
    """Cross-validate a model on a dataset and predict its test images: `tamgu train DATA --out RUN`.

    Options are the fields of TrainConfig (model, image_size, split, folds, fold, epochs, ...). An
    interrupted run resumes: finished folds are kept, an unfinished fold continues from its last epoch.
    A run folder made with other settings is refused (its folds would be mixed with new ones) unless
    `fresh`, which discards what tamgu wrote there first. Returns the summary (also RUN/summary.json).

    Args:
        data: dataset (or set data: in --config)
        out: run folder (default runs/<config name>)
        config: YAML file with any of the run options; unknown keys are an error
        fresh: discard a run already in --out and start again
    """
    cfg = load_config(config, data=str(data) if data else None, out=str(out) if out else None, **options)
    if not cfg.data:
        raise InputError("no dataset: pass DATA (a folder or the Kaggle zip), or set data: in the config file.")
    run_dir = Path(cfg.out or Path("runs") / (cfg.name or Path(str(config or "run")).stem))
    cfg.name = cfg.name or run_dir.name
    # every input the run will read is checked before the first fold trains: hours of GPU time must not end
    # in an error about a file that was there all along
    ds = load_dataset(cfg.data, groups=cfg.groups, fixes=cfg.fixes)
    # stored absolute: `tamgu predict RUN` (report, smooth, ...) from another folder finds the data
    cfg.data = str(Path(cfg.data).expanduser().resolve())
    cfg.groups = str(Path(cfg.groups).expanduser().resolve()) if cfg.groups else None
    cfg.fixes = str(Path(cfg.fixes).expanduser().resolve()) if cfg.fixes else None
    cfg.truth = usable_truth(cfg.truth, cfg.data, ds.classes)
    check_hardware(cfg)
    if cfg.weights != "none":
        from .weights import resolve_weights

        resolve_weights(cfg.model, cfg.weights)  # WeightsError naming the file and `tamgu weights fetch`
    if fresh:
        runfolder.discard(run_dir)
    elif runfolder.is_run(run_dir):
        # an earlier start's tuned batch size / learning rate stand for `auto` and --lr-find
        diffs = config_differences(runfolder.read_config(run_dir), apply_tuned(cfg, runfolder.read_tuned(run_dir)))
        if diffs:
            raise ConfigError(f"{run_dir} holds a run made with other settings ({'; '.join(diffs)}); resuming would "
                              "mix its finished folds with new ones. Choose another --out, or add --fresh to discard "
                              "that run and start again.")
    run_dir.mkdir(parents=True, exist_ok=True)
    folds = _load_folds(run_dir, cfg, ds)
    check_folds(folds, ds.classes)
    cfg = tune(cfg, ds, folds, run_dir)  # --batch-size auto / --lr-find: numbers from here on
    runfolder.Run(run_dir).write(config=cfg)
    todo = [cfg.fold] if cfg.fold is not None else list(range(cfg.folds))
    if any(k < 0 or k >= cfg.folds for k in todo):
        raise InputError(f"--fold {cfg.fold} is out of range: folds are 0..{cfg.folds - 1}.")
    results: dict[int, dict] = {}
    other_rank = False
    for k in todo:
        if runfolder.fold_done(run_dir, k):
            log.info("fold %d already done in %s: skipping", k, runfolder.fold_dir(run_dir, k))
            continue
        res = train_fold(cfg, ds, folds, k, run_dir)
        if res is None:  # a DDP rank other than 0: on to the next fold with the others
            other_rank = True
            continue
        results[k] = {"best_val_loss": res.best_val_loss, "best_epoch": res.best_epoch, "epochs": res.epochs_run,
                      "seconds": round(res.seconds, 1)}
    if other_rank or (torch.distributed.is_available() and torch.distributed.is_initialized()
                       and torch.distributed.get_rank() != 0):
        return {}  # DDP: global rank 0 assembles and reports
    return assemble(run_dir, ds, extra=results, truth=cfg.truth)


def usable_truth(given: str | None, data: str, classes: list[str]) -> str | None:
    """The held-out labels that will judge the run: given ones must be usable (DataError at once); ones found
    beside the data (generated sets) that are not are skipped with a warning, never a failure after training."""
    if given is not None:
        read_truth(given, classes)
        return str(Path(given).expanduser().resolve())
    found = find_truth(data)
    if found is None:
        return None
    try:
        read_truth(found, classes)
    except DataError as e:
        log.warning("not judging on %s: %s (give --truth FILE to use other labels)", found, e)
        return None
    return str(found)  # generated data: its private leaderboard judges the run too


def check_folds(folds: pd.DataFrame, classes: list[str]) -> None:
    """Every class must be in every fold's training part, or that fold's model can never predict it (and OOF
    accuracy says 0 without saying why)."""
    for k in sorted(folds["fold"].unique()):
        missing = sorted(set(classes) - set(folds.loc[folds["fold"] != k, "label"]))
        if missing:
            only = folds.loc[folds["label"].isin(missing)].groupby("label")["group"].nunique()
            raise DataError([Problem(
                f"fold {k}", f"its training images hold no {', '.join(missing)}",
                "every class needs images in at least two groups (drivers, videos) for folds by group: "
                + ", ".join(f"{c} is in {n} group(s)" for c, n in only.items())
                + ". Cut each video into segments as groups (see tutorial 05), add data, or use fewer folds")])


def folds_digest(folds: pd.DataFrame) -> str:
    """A fingerprint of the fold assignment (image -> fold), equal on every machine that made the same folds."""
    import hashlib

    rows = folds.sort_values("img")[["img", "fold"]].astype(str).agg(",".join, axis=1)
    return hashlib.sha1("\n".join(rows).encode()).hexdigest()


def collect(run: str | Path) -> dict:
    """Assemble a run whose folds were trained separately (`tamgu train --fold K` on several machines):
    checks that every fold exists and was trained with the same settings, data and folds, then writes
    oof.csv, test_pred.csv, submission.csv and summary.json like a single `tamgu train`.

    Args:
        run: run folder holding every fold<k>/ folder
    """
    run_dir = Path(run)
    cfg = runfolder.load_run_config(run_dir)
    ds = load_dataset(cfg.data, groups=cfg.groups, fixes=cfg.fixes)
    folds = _load_folds(run_dir, cfg, ds)
    digest = folds_digest(folds)
    missing = [k for k in range(cfg.folds) if k not in runfolder.finished_folds(run_dir)]
    if missing:
        raise InputError(f"folds {missing} of {run_dir} are not finished: train them (tamgu train ... --fold K) "
                         "and copy their fold folders here, then collect again.")
    for k in range(cfg.folds):
        prev = runfolder.read_config(run_dir, k)
        if not prev:
            path = runfolder.fold_dir(run_dir, k) / runfolder.CONFIG
            raise InputError(f"{path} is missing: fold {k} was trained by an older tamgu; retrain it to collect.")
        diffs = config_differences(prev, cfg)
        if prev.get("folds_sha1") != digest:
            diffs.append("the folds (folds.csv) differ")
        if diffs:
            raise ConfigError(f"fold {k} of {run_dir} was trained differently from the run's config.yaml: "
                              f"{'; '.join(diffs)}. Retrain it with the same options (and the same data and "
                              "folds.csv), or start a fresh run.")
    return assemble(run_dir, ds, truth=cfg.truth)


def heldout_scores(test: pd.DataFrame, truth: pd.DataFrame, classes: list[str]) -> dict:
    """The private leaderboard: the submission (fold mean) and each fold's test predictions against held-out labels."""
    sub = fold_mean(test, classes)
    out = score_frame(sub, truth, classes)
    out["per_fold"] = {int(k): score_frame(g, truth, classes) for k, g in test.groupby("fold")}
    return out


def assemble(run_dir: Path, ds: Dataset, extra: dict | None = None, truth: str | None = None) -> dict:
    """Collect the finished folds' files into oof.csv, test_pred.csv, submission.csv and summary.json.

    With `truth` (held-out test labels), the summary also holds the held-out test log loss: the score on
    drivers no fold has seen, beside the driver-CV (OOF) estimate."""
    done = runfolder.finished_folds(run_dir)
    if not done:
        raise RuntimeError(f"no finished fold in {run_dir}")
    run = runfolder.Run(run_dir)
    oof = pd.concat([run.fold_table(k, runfolder.OOF) for k in done], ignore_index=True)
    test = pd.concat([run.fold_table(k, runfolder.TEST) for k in done], ignore_index=True)
    run.write(oof=oof, test=test)
    summary = summarize(oof, ds.train, ds.classes)
    prev = run.summary.get("training", {})
    training = {**prev, **{str(k): v for k, v in (extra or {}).items()}}
    summary.update({"run": str(run_dir), "folds_done": done, "training": training,
                    "uniform_log_loss": math.log(len(ds.classes))})
    if len(test):
        sub = fold_mean(test, ds.classes)
        run.write(submission=sub)
        summary["submission"] = str(run_dir / runfolder.SUBMISSION)
        if truth:
            try:
                summary["heldout"] = heldout_scores(test, read_truth(truth, ds.classes), ds.classes)
                summary["truth"] = str(truth)
            except (DataError, ValueError) as e:  # a run that trained is never reported as failed for its judge
                log.warning("held-out scores skipped: %s", e)
    run.write(summary=summary)
    return summary
