"""Re-predicting a trained run, checking submissions, scoring them."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ..defaults import FLOOR, UNCERTAIN
from ..errors import InputError
from ..files import write_csv
from . import runfolder
from .data import KAGGLE_CLASSES, load_dataset, read_truth
from ..runtime import device_for
from .inference import predict_folds, resolve_engine
from .metrics import score_frame
from .module import load_checkpoint
from .table import fold_mean, read_predictions

log = logging.getLogger(__name__)



def predict(run: str | Path, data: str | Path | None = None, out: str | Path | None = None, tta: int | None = None,
            accelerator: str | None = None, batch_size: int | None = None, workers: int | None = None,
            engine: Literal["auto", "torch", "onnx"] = "auto", floor: float = FLOOR,
            familiar: float = 0.0) -> pd.DataFrame:
    """Predict the test images of `data` (default: the run's dataset) with every fold of `run`.

    Returns the submission table (img, classes...) and writes it to `out` (default RUN/submission.csv). Beside
    it, `uncertain.csv` (img, label, top, p_top, distance, why) marks the images the model cannot vouch for, as
    `watch` does: top probability under `floor` ("low"), or, with `familiar`, farther from every training image
    than that share of the held-out images ("far"). The submission itself keeps Kaggle's columns.

    Args:
        run: run folder written by tamgu train
        data: dataset whose test images to predict (default: the run's)
        out: submission file (default RUN/submission.csv)
        tta: test-time passes, 1 to 7 (default: the run's)
        accelerator: cpu, gpu, mps or auto (default: the run's)
        batch_size: images per batch (default: twice the run's training batch)
        workers: data-loading processes (default: the run's)
        engine: auto (onnxruntime on a CPU from inference.ONNX_FROM images, where it is faster; else PyTorch), torch or onnx
        floor: an image whose top probability is under this is "uncertain" (0: never)
        familiar: share of the run's held-out images that count as familiar (e.g. 0.95, as watch); an image
            farther from the training images is "uncertain" (0 = off: it costs one more pass over the images)
    """
    from ..errors import check_range

    check_range("floor", floor, 0, 1, "a probability")
    if not 0 <= familiar < 1:
        raise InputError(f"--familiar {familiar}: a share of held-out images from 0 (off) to under 1, e.g. 0.95.")
    run = Path(run)
    cfg = runfolder.load_run_config(run, data=str(data) if data else None, tta=tta, accelerator=accelerator,
                                    batch_size=batch_size, workers=workers)
    ckpts = runfolder.require_checkpoints(run)
    ds = load_dataset(cfg.data, groups=cfg.groups, strict=False)
    if not len(ds.test):
        raise InputError(f"{cfg.data} has no test images (imgs/test or test/): nothing to predict.")
    modules = {k: load_checkpoint(ck) for k, ck in ckpts.items()}
    for m in modules.values():
        m.tta = cfg.tta
    # one decode per test image, every fold model on each batch
    engine = resolve_engine(engine, device_for(cfg.accelerator), images=len(ds.test))
    test_pred = predict_folds(modules, ds.test["path"].tolist(), ds.test["img"].tolist(), cfg, engine=engine)
    classes = next(iter(modules.values())).classes
    sub = fold_mean(test_pred, classes)
    distance, threshold = None, None
    if familiar > 0:
        from .familiar import distances

        distance, threshold = distances(run, ds.test["path"].tolist(), familiar, cfg.accelerator)
    marks = uncertain_rows(sub, classes, floor, distance, threshold)
    if out:
        write_csv(sub, Path(out))
        write_csv(marks, Path(out).with_name("uncertain.csv"))
    else:
        runfolder.Run(run).write(submission=sub)
        write_csv(marks, run / "uncertain.csv")
    sub.attrs.update(uncertain=int((marks["label"] == UNCERTAIN).sum()), low=int((marks["why"] == "low").sum()),
                     far=int((marks["why"] == "far").sum()), familiar_distance=threshold)
    return sub


def uncertain_rows(sub: pd.DataFrame, classes: list[str], floor: float = FLOOR, distance: np.ndarray | None = None,
                   threshold: float | None = None) -> pd.DataFrame:
    """img, label (the top class or "uncertain"), top, p_top, distance, why ("far" before "low", as watch)."""
    p = sub[classes].to_numpy(dtype=np.float64)
    top = p.argmax(1)
    p_top = p[np.arange(len(p)), top]
    far = distance > threshold if distance is not None else np.zeros(len(p), bool)
    why = np.where(far, "far", np.where(p_top < floor, "low", ""))
    return pd.DataFrame({"img": sub["img"].to_numpy(), "label": np.where(why != "", UNCERTAIN, np.asarray(classes)[top]),
                         "top": np.asarray(classes)[top], "p_top": p_top.round(4),
                         "distance": distance.round(4) if distance is not None else np.nan, "why": why})


def validate_submission(sub: pd.DataFrame | str | Path, sample: pd.DataFrame | str | Path,
                        classes: list[str] = KAGGLE_CLASSES) -> None:
    """Raise ValueError unless `sub` has the sample's header and image set and each row is a distribution."""
    sample = pd.read_csv(sample, dtype={"img": str}, encoding="utf-8-sig") if not isinstance(sample, pd.DataFrame) else sample
    sub = read_predictions(sub, classes, "submission")
    if list(sub.columns) != list(sample.columns):
        raise InputError(f"submission header {list(sub.columns)} differs from the sample's {list(sample.columns)}")
    if set(sub["img"]) != set(sample["img"]):
        raise InputError(f"submission has {len(set(sub['img']) - set(sample['img']))} images not in the sample and misses "
                         f"{len(set(sample['img']) - set(sub['img']))}")
    p = sub[classes].to_numpy(dtype=np.float64)
    if not np.allclose(p.sum(axis=1), 1.0, atol=1e-4):
        raise InputError("submission rows must each sum to 1")


def score(submission: str | Path | pd.DataFrame, truth: str | Path, groups: str | None = None) -> dict:
    """Log loss and accuracy of predictions (img, classes...) against labels: a labelled dataset's training
    images, or a held-out test labels CSV (img,classname: the private leaderboard `tamgu synth` writes).

    Args:
        submission: submission CSV (img,c0..c9), or a run's test_pred.csv
        truth: labelled dataset (Kaggle layout or class folders), or a held-out labels CSV (img,classname)
    """
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
        raise InputError(f"{len(extra)} prediction row(s) are for images the labels do not have (e.g. {extra[0]}): "
                         "score predictions of the labelled images only (the right set, or the right --truth).")
    if "fold" in sub.columns and sub["img"].duplicated().any():
        sub = fold_mean(sub, classes)  # every fold's test predictions: score their mean, the submission
    return score_frame(sub, labels, classes)
