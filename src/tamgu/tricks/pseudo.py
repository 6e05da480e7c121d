"""Semi-supervised learning (chapter 5's step 8, done without the book's leak): confident test images become
training images — for training only, never in a validation fold.

    tamgu pseudo RUN_OR_ENSEMBLE --data DATA --out NEWDATA [--threshold 0.9] [--max-ratio 0.5] [--soft]

NEWDATA is a dataset in the same layout: the original training images (hard links, no copies where the
disk allows), the same test images, and the chosen test images in the class folder of their predicted
class, listed in `driver_imgs_list.csv` under a group of their own (`pseudo_<cluster>`: test images
clustered by the run's features, so frames of one video stay together) and in `pseudo_labels.csv`
(img, classname, group, confidence, and with --soft the predicted distribution, used as the target).
`tamgu train` gives those rows fold -1: they train in every fold and are validated in none. The book
copied them into the training folder before splitting, so they landed in validation folds too.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..files import write_csv
from ..pipeline import runfolder
from ..pipeline.data import DRIVER_CSV, PSEUDO_CSV, find_truth, load_dataset, truth_path
from ..pipeline.table import align

log = logging.getLogger(__name__)

THRESHOLDS = [round(0.1 * i, 1) for i in range(1, 10)]


def _link(src: str, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists():
        return
    try:
        os.link(src, dst)
    except OSError:  # another file system, or links not allowed: copy
        shutil.copy2(src, dst)


def confidence_table(probs: np.ndarray) -> pd.DataFrame:
    """How many test images pass each confidence threshold 0.1..0.9 (the book's script prints this)."""
    top = probs.max(axis=1)
    return pd.DataFrame({"threshold": THRESHOLDS, "images": [int((top > t).sum()) for t in THRESHOLDS],
                         "share": [float((top > t).mean()) for t in THRESHOLDS]})


def select(probs: np.ndarray, classes: list[str], threshold: float, cap: int) -> np.ndarray:
    """Row indices to pseudo-label: confidence above `threshold`, at most cap / classes per predicted class
    (the most confident first), so one easy class cannot flood the training set."""
    top, pred = probs.max(axis=1), probs.argmax(axis=1)
    per_class = max(1, cap // len(classes))
    chosen = []
    for c in range(len(classes)):
        rows = np.flatnonzero((pred == c) & (top > threshold))
        chosen += rows[np.argsort(-top[rows], kind="stable")][:per_class].tolist()
    return np.array(sorted(chosen), dtype=int)


CLUSTER_DISTANCE = 0.2  # cosine distance under which two test images are frames of one clip
NEIGHBOURS = 10  # each image is linked to those of its nearest neighbours within that distance


def clusters(run: Path, test_ids: list[str]) -> np.ndarray:
    """A cluster id per given test image from the run's features (frames of one clip together); zeros without
    features. Each image is linked to those of its NEIGHBOURS nearest that are closer than CLUSTER_DISTANCE
    (cosine), and each connected set is a cluster: memory grows with the images, not with their square (an
    agglomerative clustering of the real 79,726 test images asked for 23.7 GiB)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components
    from sklearn.neighbors import NearestNeighbors

    from .smoothing import compute_features, feature_source

    try:
        feats = compute_features(feature_source(runfolder.Run(run)))
    except FileNotFoundError:
        return np.zeros(len(test_ids), int)
    pos = pd.Series(np.arange(len(feats["test_img"])), index=feats["test_img"])
    f = feats["test"][pos.loc[test_ids].to_numpy()].astype(np.float32)
    if len(f) < 2:
        return np.zeros(len(f), int)
    f /= np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)  # cosine distance = half the squared L2 here
    k = min(NEIGHBOURS, len(f))
    dist, idx = NearestNeighbors(n_neighbors=k).fit(f).kneighbors(f)
    near = dist < np.sqrt(2 * CLUSTER_DISTANCE)
    rows = np.repeat(np.arange(len(f)), k)[near.ravel()]
    links = csr_matrix((np.ones(len(rows), np.int8), (rows, idx.ravel()[near.ravel()])), shape=(len(f), len(f)))
    return connected_components(links, directed=False)[1]


MIN_CLASS_SHARE = 0.8  # default --min-classes: 80% of the classes (8 of State Farm's 10)


def pseudo(run: str | Path, data: str | Path, out: str | Path, threshold: float = 0.9, max_ratio: float = 0.5,
           soft: bool = False, min_classes: int | None = None) -> dict:
    """Write NEWDATA = DATA + confident test images of `run` as train-only images; returns what was chosen.

    `max_ratio`: at most this many pseudo-labelled images per original training image (0.5: 2:1 train:test,
    as the winners advise), balanced over classes.

    Args:
        run: run or ensemble folder whose test predictions label the images
        data: the dataset the run was trained on
        out: folder for the new dataset
        threshold: least confidence
        max_ratio: most pseudo images per training image
        soft: train on the predicted distribution, not its argmax
        min_classes: refuse when the confident images cover fewer classes (default 80% of them, 8 of 10): a set
            of a few classes teaches the model that the others are rare, and made both judges worse here
    """
    if not 0 < threshold < 1:
        raise InputError(f"--threshold {threshold} must lie between 0 and 1.")
    if max_ratio <= 0:
        raise InputError(f"--max-ratio {max_ratio} must be positive.")
    run, out = Path(run), Path(out)
    if out.resolve() == Path(data).resolve():
        raise InputError("--out must be a new folder: the original dataset is never changed.")
    ds = load_dataset(data)
    if ds.kind != "kaggle":
        raise InputError(f"{data}: tamgu pseudo writes the Kaggle layout and needs one as input (imgs/train, imgs/test).")
    if ds.train["pseudo"].any():
        raise InputError(f"{data} already holds pseudo-labelled images: start from the original dataset.")
    pred = runfolder.Run(run).predictions()
    _, tests, _, test_ids = align([pred])
    probs, ids = tests[0], test_ids["img"].tolist()
    if set(ids) != set(ds.test["img"]):
        raise InputError(f"{run} predicts other test images than {data} has: use the run made on this dataset.")
    table = confidence_table(probs)
    cap = int(max_ratio * len(ds.train))
    chosen = select(probs, ds.classes, threshold, cap)
    counts = pd.Series([ds.classes[probs[i].argmax()] for i in chosen], dtype=object).value_counts() \
        .reindex(ds.classes, fill_value=0).astype(int)
    need = min_classes if min_classes is not None else int(np.ceil(MIN_CLASS_SHARE * len(ds.classes)))
    covered = int((counts > 0).sum())
    shown = ", ".join(f"{c} {n}" for c, n in counts.items())
    if covered < need:
        raise InputError(f"only {covered} of {len(ds.classes)} classes have test images above {threshold} ({shown}); "
                         f"pseudo-labels from {covered} classes skew training (seen here: both judges got worse). "
                         f"Lower --threshold, improve the model first, or allow it with --min-classes {covered}.")
    if covered < len(ds.classes):
        log.warning("pseudo-labels cover %d of %d classes: %s", covered, len(ds.classes), shown)
    groups = dict(zip(chosen.tolist(), clusters(run, [ids[i] for i in chosen])))  # only the images kept

    test_paths = dict(zip(ds.test["img"], ds.test["path"]))
    for r in ds.train.itertuples():
        _link(r.path, out / "imgs" / "train" / r.label / r.img)
    for img, path in test_paths.items():
        _link(path, out / "imgs" / "test" / img)
    rows = pd.DataFrame({"img": [ids[i] for i in chosen], "classname": [ds.classes[probs[i].argmax()] for i in chosen],
                         "group": [f"pseudo_{groups[i]}" for i in chosen],
                         "confidence": [float(probs[i].max()) for i in chosen]})
    if soft:
        for j, c in enumerate(ds.classes):
            rows[c] = probs[chosen, j]
    for r in rows.itertuples():
        _link(test_paths[r.img], out / "imgs" / "train" / r.classname / r.img)
    meta = pd.concat([ds.train.rename(columns={"group": "subject", "label": "classname"})[["subject", "classname", "img"]],
                      rows.rename(columns={"group": "subject"})[["subject", "classname", "img"]]], ignore_index=True)
    write_csv(meta, out / DRIVER_CSV)
    write_csv(rows, out / PSEUDO_CSV)
    if ds.sample_submission is not None:
        write_csv(ds.sample_submission, out / "sample_submission.csv")
    truth = find_truth(data)
    if truth:  # the private leaderboard still judges models trained on the new set (labels never train)
        shutil.copy2(truth, truth_path(out))
    load_dataset(out)  # the new set must load cleanly, as tamgu check would
    return {"data": str(out), "pseudo_images": int(len(rows)), "cap": cap, "threshold": threshold, "soft": soft,
            "per_class": rows["classname"].value_counts().reindex(ds.classes, fill_value=0).astype(int).to_dict(),
            "thresholds": table.to_dict(orient="records"), "train_images": int(len(ds.train))}
