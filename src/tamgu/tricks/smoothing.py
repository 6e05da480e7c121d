"""Test-neighbour smoothing (the 1st place's trick): State Farm's test images are frames of videos, so an
image's nearest neighbours in feature space are mostly the same driver doing the same thing a moment
earlier or later. Each prediction is blended with its k nearest neighbours', weighted by similarity.

    tamgu smooth RUN --out DIR [--k 10] [--alpha 0.5]

Features are the backbone's pooled (penultimate) features, L2-normalised: OOF images through the model of
their own fold, test images through every fold's model (side by side, so a similarity is the mean of the
models' similarities). They are computed once and kept in
RUN/features.npz. k and the blend weight alpha are chosen on OOF predictions, with neighbours looked up
only inside the same validation fold (never across folds, never with test labels). k=0 or alpha=0 is the
identity.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors

from ..errors import InputError, MissingInput
from ..files import atomic_path, write_csv
from ..pipeline import runfolder
from ..pipeline.data import load_dataset, read_truth
from ..pipeline.familiar import unit_rows
from ..pipeline.metrics import accuracy, log_loss, score_frame
from ..pipeline.table import align, normalise, prob_frame
from ..defaults import ACCELERATOR

log = logging.getLogger(__name__)

K_GRID = (0, 1, 2, 3, 5, 10, 20)
ALPHA_GRID = (0.0, 0.25, 0.5, 0.75, 0.9, 1.0)


def neighbour_smooth(p: np.ndarray, feats: np.ndarray, k: int, alpha: float, groups: np.ndarray | None = None,
                     neighbours: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """p (N, C) blended with the similarity-weighted mean of each row's k nearest rows (cosine, same group
    only): (1 - alpha) p + alpha * neighbours. `neighbours`: precomputed (similarities, indices) for reuse."""
    if k == 0 or alpha == 0:
        return p.copy()
    sims, idx = neighbours if neighbours is not None else knn(feats, k, groups)
    sims, idx = sims[:, :k], idx[:, :k]
    w = np.clip(sims, 0, None) * (idx >= 0)
    nb = (p[np.clip(idx, 0, None)] * w[..., None]).sum(1)  # (N, C)
    total = w.sum(1, keepdims=True)
    nb = np.where(total > 0, nb / np.maximum(total, 1e-12), p)
    return normalise((1 - alpha) * p + alpha * nb)


def knn(feats: np.ndarray, k: int, groups: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Cosine similarities and indices of each row's k nearest other rows (within its group); -1 pads."""
    n = len(feats)
    sims, idx = np.zeros((n, k)), np.full((n, k), -1)
    for g in (np.unique(groups) if groups is not None else [None]):
        rows = np.flatnonzero(groups == g) if g is not None else np.arange(n)
        kk = min(k, len(rows) - 1)
        if kk <= 0:
            continue
        nn = NearestNeighbors(n_neighbors=kk + 1, metric="cosine").fit(feats[rows])
        dist, j = nn.kneighbors(feats[rows])
        # drop each row itself (normally the first hit; duplicates may come first instead)
        keep = np.array([[c for c in range(kk + 1) if j[r, c] != r][:kk] for r in range(len(rows))])
        sims[rows, :kk] = 1 - np.take_along_axis(dist, keep, 1)
        idx[rows, :kk] = rows[np.take_along_axis(j, keep, 1)]
    return sims, idx


# ------------------------------------------------------------------------------------------- features
def compute_features(run: str | Path | runfolder.Run, batch_size: int = 64, accelerator: str = ACCELERATOR,
                     workers: int = 0, dataset=None) -> dict[str, np.ndarray]:
    """Pooled backbone features of the run's OOF images (own fold's model) and test images (every fold's,
    side by side), L2-normalised, computed on `accelerator` through the inference loop; cached in
    RUN/features.npz. `dataset`: the run's dataset when the caller has loaded it already."""
    from ..pipeline.inference import run_models
    from ..pipeline.module import load_checkpoint

    source = runfolder.Run(run)
    cache = source.path / runfolder.FEATURES
    if cache.is_file():
        z = np.load(cache, allow_pickle=False)
        return {k: z[k] for k in z.files}
    cfg = source.config
    ds = dataset if dataset is not None else load_dataset(cfg.data, groups=cfg.groups, strict=False, fixes=cfg.fixes)
    oof = source.oof()
    paths = dict(zip(ds.train["img"], ds.train["path"]))
    ckpts = source.checkpoints
    missing = sorted(set(oof["fold"]) - set(ckpts))
    if missing:
        raise MissingInput(f"{source.path} lacks fold*/best.ckpt for folds {missing}: smoothing needs the models.")
    nets = {k: load_checkpoint(c).net for k, c in ckpts.items()}

    def embed(which: dict, refs: list[str]) -> dict:
        return run_models(which, refs, cfg.image_size, output="features", batch_size=batch_size, workers=workers,
                          accelerator=accelerator).values

    oof_feats = np.zeros((len(oof), 0), np.float32)
    for k, rows in oof.groupby("fold").groups.items():
        f = embed({k: nets[k]}, [paths[i] for i in oof.loc[rows, "img"]])[k]
        if oof_feats.shape[1] == 0:
            oof_feats = np.zeros((len(oof), f.shape[1]), np.float32)
        oof_feats[np.asarray(rows)] = f
    test_ids = sorted(ds.test["img"])
    test_paths = dict(zip(ds.test["img"], ds.test["path"]))
    # every fold model's unit features side by side: their cosine is the mean of the models' cosines
    if test_ids:
        per_model = embed(nets, [test_paths[i] for i in test_ids])
        test_feats = np.concatenate([unit_rows(per_model[k]) for k in nets], axis=1)
    else:
        test_feats = np.zeros((0, oof_feats.shape[1]), np.float32)
    feats = {"oof_img": oof["img"].to_numpy().astype(str), "oof": unit_rows(oof_feats),
             "test_img": np.asarray(test_ids, dtype=str), "test": unit_rows(test_feats)}
    with atomic_path(cache) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **feats)
    return feats


def feature_source(run: runfolder.Run) -> runfolder.Run:
    """The run whose models give features: RUN itself, or an ensemble's first member (recursively)."""
    if run.checkpoints:
        return run
    if run.settings.get("members"):
        return feature_source(runfolder.Run(run.settings["members"][0]))
    if run.settings.get("source"):
        return feature_source(runfolder.Run(run.settings["source"]))
    raise MissingInput(f"{run.path} has no fold models (fold*/best.ckpt) to compute features with.")


# ---------------------------------------------------------------------------------------------- step
def smooth(run: str | Path, out: str | Path, k: int | None = None, alpha: float | None = None,
           truth: str | Path | None = None, accelerator: str = ACCELERATOR) -> dict:
    """Smooth a run's (or an ensemble's) predictions over nearest neighbours; writes a run folder `out`.

    `k`, `alpha`: fixed values; by default each is chosen on OOF log loss from K_GRID x ALPHA_GRID.

    Args:
        run: run or ensemble folder
        out: folder for the smoothed predictions
        k: neighbours (default: chosen on OOF from 0,1,2,3,5,10,20)
        alpha: weight of the neighbours (default: chosen on OOF)
        truth: held-out test labels (default: the run's)
        accelerator: where features are computed: cpu, gpu, mps or auto
    """
    run = runfolder.Run(run)
    pred = run.predictions()
    classes = pred["classes"]
    oofs, tests, oof_ids, test_ids = align([pred])
    p_oof, p_test = oofs[0], tests[0]
    source = feature_source(run)
    data = pred["data"] or source.data
    ds = load_dataset(data, groups=source.settings.get("groups"), strict=False,  # once: features and labels
                      fixes=source.settings.get("fixes") if data == source.data else None)
    feats = compute_features(source, accelerator=accelerator, dataset=ds if data == source.data else None)
    f_oof = _rows(feats["oof_img"], feats["oof"], oof_ids["img"])
    f_test = _rows(feats["test_img"], feats["test"], test_ids["img"])
    train = ds.train.set_index("img")
    y = train.loc[oof_ids["img"], "y"].to_numpy()
    folds = oof_ids["fold"].to_numpy()

    ks = [k] if k is not None else list(K_GRID)
    alphas = [alpha] if alpha is not None else list(ALPHA_GRID)
    kmax = max(ks)
    nb_oof = knn(f_oof, kmax, folds) if kmax else None
    grid = []
    for kk in ks:
        for a in alphas:
            grid.append({"k": kk, "alpha": a,
                         "oof_log_loss": log_loss(y, neighbour_smooth(p_oof, f_oof, kk, a, folds, nb_oof))})
    grid = pd.DataFrame(grid)
    best = grid.loc[grid["oof_log_loss"].idxmin()]
    bk, ba = int(best["k"]), float(best["alpha"])
    s_oof = neighbour_smooth(p_oof, f_oof, bk, ba, folds, nb_oof)
    s_test = neighbour_smooth(p_test, f_test, bk, ba) if len(p_test) else p_test

    out = Path(out)
    result = runfolder.Run(out)
    result.write(oof=prob_frame(s_oof, oof_ids, classes), test=prob_frame(s_test, test_ids.assign(fold=-1), classes),
                 submission=prob_frame(s_test, test_ids, classes))
    write_csv(grid, out / "grid.csv")
    summary: dict[str, Any] = {
        "run": str(out), "source": str(run.path), "k": bk, "alpha": ba,
        "before": {"oof_log_loss": log_loss(y, p_oof)},
        "oof": {"log_loss": log_loss(y, s_oof), "accuracy": accuracy(y, s_oof), "images": int(len(y))},
        "submission": str(out / "submission.csv"), "uniform_log_loss": float(np.log(len(classes))),
    }
    truth = truth or pred["truth"]
    if truth and Path(truth).is_file():
        t = read_truth(truth, classes)
        summary["before"]["heldout_log_loss"] = score_frame(prob_frame(p_test, test_ids, classes), t, classes)["log_loss"]
        summary["heldout"] = score_frame(prob_frame(s_test, test_ids, classes), t, classes)
        summary["truth"] = str(truth)
    result.write(config={"kind": "smooth", "source": str(run.path), "k": k, "alpha": alpha, "data": data,
                         "truth": str(truth) if truth else None}, summary=summary)
    return summary


def _rows(ids: np.ndarray, feats: np.ndarray, want: pd.Series) -> np.ndarray:
    pos = pd.Series(np.arange(len(ids)), index=ids)
    missing = set(want) - set(pos.index)
    if missing:
        raise InputError(f"{len(missing)} images have no features (e.g. {sorted(missing)[0]}): delete "
                         "features.npz in the run folder to compute them again.")
    return feats[pos.loc[want].to_numpy()]
