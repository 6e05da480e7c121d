"""Training: one Lightning module, one function per fold, one function for the whole cross-validation.

Run folder (everything a later step needs, nothing it must guess):

    runs/<name>/config.yaml     resolved config          folds.csv       img,label,group,fold
    runs/<name>/fold<k>/        best.ckpt, metrics.csv, oof.csv, test_pred.csv
    runs/<name>/oof.csv         img,fold,c0..c9          test_pred.csv   img,fold,c0..c9 (every fold)
    runs/<name>/submission.csv  img,c0..c9 (fold mean)   summary.json    per-fold and overall scores
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable
from typing import Any

import lightning as L
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
import yaml
from lightning.pytorch.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from torch.utils.data import DataLoader

from ..console import interactive, quiet_lightning, trainer_display
from .config import ConfigError, TrainConfig, config_differences, load_config, save_config
from .data import Dataset, find_truth, load_dataset, read_truth
from .folds import make_folds
from ..io import write_csv, write_json, write_yaml
from .metrics import accuracy, log_loss, score_frame
from .models import build_model, classifier_parameters, fold_batchnorm
from .presets import EpochShuffle, ImageTable, collate_skip, train_transform, tta_views

log = logging.getLogger(__name__)

LONG_PREDICTION = 5000  # images: prediction gets its own progress bar from this many on
KERAS_DECAY = 1e-6  # the book's SGD(decay=1e-6): lr / (1 + decay * step)


class Classifier(L.LightningModule):
    """A timm model trained with cross-entropy; `meta` holds what rebuilds it from a checkpoint."""

    def __init__(self, meta: dict, classes: list[str], optim: dict, tta: int = 1, net: torch.nn.Module | None = None):
        super().__init__()
        self.save_hyperparameters(ignore=["net"])
        if net is None:  # rebuilt from a checkpoint: its weights come from the checkpoint's state dict
            net, _ = build_model(meta["model"], len(classes), meta["head"], "none", tuple(meta["image_size"]),
                                 tuple(meta["mean"]), tuple(meta["std"]))
        self.net = net
        self.classes = classes
        self.optim = optim
        self.tta = tta

    @classmethod
    def from_config(cls, cfg: TrainConfig, classes: list[str]) -> "Classifier":
        net, meta = build_model(cfg.model, len(classes), cfg.head, cfg.weights, cfg.image_size, head_init=cfg.head_init)
        optim = {"optimizer": cfg.optimizer, "lr": cfg.learning_rate, "weight_decay": cfg.weight_decay,
                 "schedule": cfg.schedule, "warmup_epochs": cfg.warmup_epochs, "backbone_lr": cfg.backbone_lr,
                 "freeze_epochs": cfg.freeze_epochs, "label_smoothing": cfg.label_smoothing}
        return cls(meta, classes, optim, cfg.tta, net=net)

    def on_train_epoch_start(self) -> None:
        # --freeze-epochs: only the classifier learns at first, so random head gradients do not wreck
        # the pretrained features; then everything trains. Frozen weights get no gradient, so the
        # optimiser leaves them alone (AdamW skips parameters whose grad is None).
        frozen = self.current_epoch < self.optim.get("freeze_epochs", 0)
        head = {id(p) for p in classifier_parameters(self.net)}
        for p in self.net.parameters():
            if id(p) not in head:
                p.requires_grad_(not frozen)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def _step(self, batch, stage: str) -> torch.Tensor | None:
        x, y, _ = batch
        if len(y) == 0:  # every image of the batch was unreadable
            return None
        logits = self(x)
        # y: class indices, or (B, C) distributions with soft pseudo-labels; smoothing only while training
        smoothing = self.optim.get("label_smoothing", 0.0) if stage == "train" else 0.0
        loss = F.cross_entropy(logits, y, label_smoothing=smoothing)
        acc = (logits.argmax(1) == (y.argmax(1) if y.ndim == 2 else y)).float().mean()
        on_step = stage == "train"
        self.log(f"{stage}_loss", loss, prog_bar=True, on_step=on_step, on_epoch=True, batch_size=len(y), sync_dist=not on_step)
        self.log(f"{stage}_acc", acc, prog_bar=True, on_step=False, on_epoch=True, batch_size=len(y), sync_dist=not on_step)
        return loss

    def training_step(self, batch, batch_idx):
        return self._step(batch, "train")

    def validation_step(self, batch, batch_idx):
        self._step(batch, "val")

    def predict_step(self, batch, batch_idx, dataloader_idx=0):
        x, _, idx = batch
        if len(idx) == 0:
            return torch.empty(0, len(self.classes)), idx
        probs = torch.stack([F.softmax(self(v), dim=1) for v in tta_views(x, self.tta)]).mean(0)
        return probs.float().cpu(), idx.cpu()

    def configure_optimizers(self):
        o = self.optim
        head = {id(p) for p in classifier_parameters(self.net)}
        groups = [{"params": [p for p in self.net.parameters() if id(p) in head], "lr": o["lr"]},
                  {"params": [p for p in self.net.parameters() if id(p) not in head],
                   "lr": o["lr"] * o.get("backbone_lr", 1.0)}]
        groups = [g for g in groups if g["params"]]
        if o["optimizer"] == "sgd":
            opt = torch.optim.SGD(groups, lr=o["lr"], momentum=0.9, nesterov=True)
        else:
            opt = torch.optim.AdamW(groups, lr=o["lr"], weight_decay=o["weight_decay"])
        total = max(1, int(self.trainer.estimated_stepping_batches))
        per_epoch = max(1, total // max(1, self.trainer.max_epochs or 1))
        warm = int(o["warmup_epochs"] * per_epoch)
        fn = lr_factor_fn(o["schedule"], warm, total, keras_decay=KERAS_DECAY if o["optimizer"] == "sgd" else 0.0)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, fn)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def lr_factor_fn(schedule: str, warmup_steps: int, total_steps: int, keras_decay: float = 0.0):
    """Multiplier of the base learning rate at optimiser step `it` (a pure function, like nanoGPT's get_lr)."""

    def factor(it: int) -> float:
        f = 1.0
        if it < warmup_steps:
            f = (it + 1) / warmup_steps
        elif schedule == "cosine":
            progress = min(1.0, (it - warmup_steps) / max(1, total_steps - warmup_steps))
            f = 0.5 * (1 + math.cos(math.pi * progress))
        return f / (1 + keras_decay * it)

    return factor


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


def make_loader(paths: list[str], labels: list[int] | None, cfg: TrainConfig, train: bool,
                seed: int | None = None, epoch: Callable[[], int] | None = None) -> DataLoader:
    """Training loaders shuffle and augment as a function of (seed, epoch) when both are given (see
    `EpochShuffle`: what makes a resumed fold identical to an uninterrupted one), else from the global RNG."""
    ds = ImageTable(paths, labels, cfg.image_size, train_transform(cfg.augment, cfg.image_size) if train else None)
    sampler = EpochShuffle(len(ds), seed, epoch) if train and seed is not None and epoch is not None else None
    return DataLoader(ds, batch_size=cfg.batch_size if train else cfg.batch_size * 2,
                      shuffle=train and sampler is None, sampler=sampler,
                      num_workers=cfg.workers, collate_fn=collate_skip, persistent_workers=cfg.workers > 0,
                      drop_last=train and len(ds) > cfg.batch_size, pin_memory=torch.cuda.is_available())


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
    return L.Trainer(
        max_epochs=cfg.epochs, accelerator=cfg.accelerator, devices=cfg.devices, num_nodes=cfg.num_nodes,
        precision=cfg.precision,
        callbacks=[best, last, stop, LearningRateMonitor("epoch")] + display.pop("callbacks") + (callbacks or []),
        **display,
        logger=CSVLogger(save_dir=fold_dir, name="", version=""), default_root_dir=fold_dir,
        limit_train_batches=limit, limit_val_batches=limit, num_sanity_val_steps=0,
        deterministic=False, log_every_n_steps=10,
    )


def predict_frame(module: Classifier, paths: list[str], ids: list[str], cfg: TrainConfig,
                  ckpt_path: str | None = None) -> pd.DataFrame:
    """Probabilities for each image as a DataFrame keyed by `img`; unreadable images get the uniform guess."""
    quiet_lightning()
    trainer = L.Trainer(accelerator=cfg.accelerator, devices=1, logger=False, enable_checkpointing=False,
                        enable_model_summary=False, enable_progress_bar=interactive() and len(paths) >= LONG_PREDICTION)
    loader = make_loader(paths, None, cfg, train=False)
    out = trainer.predict(module, loader, ckpt_path=ckpt_path)
    n = len(module.classes)
    probs = np.full((len(paths), n), 1.0 / n)
    for p, idx in out:
        probs[idx.numpy()] = p.numpy()
    return prob_frame(probs, ids, module.classes)


def prob_frame(probs: np.ndarray, ids: list[str], classes: list[str], fold: int | None = None) -> pd.DataFrame:
    """Probabilities (N, C) as a table keyed by image: img[, fold], classes..."""
    df = pd.DataFrame(probs, columns=classes)
    df.insert(0, "img", ids)
    if fold is not None:
        df.insert(1, "fold", fold)
    return df


def predict_folds(modules: dict[int, Classifier], paths: list[str], ids: list[str], cfg: TrainConfig) -> pd.DataFrame:
    """Every fold model's probabilities (img, fold, classes...), decoding each image once: each batch goes
    through all the models before the next is read. Unreadable images get the uniform guess."""
    first = next(iter(modules.values()))
    use_cuda = torch.cuda.is_available() and cfg.accelerator in ("auto", "gpu", "cuda")
    device = torch.device("cuda" if use_cuda else "cpu")
    # batch norms folded into their convolutions: the same outputs (checked), one memory pass fewer per layer
    nets = {k: fold_batchnorm(m.to(device).eval().net, cfg.image_size) for k, m in modules.items()}
    n = len(first.classes)
    probs = {k: np.full((len(paths), n), 1.0 / n) for k in nets}
    with torch.inference_mode():
        for x, _, idx in make_loader(paths, None, cfg, train=False):
            if not len(idx):
                continue
            x = x.to(device)
            for k, net in nets.items():
                views = tta_views(x, modules[k].tta)
                probs[k][idx.numpy()] = torch.stack([F.softmax(net(v), 1) for v in views]).mean(0).cpu().numpy()
    return pd.concat([prob_frame(probs[k], ids, first.classes, k) for k in nets], ignore_index=True)


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


def training_targets(rows: pd.DataFrame, ds: Dataset) -> list[int] | np.ndarray:
    """Class indices; or, when the dataset carries soft pseudo-labels, (N, C) distributions: one-hot for
    labelled images, the ensemble's probabilities for pseudo-labelled ones."""
    if ds.soft is None:
        return rows["y"].tolist()
    targets = np.eye(len(ds.classes), dtype=np.float32)[rows["y"].to_numpy()]
    soft = rows["img"].isin(ds.soft.index).to_numpy()
    targets[soft] = ds.soft.loc[rows.loc[soft, "img"]].to_numpy(np.float32)
    return targets


def train_fold(cfg: TrainConfig, ds: Dataset, folds: pd.DataFrame, fold: int, run_dir: Path) -> FoldResult | None:
    """Train fold `fold`, restore its best checkpoint, predict its validation images and the test set.

    Returns None on DDP ranks other than 0 (rank 0 writes everything)."""
    t0 = time.time()
    fold_dir = run_dir / f"fold{fold}"
    fold_dir.mkdir(parents=True, exist_ok=True)
    L.seed_everything(cfg.seed + fold, workers=True, verbose=False)
    # what this fold was trained with, so that folds trained on different machines can be checked (collect)
    write_yaml({**cfg.to_dict(), "folds_sha1": folds_digest(folds)}, fold_dir / "config.yaml")
    tr, va = folds[folds["fold"] != fold], folds[folds["fold"] == fold]
    module = Classifier.from_config(cfg, ds.classes)
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
    oof = predict_frame(module, va["path"].tolist(), va["img"].tolist(), cfg, ckpt_path=best_path)
    oof.insert(1, "fold", fold)
    test = predict_frame(module, ds.test["path"].tolist(), ds.test["img"].tolist(), cfg, ckpt_path=best_path) \
        if len(ds.test) else pd.DataFrame(columns=["img"] + ds.classes)
    test.insert(1, "fold", fold)
    history = epoch_history(fold_dir / "metrics.csv")
    write_csv(history, fold_dir / "history.csv")
    best_epoch = int(history.loc[history["val_loss"].idxmin(), "epoch"]) if history["val_loss"].notna().any() else -1
    write_csv(oof, fold_dir / "oof.csv")
    write_csv(test, fold_dir / "test_pred.csv")
    if resume.exists():
        resume.unlink()  # the fold is complete; the best checkpoint is all that is needed now
    if trainer.world_size > 1:
        trainer.strategy.barrier("fold-written")
    return FoldResult(fold, oof, test, float(best_cb.best_model_score), best_epoch, int(trainer.current_epoch),
                      best_path, time.time() - t0)


def blend_folds(test_pred: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    """Submission from per-fold test predictions: the mean over folds, each row summing to 1."""
    sub = test_pred.groupby("img", sort=True)[classes].mean()
    sub = sub.div(sub.sum(axis=1), axis=0)
    return sub.reset_index()


def _load_folds(run_dir: Path, cfg: TrainConfig, ds: Dataset) -> pd.DataFrame:
    """folds.csv of an earlier (interrupted) run is reused only if it was made the same way on the same images."""
    path = run_dir / "folds.csv"
    old_cfg = run_dir / "config.yaml"
    if path.exists() and old_cfg.exists():
        prev = yaml.safe_load(old_cfg.read_text())
        same = all(prev.get(k) == getattr(cfg, k) for k in ("split", "folds", "seed"))
        folds = pd.read_csv(path, dtype={"img": str, "group": str})
        if same and set(folds["img"]) == set(ds.train["img"]):
            return ds.train.merge(folds[["img", "fold"]], on="img")
        raise ValueError(f"{run_dir} holds a run made with other folds or data: choose a new --out, or delete the folder.")
    # "driver" on a class-per-folder set means its groups (a folder set has no drivers, only groups)
    split = "group" if cfg.split == "driver" and ds.kind == "folders" else cfg.split
    folds = make_folds(ds.train, split, cfg.folds, cfg.seed)
    write_csv(folds[["img", "label", "group", "fold"]], path)
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
    """
    cfg = load_config(config, data=str(data) if data else None, out=str(out) if out else None, **options)
    if not cfg.data:
        raise ValueError("no dataset: pass DATA (a folder or the Kaggle zip), or set data: in the config file.")
    run_dir = Path(cfg.out or Path("runs") / (cfg.name or Path(str(config or "run")).stem))
    cfg.name = cfg.name or run_dir.name
    ds = load_dataset(cfg.data, groups=cfg.groups)
    found = find_truth(cfg.data) if cfg.truth is None else None
    if found:
        cfg.truth = str(found)  # generated data: its private leaderboard judges the run too
    if fresh:
        discard_run(run_dir)
    elif (run_dir / "config.yaml").exists():
        diffs = config_differences(yaml.safe_load((run_dir / "config.yaml").read_text()) or {}, cfg)
        if diffs:
            raise ConfigError(f"{run_dir} holds a run made with other settings ({'; '.join(diffs)}); resuming would "
                              "mix its finished folds with new ones. Choose another --out, or add --fresh to discard "
                              "that run and start again.")
    run_dir.mkdir(parents=True, exist_ok=True)
    folds = _load_folds(run_dir, cfg, ds)
    save_config(cfg, run_dir / "config.yaml")
    todo = [cfg.fold] if cfg.fold is not None else list(range(cfg.folds))
    if any(k < 0 or k >= cfg.folds for k in todo):
        raise ValueError(f"--fold {cfg.fold} is out of range: folds are 0..{cfg.folds - 1}.")
    results: dict[int, dict] = {}
    other_rank = False
    for k in todo:
        fold_dir = run_dir / f"fold{k}"
        if (fold_dir / "oof.csv").exists() and (fold_dir / "test_pred.csv").exists():
            log.info("fold %d already done in %s: skipping", k, fold_dir)
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


def folds_digest(folds: pd.DataFrame) -> str:
    """A fingerprint of the fold assignment (image -> fold), equal on every machine that made the same folds."""
    import hashlib

    rows = folds.sort_values("img")[["img", "fold"]].astype(str).agg(",".join, axis=1)
    return hashlib.sha1("\n".join(rows).encode()).hexdigest()


def collect(run: str | Path) -> dict:
    """Assemble a run whose folds were trained separately (`tamgu train --fold K` on several machines):
    checks that every fold exists and was trained with the same settings, data and folds, then writes
    oof.csv, test_pred.csv, submission.csv and summary.json like a single `tamgu train`."""
    run_dir = Path(run)
    if not (run_dir / "config.yaml").exists():
        raise FileNotFoundError(f"{run_dir} is not a tamgu run folder (no config.yaml).")
    cfg = load_config(run_dir / "config.yaml")
    ds = load_dataset(cfg.data, groups=cfg.groups)
    folds = _load_folds(run_dir, cfg, ds)
    digest = folds_digest(folds)
    missing = [k for k in range(cfg.folds) if not (run_dir / f"fold{k}" / "oof.csv").exists()]
    if missing:
        raise ValueError(f"folds {missing} of {run_dir} are not finished: train them (tamgu train ... --fold K) "
                         "and copy their fold folders here, then collect again.")
    for k in range(cfg.folds):
        path = run_dir / f"fold{k}" / "config.yaml"
        if not path.exists():
            raise ValueError(f"{path} is missing: fold {k} was trained by an older tamgu; retrain it to collect.")
        prev = yaml.safe_load(path.read_text())
        diffs = config_differences(prev, cfg)
        if prev.get("folds_sha1") != digest:
            diffs.append("the folds (folds.csv) differ")
        if diffs:
            raise ConfigError(f"fold {k} of {run_dir} was trained differently from the run's config.yaml: "
                              f"{'; '.join(diffs)}. Retrain it with the same options (and the same data and "
                              "folds.csv), or start a fresh run.")
    return assemble(run_dir, ds, truth=cfg.truth)


RUN_FILES = ("config.yaml", "folds.csv", "oof.csv", "test_pred.csv", "submission.csv", "summary.json", "features.npz")


def discard_run(run_dir: Path) -> None:
    """Delete what tamgu wrote in a run folder (fold folders and run files); anything else is left alone."""
    import shutil

    for f in RUN_FILES:
        (run_dir / f).unlink(missing_ok=True)
    for d in run_dir.glob("fold[0-9]*"):
        if d.is_dir():
            shutil.rmtree(d)


def heldout_scores(test: pd.DataFrame, truth: pd.DataFrame, classes: list[str]) -> dict:
    """The private leaderboard: the submission (fold mean) and each fold's test predictions against held-out labels."""
    sub = blend_folds(test, classes)
    out = score_frame(sub, truth, classes)
    out["per_fold"] = {int(k): score_frame(g, truth, classes) for k, g in test.groupby("fold")}
    return out


def assemble(run_dir: Path, ds: Dataset, extra: dict | None = None, truth: str | None = None) -> dict:
    """Collect the finished folds' files into oof.csv, test_pred.csv, submission.csv and summary.json.

    With `truth` (held-out test labels), the summary also holds the held-out test log loss: the score on
    drivers no fold has seen, beside the driver-CV (OOF) estimate."""
    done = sorted(run_dir.glob("fold*/oof.csv"))
    if not done:
        raise RuntimeError(f"no finished fold in {run_dir}")
    oof = pd.concat([pd.read_csv(p, dtype={"img": str}) for p in done], ignore_index=True)
    test = pd.concat([pd.read_csv(p.with_name("test_pred.csv"), dtype={"img": str}) for p in done], ignore_index=True)
    write_csv(oof, run_dir / "oof.csv")
    write_csv(test, run_dir / "test_pred.csv")
    summary = summarize(oof, ds.train, ds.classes)
    prev = {}
    if (run_dir / "summary.json").exists():
        prev = json.loads((run_dir / "summary.json").read_text()).get("training", {})
    training = {**prev, **{str(k): v for k, v in (extra or {}).items()}}
    summary.update({"run": str(run_dir), "folds_done": [int(p.parent.name[4:]) for p in done], "training": training,
                    "uniform_log_loss": math.log(len(ds.classes))})
    if len(test):
        sub = blend_folds(test, ds.classes)
        write_csv(sub, run_dir / "submission.csv")
        summary["submission"] = str(run_dir / "submission.csv")
        if truth:
            summary["heldout"] = heldout_scores(test, read_truth(truth, ds.classes), ds.classes)
            summary["truth"] = str(truth)
    write_json(summary, run_dir / "summary.json")
    return summary
