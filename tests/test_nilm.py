"""Load disaggregation (NILM): the public sets' layouts read right, bad files refused with where and how, and the
whole path (generate, train by house, predict, report) on a tiny run. The paper's comparison itself is measured
in benchmarks/nilm.py, not here."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import tamgu
from tamgu.cli import main
from tamgu.errors import InputError, MissingInput
from tamgu.nilm.data import read_houses

T0 = 1303132929  # REDD's first reading, 2011-04-18


def channel(path, times, watts, broken: str | None = None):
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{int(t)} {w:.2f}" for t, w in zip(times, watts)]
    if broken:
        lines.insert(3, broken)
    path.write_text("\n".join(lines) + "\n")


def redd_house(root, n=600, step=3, labels="1 mains\n2 mains\n3 refrigerator\n4 dishwaser\n5 lighting\n"):
    house = root / "low_freq" / "house_1"
    t = T0 + np.arange(n) * step
    channel(house / "channel_1.dat", t, np.full(n, 100.0))
    channel(house / "channel_2.dat", t, np.full(n, 50.0))
    channel(house / "channel_3.dat", t, np.where(np.arange(n) % 100 < 40, 120.0, 0.0))
    channel(house / "channel_4.dat", t, np.zeros(n))
    channel(house / "channel_5.dat", t, np.full(n, 30.0))
    if labels is not None:
        (house / "labels.dat").write_text(labels)
    return root


def test_redd_layout_adds_the_two_mains_and_names_the_appliances_once(tmp_path):
    (house,) = read_houses(redd_house(tmp_path), period=6)
    assert house.name == "house_1" and house.source == "redd"
    assert house.appliances == ["dishwasher", "fridge", "lighting"]  # REDD's spellings mapped to one name each
    assert house.table["aggregate"].iloc[:10].tolist() == [150.0] * 10  # mains 1 + mains 2
    assert (house.table.index[1] - house.table.index[0]).total_seconds() == 6
    assert not house.table["gap"].any()


def test_ukdale_layout_marks_a_long_hole_as_a_gap_and_carries_a_short_one(tmp_path):
    house = tmp_path / "ukdale" / "house_2"
    t = np.concatenate([T0 + np.arange(100) * 6, T0 + 600 + 6 * 3 + np.arange(50) * 6,  # a 3-reading hole: filled
                        T0 + 2000 + np.arange(50) * 6])  # a long hole: a gap
    channel(house / "channel_1.dat", t, np.full(len(t), 300.0))
    channel(house / "channel_2.dat", t, np.full(len(t), 2000.0))
    (house / "labels.dat").write_text("1 aggregate\n2 kettle\n")
    (h,) = read_houses(tmp_path / "ukdale")
    assert h.appliances == ["kettle"] and h.source == "channels"
    gap = h.table["gap"]
    assert not gap.iloc[:110].any() and gap.iloc[160:200].any() and not gap.iloc[-40:].any()
    assert (h.table.loc[~gap, "aggregate"] == 300.0).all()


def test_a_csv_house_reads_dates_or_unix_seconds(tmp_path):
    times = pd.date_range("2026-01-01", periods=40, freq="6s")
    pd.DataFrame({"timestamp": times.astype(str), "aggregate": 200.0, "Fridge": 80.0}).to_csv(tmp_path / "a.csv",
                                                                                             index=False)
    (h,) = read_houses(tmp_path / "a.csv")
    assert h.appliances == ["fridge"] and len(h.table) == 40 and h.table["fridge"].eq(80).all()


@pytest.mark.parametrize("make, error, words", [
    (lambda p: redd_house(p, labels=None), MissingInput, "no labels.dat"),
    (lambda p: channel(redd_house(p) / "low_freq/house_1/channel_3.dat", [T0, T0 + 3, T0 + 6, T0 + 9], [1, 2, 3, 4],
                       broken="1303132941 watts"),
     InputError, "channel_3.dat, line 4"),
    (lambda p: redd_house(p, labels="1 refrigerator\n"), InputError, "no mains or aggregate channel"),
])
def test_broken_files_are_refused_with_where_and_how(make, error, words, tmp_path):
    make(tmp_path)
    with pytest.raises(error, match=words):
        read_houses(tmp_path)


@pytest.mark.parametrize("period, words", [(1, r"finer than the data's own 3 s"), ("soon", "give seconds"),
                                           (0, "more than 0 seconds")])
def test_a_period_that_cannot_be_resampled_is_refused(period, words, tmp_path):
    with pytest.raises(InputError, match=words):
        read_houses(redd_house(tmp_path), period=period)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("nilm")
    data = tamgu.synth_houses(root / "data", houses=3, test_houses=1, days=0.5, seed=2)
    summary = tamgu.train_nilm(data, out=root / "run", folds=3, epochs=1, stride=4, window=49)
    return root, summary


def test_training_by_house_writes_oof_and_the_held_out_houses_beside_the_mean(tiny_run):
    root, summary = tiny_run
    run = root / "run"
    assert summary["models"] == ["mean", "seq2point", "gated"] and summary["test_houses"] == ["house_4"]
    oof = pd.read_csv(run / "oof.csv")
    assert set(oof["house"]) == {"house_1", "house_2", "house_3"}
    assert oof.groupby("house")["fold"].nunique().eq(1).all()  # each house is predicted by one fold only
    settings = json.loads((run / "settings.json").read_text())
    assert sorted(sum(settings["folds"], [])) == ["house_1", "house_2", "house_3"]
    metrics = pd.read_csv(run / "metrics.csv")
    assert set(metrics["split"]) == {"oof", "test"} and set(metrics["model"]) == {"mean", "seq2point", "gated"}
    assert len(list((run / "models").glob("*.pt"))) == 6
    assert (metrics[["mae", "sae", "f1"]] >= 0).all().all()


def test_predict_reproduces_the_held_out_estimates_and_the_report_draws_them(tiny_run, tmp_path, capsys):
    root, _ = tiny_run
    assert main(["nilm", "predict", str(root / "run"), str(root / "data" / "test"), "--out", str(tmp_path / "p")]) == 0
    out = capsys.readouterr().out
    assert "MAE in watts" in out and "gated" in out
    pred, test = pd.read_csv(tmp_path / "p" / "predictions.csv"), pd.read_csv(root / "run" / "test_pred.csv")
    np.testing.assert_allclose(pred["kettle_gated"], test["kettle_gated"], atol=0.02)
    page = tamgu.report(root / "run")
    assert {"metrics", "test_pred", "oof"} <= set(page.ids())
    # a house without appliance meters: estimates only, no metrics
    house = pd.read_csv(root / "data" / "test" / "house_4.csv")[["timestamp", "aggregate"]]
    house.to_csv(tmp_path / "bare.csv", index=False)
    s = tamgu.predict_nilm(root / "run", tmp_path / "bare.csv", out=tmp_path / "bare")
    assert "metrics" not in s and not (tmp_path / "bare" / "metrics.csv").exists()


def test_an_interrupted_run_resumes_with_the_models_it_finished(tiny_run, tmp_path):
    import shutil

    root, first = tiny_run
    run = shutil.copytree(root / "run", tmp_path / "run")
    (run / "models" / "gated_fold2.pt").unlink()  # killed while training the last network
    again = tamgu.train_nilm(root / "data", out=run, folds=3, epochs=1, stride=4, window=49)
    assert again["resumed_models"] == 5 and len(list((run / "models").glob("*.pt"))) == 6
    old, new = pd.read_csv(root / "run" / "oof.csv"), pd.read_csv(run / "oof.csv")
    pd.testing.assert_frame_equal(old[old["fold"] < 2], new[new["fold"] < 2])  # loaded, not retrained


def test_bad_training_options_are_refused_before_any_training(tiny_run, tmp_path):
    root, _ = tiny_run
    with pytest.raises(InputError, match="--folds 5: only 3 houses"):
        tamgu.train_nilm(root / "data", out=tmp_path / "r", folds=5)
    with pytest.raises(InputError, match="--appliances toaster: not metered in"):
        tamgu.train_nilm(root / "data", out=tmp_path / "r", appliances=["toaster"])
    with pytest.raises(InputError, match="--window 50: use an odd number"):
        tamgu.train_nilm(root / "data", out=tmp_path / "r", window=50)
    assert not (tmp_path / "r").exists()
