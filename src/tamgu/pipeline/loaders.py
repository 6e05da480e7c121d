"""The loaders of a fold: which images, which targets, how they are fed to the device. Training and the Tuner
(`tuning`) both build theirs here."""

from __future__ import annotations

from collections.abc import Callable

import lightning as L
import numpy as np
import pandas as pd
from torch.utils.data import DataLoader

from .config import TrainConfig
from .data import Dataset
from ..runtime import device_for
from .transforms import WORKER_START, EpochShuffle, ImageTable, collate_skip, train_transform


def on_cuda(cfg: TrainConfig) -> bool:
    return device_for(cfg.accelerator).type == "cuda"




def make_loader(paths: list[str], labels: list[int] | None, cfg: TrainConfig, train: bool,
                seed: int | None = None, epoch: Callable[[], int] | None = None) -> DataLoader:
    """Training loaders shuffle and augment as a function of (seed, epoch) when both are given (see
    `EpochShuffle`: what makes a resumed fold identical to an uninterrupted one), else from the global RNG."""
    ds = ImageTable(paths, labels, cfg.image_size, train_transform(cfg.augment, cfg.image_size) if train else None)
    sampler = EpochShuffle(len(ds), seed, epoch) if train and seed is not None and epoch is not None else None
    return DataLoader(ds, batch_size=cfg.batch_size if train else cfg.batch_size * 2,
                      shuffle=train and sampler is None, sampler=sampler,
                      num_workers=cfg.workers, collate_fn=collate_skip, persistent_workers=cfg.workers > 0,
                      drop_last=train and len(ds) > cfg.batch_size, pin_memory=on_cuda(cfg),
                      multiprocessing_context=WORKER_START if cfg.workers > 0 else None)


def training_targets(rows: pd.DataFrame, ds: Dataset) -> list[int] | np.ndarray:
    """Class indices; or, when the dataset carries soft pseudo-labels, (N, C) distributions: one-hot for
    labelled images, the ensemble's probabilities for pseudo-labelled ones."""
    if ds.soft is None:
        return rows["y"].tolist()
    targets = np.eye(len(ds.classes), dtype=np.float32)[rows["y"].to_numpy()]
    soft = rows["img"].isin(ds.soft.index).to_numpy()
    targets[soft] = ds.soft.loc[rows.loc[soft, "img"]].to_numpy(np.float32)
    return targets


class FoldData(L.LightningDataModule):
    """A fold's loaders rebuilt from `batch_size`, which Lightning's Tuner changes between its trials."""

    def __init__(self, cfg: TrainConfig, train_rows: pd.DataFrame, val_rows: pd.DataFrame, targets):
        super().__init__()
        self.cfg, self.train_rows, self.val_rows, self.targets = cfg, train_rows, val_rows, targets
        self.batch_size = cfg.batch_size

    def _cfg(self) -> TrainConfig:
        return self.cfg.model_copy(update={"batch_size": int(self.batch_size)})

    def train_dataloader(self) -> DataLoader:
        return make_loader(self.train_rows["path"].tolist(), self.targets, self._cfg(), True)

    def val_dataloader(self) -> DataLoader:
        return make_loader(self.val_rows["path"].tolist(), self.val_rows["y"].tolist(), self._cfg(), False)
