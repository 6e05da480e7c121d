"""Calibration of probabilities fitted on OOF predictions: one temperature (softens or sharpens every row),
and clipping (caps what a confident mistake costs). Used by `tamgu ensemble --temperature / --clip`."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from ..pipeline.metrics import EPS, log_loss
from ..pipeline.table import normalise


def fit_temperature(p: np.ndarray, y: np.ndarray) -> float:
    """The temperature T that minimises log loss of p^(1/T) (renormalised): T > 1 softens, T < 1 sharpens."""
    logp = np.log(np.clip(p, EPS, None))
    res = minimize_scalar(lambda t: log_loss(y, apply_temperature(logp, t, is_log=True)), bounds=(0.05, 20),
                          method="bounded")
    return float(res.x)


def apply_temperature(p: np.ndarray, t: float, is_log: bool = False) -> np.ndarray:
    logp = p if is_log else np.log(np.clip(p, EPS, None))
    z = logp / t
    z -= z.max(axis=1, keepdims=True)
    return normalise(np.exp(z))


def clip_probs(p: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Clip each probability to [lo, hi], then renormalise: a confident mistake costs at most about -ln(lo)."""
    return normalise(np.clip(p, lo, hi))
