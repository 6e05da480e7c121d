"""Cross-validation folds, computed once from the seed and stored as a `fold` column."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from ..errors import InputError


def make_folds(train: pd.DataFrame, split: str = "driver", folds: int = 5, seed: int = 42) -> pd.DataFrame:
    """Return `train` with a `fold` column (0..folds-1): the fold in which each image is validated
    (-1 for pseudo-labelled images: training only).

    - random: stratified by class, images independent (the book's baseline: drivers leak across folds).
    - driver / group: every group (driver, source video) lies wholly in one validation fold, with class
      balance kept as far as the groups allow (scikit-learn's StratifiedGroupKFold).
    """
    if "pseudo" in train.columns and train["pseudo"].any():
        # pseudo-labelled test images train in every fold and are validated in none (the book leaked them)
        real = make_folds(train[~train["pseudo"].astype(bool)], split, folds, seed)
        extra = train[train["pseudo"].astype(bool)].assign(fold=-1)
        return pd.concat([real, extra]).loc[train.index]
    df = train.copy()
    if split == "random":
        counts = df["y"].value_counts()
        if counts.min() < folds:
            raise InputError(f"class {df.loc[df['y'] == counts.idxmin(), 'label'].iloc[0]!r} has only {counts.min()} "
                             f"images, fewer than --folds {folds}: use fewer folds or add images.")
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        groups = None
    elif split in ("driver", "group"):
        if df["group"].isna().any():
            raise InputError(f"--split {split} needs a group for every image: the Kaggle driver_imgs_list.csv, or a "
                             "groups CSV (img,group) for a class-per-folder set; or use --split random.")
        groups = df["group"].astype(str).to_numpy()
        n_groups = len(set(groups))
        if n_groups < folds:
            raise InputError(f"--split {split} with --folds {folds} needs at least {folds} groups, found {n_groups}: "
                             "use fewer folds.")
        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    else:
        raise InputError(f"unknown split {split!r}: use random, driver or group.")
    df["fold"] = -1
    with warnings.catch_warnings():
        # sklearn warns when a class has fewer members than folds; with groups that is expected
        warnings.simplefilter("ignore", UserWarning)
        for k, (_, val) in enumerate(splitter.split(np.zeros(len(df)), df["y"].to_numpy(), groups)):
            df.iloc[val, df.columns.get_loc("fold")] = k
    return df
