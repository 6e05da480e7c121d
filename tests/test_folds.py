import pandas as pd
import pytest

from tamgu.pipeline.data import load_dataset
from tamgu.pipeline.folds import make_folds


@pytest.mark.parametrize("folds", [2, 3, 5])
def test_driver_folds_are_disjoint_and_cover_every_image_once(tiny_data, folds):
    train = load_dataset(tiny_data).train
    df = make_folds(train, "driver", folds, seed=0)
    assert len(df) == len(train) and set(df["img"]) == set(train["img"])
    assert sorted(df["fold"].unique()) == list(range(folds))
    # every driver is validated in exactly one fold
    assert (df.groupby("group")["fold"].nunique() == 1).all()
    # each image is validated exactly once
    assert df["img"].is_unique


def test_random_folds_are_stratified_and_seeded(tiny_data):
    train = load_dataset(tiny_data).train
    a = make_folds(train, "random", 3, seed=7)
    b = make_folds(train, "random", 3, seed=7)
    pd.testing.assert_frame_equal(a, b)
    counts = a.groupby(["fold", "label"]).size().unstack()
    assert (counts.max() - counts.min()).max() <= 1
    # a random split mixes drivers across folds: the trap
    assert (a.groupby("group")["fold"].nunique() > 1).any()


def test_too_few_groups_is_a_clear_error(tiny_data):
    train = load_dataset(tiny_data).train
    with pytest.raises(ValueError, match="at least 7 groups"):
        make_folds(train, "driver", 7)


def test_group_split_needs_groups(tiny_data):
    train = load_dataset(tiny_data).train.assign(group=None)
    with pytest.raises(ValueError, match="groups CSV"):
        make_folds(train, "group", 3)
