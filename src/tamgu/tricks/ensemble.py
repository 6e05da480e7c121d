"""Ensembles and calibration from prediction files alone: `oof.csv` and `test_pred.csv` of finished runs.

    tamgu ensemble runs/a runs/b runs/c --out runs/blend --method weighted [--temperature] [--clip 0.005,0.95]

Members must cover the same training images in the same folds, the same classes and the same test images
(refused otherwise, naming what differs). Fitted blends (weighted, per-class) and the temperature are fitted
on OOF predictions; their OOF score is reported out of fold (fitted on the other folds, judged on each
fold), so a blend that only memorises the OOF rows shows it. The output folder is a run folder like any
other (oof.csv, test_pred.csv, submission.csv, summary.json), so ensembles can be blended, smoothed and
scored in turn.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from ..errors import InputError
from ..pipeline import runfolder
from ..pipeline.data import read_truth
from ..pipeline.metrics import EPS, accuracy, log_loss, score_frame
from ..pipeline.table import TableError, align, normalise, prob_frame
from .calibration import apply_temperature, clip_probs, fit_temperature

log = logging.getLogger(__name__)

METHODS = ("mean", "geometric", "weighted", "per-class", "rank")
# Members that cannot be blended are prediction tables that disagree: the table module's error names what differs
class EnsembleError(TableError):
    """Runs that cannot be blended: the message names the run and what differs."""


# --------------------------------------------------------------------------------------------- blending
def blend(preds: list[np.ndarray], method: str = "mean", weights: np.ndarray | None = None) -> np.ndarray:
    """Blend members' probabilities (each (N, C)). `weights`: (M,) for mean/geometric/weighted, (M, C) for
    per-class; equal when None. Rows of the result sum to one."""
    m = len(preds)
    stack = np.stack(preds)  # (M, N, C)
    if weights is None:
        weights = np.full(m, 1.0 / m)
    w = np.asarray(weights, np.float64)
    if method in ("mean", "weighted"):
        out = np.tensordot(w, stack, axes=1)
    elif method == "geometric":
        out = np.exp(np.tensordot(w, np.log(np.clip(stack, EPS, None)), axes=1))
    elif method == "per-class":
        w = w if w.ndim == 2 else np.repeat(w[:, None], stack.shape[2], axis=1)
        out = (stack * w[:, None, :]).sum(0)
    elif method == "rank":
        # each class's column becomes ranks in 0..1, averaged: for members on different scales
        ranks = stack.argsort(axis=1).argsort(axis=1) / max(1, stack.shape[1] - 1)
        out = np.tensordot(w, ranks, axes=1) + EPS
    else:
        raise InputError(f"unknown method {method!r}: use {', '.join(METHODS)}.")
    return normalise(out)


def fit_weights(preds: list[np.ndarray], y: np.ndarray, method: str, shrink: float = 1e-3) -> np.ndarray:
    """Weights on the simplex (per member, or per member and class: each class's weights sum to one) that
    minimise log loss on (preds, y). `shrink` pulls per-class weights a little towards equal: they have
    members x classes knobs for a few hundred rows (their out-of-fold score shows what is left)."""
    m, c = len(preds), preds[0].shape[1]
    shape = (m,) if method == "weighted" else (m, c)
    groups = 1 if method == "weighted" else c
    pull = shrink if method == "per-class" else 0.0

    def loss(flat: np.ndarray) -> float:
        w = flat.reshape(shape)
        return log_loss(y, blend(preds, method, w)) + pull * float(((w - 1.0 / m) ** 2).sum())

    sums = [{"type": "eq", "fun": (lambda f, j=j: f.reshape(m, groups)[:, j].sum() - 1.0)} for j in range(groups)]
    res = minimize(loss, np.full(m * groups, 1.0 / m), method="SLSQP", bounds=[(0.0, 1.0)] * (m * groups),
                   constraints=sums)
    w = np.clip(res.x.reshape(shape), 0, None)
    return w / w.sum(axis=0)


# ------------------------------------------------------------------------------------------------- steps
def _out_of_fold(preds: list[np.ndarray], y: np.ndarray, folds: np.ndarray, fit) -> np.ndarray:
    """Each fold's rows predicted with parameters fitted on the other folds: an honest OOF estimate."""
    out = np.zeros_like(preds[0])
    for k in np.unique(folds):
        tr, va = folds != k, folds == k
        out[va] = fit([p[tr] for p in preds], y[tr], [p[va] for p in preds])
    return out


def ensemble(runs: list[str | Path], out: str | Path,
             method: Literal["mean", "geometric", "weighted", "per-class", "rank"] = "mean", weights: list[float] | None = None,
             temperature: bool = False, clip: tuple[float, float] | None = None,
             truth: str | Path | None = None) -> dict:
    """Blend finished runs into a new run folder `out`; returns its summary (also summary.json).

    `method`: mean | geometric | weighted (simplex weights fitted on OOF) | per-class | rank. `weights`:
    fixed weights for mean/geometric (e.g. the book's 0.33 each). `temperature`: fit one temperature on OOF
    and apply it to test. `clip`: (lo, hi) probability limits. `truth`: held-out test labels; by default
    the members' own.

    Args:
        runs: run folders (tamgu train, ensemble or smooth outputs)
        out: folder for the blend (a run folder itself)
        method: mean, geometric, weighted (fitted on OOF), per-class (a weight per class), rank
        weights: fixed weights for mean/geometric, e.g. 0.33,0.33,0.33
        temperature: fit a temperature on OOF and apply it to test
        clip: clip probabilities to LO,HI (e.g. 0.005,0.95)
        truth: held-out test labels (default: the members')
    """
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}: use {', '.join(METHODS)}.")
    members = [runfolder.Run(r).predictions() for r in runs]
    classes = members[0]["classes"]
    try:
        oofs, tests, oof_ids, test_ids = align(members)
    except TableError as e:  # runs that each read fine but cannot be blended
        raise EnsembleError(str(e)) from None
    labels = _labels(members, oof_ids, classes)
    y, folds = labels["y"].to_numpy(), oof_ids["fold"].to_numpy()

    if weights is not None:
        if len(weights) != len(members) or method not in ("mean", "geometric"):
            raise InputError(f"--weights needs one number per run ({len(members)}) and --method mean or geometric.")
        w = np.asarray(weights, np.float64) / np.sum(weights)
    else:
        w = None

    def fit_blend(tr_preds, tr_y, va_preds):
        fw = fit_weights(tr_preds, tr_y, method) if method in ("weighted", "per-class") else w
        return blend(va_preds, method, fw)

    final_w = fit_weights(oofs, y, method) if method in ("weighted", "per-class") else w
    oof_blend = _out_of_fold(oofs, y, folds, fit_blend) if method in ("weighted", "per-class") \
        else blend(oofs, method, final_w)
    test_blend = blend(tests, method, final_w)

    calib: dict[str, Any] = {}
    before = oof_blend
    if temperature:
        t_all = fit_temperature(oof_blend, y)
        oof_blend = _out_of_fold([oof_blend], y, folds,
                                 lambda tr, ty, va: apply_temperature(va[0], fit_temperature(tr[0], ty)))
        test_blend = apply_temperature(test_blend, t_all)
        calib["temperature"] = t_all
    if clip is not None:
        oof_blend, test_blend = clip_probs(oof_blend, *clip), clip_probs(test_blend, *clip)
        calib["clip"] = list(clip)

    out = Path(out)
    if calib:
        from ..reports.figures import finish, reliability_figure

        finish(reliability_figure(y, {"before": before, "after": oof_blend}, "OOF reliability"), out / "calibration.png")
    oof_df = prob_frame(oof_blend, oof_ids, classes)
    test_df = prob_frame(test_blend, test_ids.assign(fold=-1), classes)
    result = runfolder.Run(out)
    result.write(oof=oof_df, test=test_df, submission=prob_frame(test_blend, test_ids, classes))

    truth = truth or members[0]["truth"]
    held_truth = read_truth(truth, classes) if truth and Path(truth).is_file() else None
    rows = []
    for m, p, tp in zip(members, oofs, tests):
        rows.append(_scores(m["run"], p, y, tp, test_ids, held_truth, classes))
    rows.append(_scores("blend", oof_blend, y, test_blend, test_ids, held_truth, classes))
    table = pd.DataFrame(rows)
    summary = {
        "run": str(out), "method": method, "members": [m["run"] for m in members],
        "weights": None if final_w is None else np.round(final_w, 6).tolist(), **calib,
        "oof": {"log_loss": log_loss(y, oof_blend), "accuracy": accuracy(y, oof_blend), "images": int(len(y))},
        "table": table.to_dict(orient="records"), "submission": str(out / runfolder.SUBMISSION),
        "uniform_log_loss": float(np.log(len(classes))),
    }
    if held_truth is not None:
        summary["heldout"] = score_frame(prob_frame(test_blend, test_ids, classes), held_truth, classes)
        summary["truth"] = str(truth)
    result.write(config={"kind": "ensemble", "method": method, "members": summary["members"], "weights": weights,
                         "temperature": temperature, "clip": list(clip) if clip else None,
                         "truth": str(truth) if truth else None, "data": members[0]["data"]}, summary=summary)
    return summary


def _labels(members: list[dict], oof_ids: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    """Training labels of the OOF rows, from the members' dataset."""
    from ..pipeline.data import load_dataset

    data = members[0]["data"]
    if not data:
        raise EnsembleError(f"{members[0]['run']} has no config.yaml naming its dataset: the OOF blend needs labels.")
    train = load_dataset(data, strict=False).train
    merged = oof_ids.merge(train[["img", "y"]], on="img", how="left")
    if merged["y"].isna().any():
        raise EnsembleError(f"{int(merged['y'].isna().sum())} OOF images are not in {data}: blend runs of that dataset.")
    return merged


def _scores(name, oof_p, y, test_p, test_ids, truth, classes) -> dict:
    row = {"member": name, "oof_log_loss": log_loss(y, oof_p), "oof_accuracy": accuracy(y, oof_p)}
    if truth is not None:
        s = score_frame(prob_frame(test_p, test_ids, classes), truth, classes)
        row.update(heldout_log_loss=s["log_loss"], heldout_accuracy=s["accuracy"])
    return row
