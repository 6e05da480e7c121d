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


def validate_submission(sub: pd.DataFrame | str | Path, sample: pd.DataFrame | str | Path,
                        classes: list[str] = KAGGLE_CLASSES) -> None:
    """Raise ValueError unless `sub` has the sample's header and image set and each row is a distribution."""
    sub = pd.read_csv(sub, dtype={"img": str}) if not isinstance(sub, pd.DataFrame) else sub
    sample = pd.read_csv(sample, dtype={"img": str}) if not isinstance(sample, pd.DataFrame) else sample
    if list(sub.columns) != list(sample.columns):
        raise ValueError(f"submission header {list(sub.columns)} differs from the sample's {list(sample.columns)}")
    if sub["img"].duplicated().any():
        raise ValueError(f"submission repeats images, e.g. {sub.loc[sub['img'].duplicated(), 'img'].iloc[0]}")
    if set(sub["img"]) != set(sample["img"]):
        raise ValueError(f"submission has {len(set(sub['img']) - set(sample['img']))} images not in the sample and misses "
                         f"{len(set(sample['img']) - set(sub['img']))}")
    p = sub[classes].to_numpy(dtype=np.float64)
    if not np.isfinite(p).all() or (p < 0).any() or (p > 1).any():
        raise ValueError("submission probabilities must be finite numbers in 0..1")
    if not np.allclose(p.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError("submission rows must each sum to 1")


def score(submission: str | Path | pd.DataFrame, truth: str | Path, groups: str | None = None) -> dict:
    """Log loss and accuracy of predictions (img, classes...) against labels: a labelled dataset's training
    images, or a held-out test labels CSV (img,classname: the private leaderboard `tamgu synth` writes)."""
    sub = pd.read_csv(submission, dtype={"img": str}) if not isinstance(submission, pd.DataFrame) else submission
    if Path(truth).suffix.lower() == ".csv":
        classes = [c for c in sub.columns if c not in ("img", "fold")]
        labels = read_truth(truth, classes)
    else:
        ds = load_dataset(truth, groups=groups, strict=False)
        classes, labels = ds.classes, ds.train
    missing = [c for c in classes if c not in sub.columns]
    if missing:
        raise ValueError(f"submission lacks class columns {missing}: its header must be img,{','.join(classes)}")
    if "fold" in sub.columns and sub["img"].duplicated().any():
        sub = blend_folds(sub, classes)  # every fold's test predictions: score their mean, the submission
    return score_frame(sub, labels, classes)
