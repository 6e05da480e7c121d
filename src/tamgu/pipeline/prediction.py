"""Re-predicting a trained run, checking submissions, scoring them."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .config import load_config
from .data import KAGGLE_CLASSES, load_dataset, read_truth
from ..io import write_csv
from .metrics import score_frame
from .training import Classifier, blend_folds, predict_folds

log = logging.getLogger(__name__)


def load_checkpoint(path: str | Path) -> Classifier:
    """Rebuild a model from a fold's best.ckpt alone (it holds model name, classes, size, mean/std)."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    hp = ckpt["hyper_parameters"]
    module = Classifier(hp["meta"], hp["classes"], hp["optim"], hp.get("tta", 1))
    module.load_state_dict(ckpt["state_dict"])
    return module.eval()


def predict(run: str | Path, data: str | Path | None = None, out: str | Path | None = None, tta: int | None = None,
            accelerator: str | None = None, batch_size: int | None = None, workers: int | None = None) -> pd.DataFrame:
    """Predict the test images of `data` (default: the run's dataset) with every fold of `run`.

    Returns the submission table (img, classes...) and writes it to `out` (default RUN/submission.csv).
    """
    run = Path(run)
    if not (run / "config.yaml").exists():
        raise FileNotFoundError(f"{run} is not a tamgu run folder (no config.yaml): give the --out of a tamgu train run.")
    cfg = load_config(run / "config.yaml", data=str(data) if data else None, tta=tta, accelerator=accelerator,
                      batch_size=batch_size, workers=workers)
    ckpts = sorted(run.glob("fold*/best.ckpt"))
    if not ckpts:
        raise FileNotFoundError(f"no fold*/best.ckpt in {run}: train the run first (tamgu train).")
    ds = load_dataset(cfg.data, groups=cfg.groups, strict=False)
    if not len(ds.test):
        raise ValueError(f"{cfg.data} has no test images (imgs/test or test/): nothing to predict.")
    modules = {int(ck.parent.name[4:]): load_checkpoint(ck) for ck in ckpts}
    for m in modules.values():
        m.tta = cfg.tta
    # one decode per test image, every fold model on each batch
    test_pred = predict_folds(modules, ds.test["path"].tolist(), ds.test["img"].tolist(), cfg)
    classes = next(iter(modules.values())).classes
    sub = blend_folds(test_pred, classes)
    write_csv(sub, Path(out) if out else run / "submission.csv")
    return sub


def read_predictions(table: pd.DataFrame | str | Path, classes: list[str] | None = None,
                     what: str = "submission", folds_allowed: bool = False) -> pd.DataFrame:
    """A prediction table (img[, fold], class columns) read and checked: header (a UTF-8 BOM is fine),
    class columns, one row per image (per fold when `folds_allowed`), finite probabilities in 0..1.
    Raises ValueError naming the file, what is wrong and how to fix it."""
    name = "the table" if isinstance(table, pd.DataFrame) else str(table)
    if isinstance(table, pd.DataFrame):
        df = table
    else:
        if not Path(table).is_file():
            raise ValueError(f"{name}: no such file; give the {what} CSV (img,c0,...,c9).")
        try:
            df = pd.read_csv(table, dtype={"img": str}, encoding="utf-8-sig")
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
            raise ValueError(f"{name}: not a readable CSV ({e}); save the {what} as comma-separated UTF-8.") from e
    df.columns = [str(c).strip() for c in df.columns]
    if "img" not in df.columns:
        raise ValueError(f"{name}: no 'img' column (header is {','.join(df.columns)!r}); the {what} header must be "
                         f"img,{','.join(classes or KAGGLE_CLASSES)}.")
    found = [c for c in df.columns if c not in ("img", "fold")]
    classes = classes or found
    missing, extra = [c for c in classes if c not in df.columns], [c for c in found if c not in classes]
    if missing or extra:
        raise ValueError(f"{name}: class columns differ: missing {missing}, unexpected {extra}; the header must be "
                         f"img,{','.join(classes)}.")
    keys = ["img", "fold"] if folds_allowed and "fold" in df.columns else ["img"]
    dup = df.duplicated(keys)
    if dup.any():
        raise ValueError(f"{name}: image {df.loc[dup, 'img'].iloc[0]} appears {int(df['img'].eq(df.loc[dup, 'img'].iloc[0]).sum())} "
                         "times; keep one row per image.")
    p = df[classes].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(p).all(1) | (p < 0).any(1) | (p > 1).any(1)
    if bad.any():
        raise ValueError(f"{name}: {int(bad.sum())} row(s) have missing, non-numeric, negative or >1 probabilities "
                         f"(first: {df.loc[bad, 'img'].iloc[0]}); every probability must be a number in 0..1.")
    return df


def validate_submission(sub: pd.DataFrame | str | Path, sample: pd.DataFrame | str | Path,
                        classes: list[str] = KAGGLE_CLASSES) -> None:
    """Raise ValueError unless `sub` has the sample's header and image set and each row is a distribution."""
    sample = pd.read_csv(sample, dtype={"img": str}, encoding="utf-8-sig") if not isinstance(sample, pd.DataFrame) else sample
    sub = read_predictions(sub, classes, "submission")
    if list(sub.columns) != list(sample.columns):
        raise ValueError(f"submission header {list(sub.columns)} differs from the sample's {list(sample.columns)}")
    if set(sub["img"]) != set(sample["img"]):
        raise ValueError(f"submission has {len(set(sub['img']) - set(sample['img']))} images not in the sample and misses "
                         f"{len(set(sample['img']) - set(sub['img']))}")
    p = sub[classes].to_numpy(dtype=np.float64)
    if not np.allclose(p.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError("submission rows must each sum to 1")


def score(submission: str | Path | pd.DataFrame, truth: str | Path, groups: str | None = None) -> dict:
    """Log loss and accuracy of predictions (img, classes...) against labels: a labelled dataset's training
    images, or a held-out test labels CSV (img,classname: the private leaderboard `tamgu synth` writes)."""
    if Path(truth).suffix.lower() == ".csv":
        sub = read_predictions(submission, None, "submission", folds_allowed=True)
        classes = [c for c in sub.columns if c not in ("img", "fold")]
        if set(classes) != set(KAGGLE_CLASSES) and len(set(classes) & set(KAGGLE_CLASSES)) >= 5:
            # State Farm columns with some missing or extra: name them
            sub = read_predictions(sub, KAGGLE_CLASSES, str(submission))
        labels = read_truth(truth, classes)
    else:
        ds = load_dataset(truth, groups=groups, strict=False)
        classes, labels = ds.classes, ds.train
        sub = read_predictions(submission, classes, "submission", folds_allowed=True)
    # rows need not sum to one: Kaggle renormalises each row before scoring, and so does log_loss
    extra = sorted(set(sub["img"]) - set(labels["img"]))
    if extra:
        raise ValueError(f"{len(extra)} prediction row(s) are for images the labels do not have (e.g. {extra[0]}): "
                         "score predictions of the labelled images only (the right set, or the right --truth).")
    if "fold" in sub.columns and sub["img"].duplicated().any():
        sub = blend_folds(sub, classes)  # every fold's test predictions: score their mean, the submission
    return score_frame(sub, labels, classes)
