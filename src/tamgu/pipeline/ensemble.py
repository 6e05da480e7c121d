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
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy.optimize import minimize, minimize_scalar

from ..io import write_csv, write_json, write_yaml
from .data import read_truth
from .metrics import accuracy, log_loss, score_frame

log = logging.getLogger(__name__)

METHODS = ("mean", "geometric", "weighted", "per-class", "rank")
EPS = 1e-15


class EnsembleError(ValueError):
    """Members that cannot be blended; the message names what differs and how to fix it."""


# ---------------------------------------------------------------------------------------------- reading
def read_run_predictions(run: str | Path) -> dict[str, Any]:
    """A run folder's prediction files: OOF (img, fold, classes), test (img, fold, classes), classes, truth."""
    run = Path(run)
    for name in ("oof.csv", "test_pred.csv"):
        if not (run / name).is_file():
            raise EnsembleError(f"{run / name} is missing: give finished run folders (tamgu train, ensemble, smooth).")
    oof = pd.read_csv(run / "oof.csv", dtype={"img": str})
    test = pd.read_csv(run / "test_pred.csv", dtype={"img": str})
    if list(oof.columns[:2]) != ["img", "fold"] or list(test.columns[:2]) != ["img", "fold"]:
        raise EnsembleError(f"{run}: prediction files must start with img,fold (got {list(oof.columns[:2])}).")
    classes = list(oof.columns[2:])
    if list(test.columns[2:]) != classes:
        raise EnsembleError(f"{run}: oof.csv and test_pred.csv have different class columns.")
    for name, df in (("oof.csv", oof), ("test_pred.csv", test)):
        p = df[classes].to_numpy(dtype=np.float64)
        if not np.isfinite(p).all() or (p < 0).any():
            raise EnsembleError(f"{run / name} has missing, infinite or negative probabilities.")
    if oof["img"].duplicated().any():
        raise EnsembleError(f"{run / 'oof.csv'} repeats images: each training image belongs in one fold.")
    cfg = yaml.safe_load((run / "config.yaml").read_text()) if (run / "config.yaml").is_file() else {}
    return {"run": str(run), "oof": oof, "test": test, "classes": classes, "truth": cfg.get("truth"),
            "data": cfg.get("data")}


def align(members: list[dict]) -> tuple[list[np.ndarray], list[np.ndarray], pd.DataFrame, pd.DataFrame]:
    """Members' OOF and fold-mean test probabilities on one common row order; EnsembleError if they differ."""
    if not members:
        raise EnsembleError("no members: give at least one run folder.")
    first = members[0]
    ref_oof = first["oof"][["img", "fold"]].sort_values("img").reset_index(drop=True)
    ref_test = sorted(set(first["test"]["img"]))
    oofs, tests = [], []
    for m in members:
        name = m["run"]
        if m["classes"] != first["classes"]:
            raise EnsembleError(f"{name} has classes {m['classes']}, {first['run']} has {first['classes']}.")
        oof = m["oof"].sort_values("img").reset_index(drop=True)
        if not oof["img"].equals(ref_oof["img"]):
            n = len(set(oof["img"]) ^ set(ref_oof["img"]))
            raise EnsembleError(f"{name} and {first['run']} predict different training images ({n} differ): "
                                "blend runs of the same dataset, with every fold finished.")
        if not oof["fold"].equals(ref_oof["fold"]):
            n = int((oof["fold"] != ref_oof["fold"]).sum())
            raise EnsembleError(f"{name} and {first['run']} put {n} images in different folds: blend runs made "
                                "with the same --split, --folds and --seed, or the OOF blend leaks.")
        if sorted(set(m["test"]["img"])) != ref_test:
            raise EnsembleError(f"{name} and {first['run']} predict different test images.")
        oofs.append(_norm(oof[first["classes"]].to_numpy(np.float64)))
        mean = m["test"].groupby("img", sort=True)[first["classes"]].mean()
        tests.append(_norm(mean.loc[ref_test].to_numpy(np.float64)))
    return oofs, tests, ref_oof, pd.DataFrame({"img": ref_test})


def _norm(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPS, None)
    return p / p.sum(axis=1, keepdims=True)


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
        raise ValueError(f"unknown method {method!r}: use {', '.join(METHODS)}.")
    return _norm(out)


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
    return _norm(np.exp(z))


def clip_probs(p: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Clip each probability to [lo, hi], then renormalise: a confident mistake costs at most about -ln(lo)."""
    return _norm(np.clip(p, lo, hi))


# ------------------------------------------------------------------------------------------------- steps
def _frame(ids: pd.DataFrame, p: np.ndarray, classes: list[str]) -> pd.DataFrame:
    df = pd.DataFrame(p, columns=classes)
    for i, col in enumerate(ids.columns):
        df.insert(i, col, ids[col].to_numpy())
    return df


def _out_of_fold(preds: list[np.ndarray], y: np.ndarray, folds: np.ndarray, fit) -> np.ndarray:
    """Each fold's rows predicted with parameters fitted on the other folds: an honest OOF estimate."""
    out = np.zeros_like(preds[0])
    for k in np.unique(folds):
        tr, va = folds != k, folds == k
        out[va] = fit([p[tr] for p in preds], y[tr], [p[va] for p in preds])
    return out


def ensemble(runs: list[str | Path], out: str | Path, method: str = "mean", weights: list[float] | None = None,
             temperature: bool = False, clip: tuple[float, float] | None = None,
             truth: str | Path | None = None) -> dict:
    """Blend finished runs into a new run folder `out`; returns its summary (also summary.json).

    `method`: mean | geometric | weighted (simplex weights fitted on OOF) | per-class | rank. `weights`:
    fixed weights for mean/geometric (e.g. the book's 0.33 each). `temperature`: fit one temperature on OOF
    and apply it to test. `clip`: (lo, hi) probability limits. `truth`: held-out test labels; by default
    the members' own.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}: use {', '.join(METHODS)}.")
    members = [read_run_predictions(r) for r in runs]
    classes = members[0]["classes"]
    oofs, tests, oof_ids, test_ids = align(members)
    labels = _labels(members, oof_ids, classes)
    y, folds = labels["y"].to_numpy(), oof_ids["fold"].to_numpy()

    if weights is not None:
        if len(weights) != len(members) or method not in ("mean", "geometric"):
            raise ValueError(f"--weights needs one number per run ({len(members)}) and --method mean or geometric.")
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
        reliability_figure(y, before, oof_blend, out / "calibration.png")
    oof_df = _frame(oof_ids, oof_blend, classes)
    test_df = _frame(test_ids.assign(fold=-1), test_blend, classes)
    write_csv(oof_df, out / "oof.csv")
    write_csv(test_df, out / "test_pred.csv")
    write_csv(_frame(test_ids, test_blend, classes), out / "submission.csv")

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
        "table": table.to_dict(orient="records"), "submission": str(out / "submission.csv"),
        "uniform_log_loss": float(np.log(len(classes))),
    }
    if held_truth is not None:
        summary["heldout"] = score_frame(_frame(test_ids, test_blend, classes), held_truth, classes)
        summary["truth"] = str(truth)
    write_yaml({"kind": "ensemble", "method": method, "members": summary["members"], "weights": weights,
                "temperature": temperature, "clip": list(clip) if clip else None, "truth": str(truth) if truth else None,
                "data": members[0]["data"]}, out / "config.yaml")
    write_json(summary, out / "summary.json")
    return summary


def reliability_figure(y: np.ndarray, before: np.ndarray, after: np.ndarray, path: Path, bins: int = 10):
    """Reliability diagram of the OOF predictions before and after calibration: confidence against accuracy
    per bin (on the diagonal = calibrated). Saved to `path`; returned (shows inline in a notebook)."""
    import sys

    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--")
    for name, p in (("before", before), ("after", after)):
        conf, right = p.max(1), p.argmax(1) == y
        edges = np.linspace(0, 1, bins + 1)
        which = np.clip(np.digitize(conf, edges) - 1, 0, bins - 1)
        xs = [conf[which == b].mean() for b in range(bins) if (which == b).any()]
        ys = [right[which == b].mean() for b in range(bins) if (which == b).any()]
        ax.plot(xs, ys, marker="o", label=f"{name}: log loss {log_loss(y, p):.3f}")
    ax.set_xlabel("confidence (top probability)")
    ax.set_ylabel("accuracy")
    ax.set_title("OOF reliability")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    if "ipykernel" not in sys.modules:
        plt.close(fig)
    return fig


def _labels(members: list[dict], oof_ids: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    """Training labels of the OOF rows, from the members' dataset."""
    from .data import load_dataset

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
        s = score_frame(_frame(test_ids, test_p, classes), truth, classes)
        row.update(heldout_log_loss=s["log_loss"], heldout_accuracy=s["accuracy"])
    return row
