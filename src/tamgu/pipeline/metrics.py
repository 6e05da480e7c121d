"""The competition's metric: multi-class log loss as Kaggle computes it."""

from __future__ import annotations
from ..errors import InputError

import numpy as np
import pandas as pd

EPS = 1e-15  # Kaggle clips to [1e-15, 1 - 1e-15]


def log_loss(y_true: np.ndarray, probs: np.ndarray, eps: float = EPS) -> float:
    """-(1/N) sum_i log p_i,y_i with each row renormalised then clipped, as the leaderboard does."""
    p = np.asarray(probs, dtype=np.float64)
    p = p / p.sum(axis=1, keepdims=True)
    p = np.clip(p, eps, 1 - eps)
    y = np.asarray(y_true, dtype=np.int64)
    return float(-np.mean(np.log(p[np.arange(len(y)), y])))


def accuracy(y_true: np.ndarray, probs: np.ndarray) -> float:
    return float(np.mean(np.asarray(probs).argmax(axis=1) == np.asarray(y_true)))


def score_frame(pred: pd.DataFrame, truth: pd.DataFrame, classes: list[str]) -> dict:
    """Score predictions (img, class columns) against truth (img, y); rows matched by image id."""
    merged = truth[["img", "y"]].merge(pred, on="img", how="inner")
    missing = len(truth) - len(merged)
    if missing:
        raise InputError(f"{missing} labelled images have no prediction row: predict every image before scoring.")
    p = merged[classes].to_numpy(dtype=np.float64)
    return {"log_loss": log_loss(merged["y"].to_numpy(), p), "accuracy": accuracy(merged["y"].to_numpy(), p),
            "images": int(len(merged))}
