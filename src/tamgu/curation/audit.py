"""What in a dataset is probably wrong, from a trained run: the chapter's OOF probabilities judge every label
with a model that never trained on it.

    tamgu audit RUN --out DIR

    DIR/label_issues.csv   img,given,suggested,score,p_given,p_suggested,group,fold,path: most suspicious first
    DIR/duplicates.csv     img,other,similarity,kind (leak: two groups; conflict: two labels),...
    DIR/outliers.csv       img,score,label,group,path: far from every other image
    DIR/map.csv            img,x,y,label,flagged,path: a 2-D map of the features
    DIR/fixes.csv          the flagged images with an empty `action` to fill in (drop or relabel), read by
                           `tamgu train DATA --fixes DIR/fixes.csv`: the image files are never moved
    DIR/audit.html         each flagged image with its given and suggested label and its nearest neighbours

Label issues are found by confident learning (Northcutt, Jiang and Chuang, "Confident Learning: Estimating
Uncertainty in Dataset Labels", JAIR 2021): per-class thresholds (the mean probability the model gives a
class's own images), the confident joint of given and likely-true labels, calibrated to the class counts,
and in each off-diagonal cell that many images, those with the largest margin for the other class (prune by
noise rate, cleanlab's default), less any the model still gives its own label.
Written here rather than taken from cleanlab, whose AGPL-3.0 licence would bind every user who ships tamgu;
benchmarks/audit.py compares the two where cleanlab is installed.

Features (for duplicates, outliers, neighbours and the map) come from one model, the run's first fold, for
every image: OOF features of different folds' models are not comparable, and a leak is exactly a pair that
sits in two folds.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ..defaults import ACCELERATOR, PROGRESS
from ..errors import InputError, MissingInput
from ..files import atomic_path, write_csv, write_json

log = logging.getLogger(__name__)

NEIGHBOURS = 4     # nearest neighbours shown beside each flagged image (and used for the outlier score)
OUTLIER_MADS = 4.0  # an outlier's mean neighbour distance lies this many (robust) deviations above the median...
OUTLIER_SHARE = 0.01  # ...and among the 1% farthest: fine-tuned features are heavy-tailed
CHANCE_TIMES = 1.5  # OOF accuracy under this many times chance: the audit warns that the model cannot judge
MAP_TSNE_MAX = 4000  # up to this many images the map is a t-SNE; beyond, PCA (t-SNE takes minutes there)


# ------------------------------------------------------------------------------ confident learning
def confident_learning(probs: np.ndarray, given: np.ndarray) -> pd.DataFrame:
    """Label issues among rows of `probs` (N, K, out-of-sample) with labels `given` (N,): a table with one row
    per flagged row (`row`, `suggested`, `score` = the other class's probability minus the given one's, the
    model's certainty that another class is meant), most suspicious first; `attrs["noise"]` estimates the
    share of wrong labels."""
    n, k = probs.shape
    counts = np.bincount(given, minlength=k)
    self_conf = probs[np.arange(n), given]
    # threshold of class j: the mean probability of j over the images labelled j
    thresholds = np.array([probs[given == j, j].mean() if counts[j] else np.inf for j in range(k)])
    above = probs >= thresholds - 1e-12
    masked = np.where(above, probs, -1.0)
    likely, confident = masked.argmax(1), above.any(1)
    joint = np.zeros((k, k))
    np.add.at(joint, (given[confident], likely[confident]), 1)
    # calibrate: each row sums to that class's count (the joint counts only confidently placed images)
    rows = joint.sum(1, keepdims=True)
    calibrated = np.divide(joint, rows, out=np.zeros_like(joint), where=rows > 0) * counts[:, None]
    flagged = np.zeros(n, bool)
    for i in range(k):
        mine = np.flatnonzero(given == i)
        for j in range(k):
            m = int(round(calibrated[i, j]))
            if i == j or m == 0 or not len(mine):
                continue
            margin = probs[mine, j] - probs[mine, i]
            flagged[mine[np.argsort(-margin)[:m]]] = True
    flagged &= probs.argmax(1) != given  # an image the model still gives its own label is not flagged
    other = probs.copy()
    other[np.arange(n), given] = -1.0
    suggested = other.argmax(1)
    score = other.max(1) - self_conf
    rows_ = np.flatnonzero(flagged)
    table = pd.DataFrame({"row": rows_, "suggested": suggested[rows_], "score": score[rows_]})
    table = table.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)
    table.attrs["noise"] = float(calibrated.sum() - np.trace(calibrated)) / max(n, 1)
    return table


# ------------------------------------------------------------------------------------- features
def embed_all(run, paths: list[str], batch_size: int = 64, accelerator: str = ACCELERATOR,
              workers: int = 0, progress: bool = PROGRESS) -> np.ndarray:
    """Unit backbone features of every image through the run's first fold model: one space for all."""
    from ..pipeline.familiar import unit_rows
    from ..pipeline.inference import run_models
    from ..pipeline.module import load_checkpoint
    from ..tricks.smoothing import feature_source

    source = feature_source(run)
    first = min(source.checkpoints)
    net = load_checkpoint(source.checkpoints[first]).net
    f = run_models({0: net}, paths, source.config.image_size, output="features", batch_size=batch_size,
                   workers=workers, accelerator=accelerator, progress=progress).values[0]
    return unit_rows(f)


def neighbours(feats: np.ndarray, k: int = NEIGHBOURS) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k nearest other rows (cosine similarity, index), most similar first."""
    from sklearn.neighbors import NearestNeighbors

    kk = min(k + 1, len(feats))
    dist, idx = NearestNeighbors(n_neighbors=kk, metric="cosine").fit(feats).kneighbors(feats)
    sims, out = np.zeros((len(feats), kk - 1)), np.zeros((len(feats), kk - 1), int)
    for r in range(len(feats)):  # drop the row itself (an exact duplicate may come first instead)
        keep = [c for c in range(kk) if idx[r, c] != r][: kk - 1]
        sims[r], out[r] = 1 - dist[r, keep], idx[r, keep]
    return sims, out


def near_duplicates(train: pd.DataFrame, sims: np.ndarray, idx: np.ndarray, threshold: float) -> pd.DataFrame:
    """Pairs at least `threshold` similar that cross groups (leak: one scene in two folds) or labels (conflict)."""
    rows = []
    img, grp, lab = train["img"].to_numpy(), train["group"].astype(str).to_numpy(), train["label"].to_numpy()
    for a in range(len(train)):
        for s, b in zip(sims[a], idx[a]):
            if s < threshold or b <= a and a in idx[b]:  # each pair once
                continue
            kinds = [k for k, differs in (("leak", grp[a] != grp[b]), ("conflict", lab[a] != lab[b])) if differs]
            if kinds:
                rows.append((img[a], img[b], round(float(s), 4), "+".join(kinds), lab[a], lab[b], grp[a], grp[b]))
    cols = ["img", "other", "similarity", "kind", "label", "other_label", "group", "other_group"]
    return pd.DataFrame(rows, columns=cols).sort_values("similarity", ascending=False, kind="stable")


def outliers(sims: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each image's outlier score (mean cosine distance to its neighbours) and whether it stands out: more than
    OUTLIER_MADS robust deviations above the median, and among the OUTLIER_SHARE farthest."""
    score = 1 - sims.mean(1)
    med = np.median(score)
    mad = 1.4826 * np.median(np.abs(score - med)) + 1e-9
    return score, score > max(med + OUTLIER_MADS * mad, np.quantile(score, 1 - OUTLIER_SHARE))


def duplicate_threshold(feats: np.ndarray, groups: np.ndarray) -> float:
    """How alike two images of one group are (the median similarity of each image to its nearest same-group
    image: neighbouring frames of one video, one driver's shots): a pair from two groups that alike is a leak."""
    sims = []
    for g in np.unique(groups):
        rows = np.flatnonzero(groups == g)
        if len(rows) > 1:
            s = feats[rows] @ feats[rows].T
            np.fill_diagonal(s, -1)
            sims.append(s.max(1))
    return float(np.median(np.concatenate(sims))) if sims else 0.97


def feature_map(feats: np.ndarray, seed: int = 0) -> np.ndarray:
    """(N, 2) coordinates: t-SNE (PCA to 50 first) up to MAP_TSNE_MAX images, PCA beyond."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    if len(feats) < 5:
        return np.zeros((len(feats), 2))
    reduced = PCA(n_components=min(50, *feats.shape), random_state=seed).fit_transform(feats)
    if len(feats) > MAP_TSNE_MAX:
        return reduced[:, :2]
    return TSNE(n_components=2, perplexity=min(30, (len(feats) - 1) / 3), init="pca",
                random_state=seed).fit_transform(reduced)


# ------------------------------------------------------------------------------------------ step
def audit(run: str | Path, out: str | Path, duplicate: float | None = None, batch_size: int = 64,
          accelerator: str = ACCELERATOR, workers: int = 0, progress: bool = PROGRESS) -> dict:
    """Find what in a run's training data is probably wrong; writes tables, fixes.csv and audit.html to `out`.

    Args:
        run: a trained run folder (its OOF probabilities judge every label)
        out: folder for the tables and the page
        duplicate: cosine similarity of features from which two images are near-duplicates (default: as alike as
            an image and its nearest neighbour of the same group usually are)
        batch_size: images per batch for the features
        accelerator: where features are computed: cpu, gpu, mps or auto
        workers: data-loading processes
    """
    from ..pipeline import runfolder
    from ..pipeline.data import load_dataset

    if duplicate is not None and not 0 < duplicate <= 1:
        raise InputError(f"--duplicate {duplicate}: a cosine similarity between 0 and 1 (e.g. 0.99).")
    source = runfolder.Run(run)
    if not source.exists:
        raise MissingInput(f"{run}: not a run folder (train one with tamgu train DATA --out RUN)")
    oof = source.oof()
    cfg = source.config
    classes = source.classes
    ds = load_dataset(cfg.data, groups=cfg.groups, strict=False, fixes=cfg.fixes)
    train = ds.train[~ds.train["pseudo"]].set_index("img")
    oof = oof[oof["img"].isin(train.index)].reset_index(drop=True)
    if len(oof) < 10:
        raise InputError(f"{run}: {len(oof)} OOF predictions: audit needs a run trained on its whole data "
                         "(every fold, not --fold K alone).")
    train = train.loc[oof["img"]].reset_index()
    probs = oof[classes].to_numpy(float)
    probs = probs / probs.sum(1, keepdims=True)
    given = train["y"].to_numpy(int)
    issues = confident_learning(probs, given)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    feats = _cached_features(out, train, source, batch_size, accelerator, workers, progress)
    sims, idx = neighbours(feats)
    label_issues = pd.DataFrame({
        "img": train["img"].to_numpy()[issues["row"]], "given": train["label"].to_numpy()[issues["row"]],
        "suggested": np.asarray(classes)[issues["suggested"]], "score": issues["score"].round(4),
        "p_given": probs[issues["row"], given[issues["row"]]].round(4),
        "p_suggested": probs[issues["row"], issues["suggested"]].round(4),
        "group": train["group"].to_numpy()[issues["row"]], "fold": oof["fold"].to_numpy()[issues["row"]],
        "neighbours": [" ".join(train["img"].to_numpy()[idx[r]]) for r in issues["row"]],
        "path": train["path"].to_numpy()[issues["row"]]})
    if duplicate is None:
        duplicate = round(duplicate_threshold(feats, train["group"].astype(str).to_numpy()), 4)
    dups = near_duplicates(train, sims, idx, duplicate)
    score, odd = outliers(sims)
    outl = pd.DataFrame({"img": train["img"], "score": score.round(4), "label": train["label"],
                         "group": train["group"], "path": train["path"]})[odd].sort_values("score", ascending=False)
    xy = feature_map(feats)
    flagged = set(label_issues["img"])
    write_csv(pd.DataFrame({"img": train["img"], "x": xy[:, 0].round(3), "y": xy[:, 1].round(3),
                            "label": train["label"], "flagged": train["img"].isin(flagged), "path": train["path"]}),
              out / "map.csv")
    write_csv(label_issues, out / "label_issues.csv")
    write_csv(dups, out / "duplicates.csv")
    write_csv(outl, out / "outliers.csv")
    fixes = pd.DataFrame({"img": label_issues["img"], "action": "", "label": label_issues["suggested"],
                          "given": label_issues["given"], "score": label_issues["score"]})
    if not (out / "fixes.csv").exists():  # the user's edits are theirs: a rerun never overwrites them
        write_csv(fixes, out / "fixes.csv")
    summary = {"run": str(source.path), "data": cfg.data, "images": int(len(train)), "classes": classes,
               "label_issues": int(len(label_issues)), "estimated_noise": round(issues.attrs["noise"], 4),
               "leaks": int(dups["kind"].str.contains("leak").sum()),
               "conflicts": int(dups["kind"].str.contains("conflict").sum()),
               "outliers": int(odd.sum()), "duplicate": duplicate, "out": str(out)}
    accuracy = float((probs.argmax(1) == given).mean())
    summary["oof_accuracy"] = round(accuracy, 4)
    if accuracy < CHANCE_TIMES / len(classes):  # a model no better than guessing cannot judge labels
        summary["warning"] = (f"the run's OOF accuracy is {accuracy:.3f}, near chance ({1 / len(classes):.3f}): its "
                              "judgment of labels means little. Audit a run that learned (more epochs, ImageNet "
                              "weights) before fixing anything.")
    write_json(summary, out / "summary.json")
    from ..reports.audit_page import audit_page

    summary["page"] = str(audit_page(out).save(out / "audit.html"))
    return summary


def _cached_features(out: Path, train: pd.DataFrame, source, batch_size: int, accelerator: str, workers: int,
                     progress: bool) -> np.ndarray:
    """The features of `train`'s images, kept in out/features.npz for a rerun on the same images and models."""
    cache = out / "features.npz"
    key = source.models_key
    if cache.is_file():
        z = np.load(cache, allow_pickle=False)
        if str(z["key"]) == key and list(z["img"]) == list(train["img"]):
            return z["feats"]
    feats = embed_all(source, train["path"].tolist(), batch_size, accelerator, workers, progress)
    with atomic_path(cache) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, img=train["img"].to_numpy().astype(str), feats=feats, key=np.asarray(key))
    return feats
