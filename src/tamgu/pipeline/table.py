"""The prediction table, tamgu's second contract: one row per image (per image and fold for `oof.csv` and
`test_pred.csv`), keyed by `img`, then one probability column per class. Never a bare array whose row order
must be guessed (the book's test predictions were misaligned with their file names that way).

Everything that builds, reads, checks, aligns, averages or renormalises such a table goes through here;
the probability floor is the metric's own (`metrics.EPS`), so a blend and its score agree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import TamguError
from .metrics import EPS

KEYS = ("img", "fold")  # key columns a table may carry before its class columns


class TableError(TamguError):
    """A prediction table that cannot be used; the message names the file, what is wrong and the fix."""


def prob_frame(probs: np.ndarray, ids: list[str] | pd.DataFrame, classes: list[str],
               fold: int | None = None) -> pd.DataFrame:
    """Probabilities (N, C) as a table: the key columns (`ids`: image ids, or a frame of img[, fold]), then
    one column per class."""
    df = pd.DataFrame(np.asarray(probs), columns=classes)
    keys = ids if isinstance(ids, pd.DataFrame) else pd.DataFrame({"img": list(ids)})
    for i, col in enumerate(keys.columns):
        df.insert(i, col, keys[col].to_numpy())
    if fold is not None:
        df.insert(1, "fold", fold)
    return df


def class_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if c not in KEYS]


def normalise(p: np.ndarray) -> np.ndarray:
    """Rows floored at the metric's EPS and rescaled to sum to one."""
    p = np.clip(np.asarray(p, np.float64), EPS, None)
    return p / p.sum(axis=1, keepdims=True)


def fold_mean(test_pred: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    """The submission from per-fold predictions (img, fold, classes): the mean over folds, rows summing to 1."""
    sub = test_pred.groupby("img", sort=True)[classes].mean()
    sub = sub.div(sub.sum(axis=1), axis=0)
    return sub.reset_index()


def read_predictions(table: pd.DataFrame | str | Path, classes: list[str] | None = None,
                     what: str = "submission", folds_allowed: bool = False) -> pd.DataFrame:
    """A prediction table (img[, fold], class columns) read and checked: header (a UTF-8 BOM is fine),
    class columns, one row per image (per fold when `folds_allowed`), finite probabilities in 0..1.
    Raises TableError naming the file, what is wrong and how to fix it."""
    from .data import KAGGLE_CLASSES

    name = "the table" if isinstance(table, pd.DataFrame) else str(table)
    if isinstance(table, pd.DataFrame):
        df = table
    else:
        if not Path(table).is_file():
            raise TableError(f"{name}: no such file; give the {what} CSV (img,c0,...,c9).")
        try:
            df = pd.read_csv(table, dtype={"img": str}, encoding="utf-8-sig")
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
            raise TableError(f"{name}: not a readable CSV ({e}); save the {what} as comma-separated UTF-8.") from e
    df.columns = [str(c).strip() for c in df.columns]
    if "img" not in df.columns:
        raise TableError(f"{name}: no 'img' column (header is {','.join(df.columns)!r}); the {what} header must be "
                         f"img,{','.join(classes or KAGGLE_CLASSES)}.")
    found = class_columns(df)
    classes = classes or found
    missing, extra = [c for c in classes if c not in df.columns], [c for c in found if c not in classes]
    if missing or extra:
        raise TableError(f"{name}: class columns differ: missing {missing}, unexpected {extra}; the header must be "
                         f"img,{','.join(classes)}.")
    keys = ["img", "fold"] if folds_allowed and "fold" in df.columns else ["img"]
    dup = df.duplicated(keys)
    if dup.any():
        first = df.loc[dup, "img"].iloc[0]
        raise TableError(f"{name}: image {first} appears {int(df['img'].eq(first).sum())} times"
                         f"{' in one fold' if len(keys) == 2 else ''}; keep one row per image.")
    p = df[classes].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(p).all(1) | (p < 0).any(1) | (p > 1).any(1)
    if bad.any():
        raise TableError(f"{name}: {int(bad.sum())} row(s) have missing, non-numeric, negative or >1 probabilities "
                         f"(first: {df.loc[bad, 'img'].iloc[0]}); every probability must be a number in 0..1.")
    return df


def read_fold_table(path: Path, what: str) -> pd.DataFrame:
    """`oof.csv` or `test_pred.csv` of a run folder: img, fold, then the class columns, checked."""
    if not path.is_file():
        raise TableError(f"{path} is missing: give finished run folders (tamgu train, ensemble, smooth).")
    df = read_predictions(path, None, what, folds_allowed=True)
    if list(df.columns[:2]) != ["img", "fold"]:
        raise TableError(f"{path}: prediction files must start with img,fold (got {list(df.columns[:2])}).")
    return df


def align(members: list[dict[str, Any]]) -> tuple[list[np.ndarray], list[np.ndarray], pd.DataFrame, pd.DataFrame]:
    """Runs' OOF and fold-mean test probabilities (`runfolder.Run.predictions()` of each) on one common row
    order; TableError naming what differs when they cannot be blended."""
    if not members:
        raise TableError("no members: give at least one run folder.")
    first = members[0]
    ref_oof = first["oof"][["img", "fold"]].sort_values("img").reset_index(drop=True)
    ref_test = sorted(set(first["test"]["img"]))
    oofs, tests = [], []
    for m in members:
        name = m["run"]
        if m["classes"] != first["classes"]:
            raise TableError(f"{name} has classes {m['classes']}, {first['run']} has {first['classes']}.")
        oof = m["oof"].sort_values("img").reset_index(drop=True)
        if not oof["img"].equals(ref_oof["img"]):
            n = len(set(oof["img"]) ^ set(ref_oof["img"]))
            raise TableError(f"{name} and {first['run']} predict different training images ({n} differ): "
                             "blend runs of the same dataset, with every fold finished.")
        if not oof["fold"].equals(ref_oof["fold"]):
            n = int((oof["fold"] != ref_oof["fold"]).sum())
            raise TableError(f"{name} and {first['run']} put {n} images in different folds: blend runs made "
                             "with the same --split, --folds and --seed, or the OOF blend leaks.")
        if sorted(set(m["test"]["img"])) != ref_test:
            raise TableError(f"{name} and {first['run']} predict different test images.")
        oofs.append(normalise(oof[first["classes"]].to_numpy(np.float64)))
        mean = m["test"].groupby("img", sort=True)[first["classes"]].mean()
        tests.append(normalise(mean.loc[ref_test].to_numpy(np.float64)))
    return oofs, tests, ref_oof, pd.DataFrame({"img": ref_test})
