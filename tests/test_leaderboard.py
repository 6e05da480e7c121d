"""The private leaderboard and the chapter as a results table: judged on drivers no model has seen."""

import json

import pandas as pd
import pytest

import tamgu
from tamgu.cli import main
from tamgu.pipeline.data import read_truth, truth_path

def test_synth_keeps_the_test_labels_outside_the_data_folder(tiny_data):
    labels = truth_path(tiny_data)
    assert labels.is_file() and labels.parent == tiny_data.parent
    assert not any(p.name == labels.name for p in tiny_data.rglob("*"))
    truth = pd.read_csv(labels)
    assert list(truth.columns) == ["img", "subject", "classname"]
    sample = pd.read_csv(tiny_data / "sample_submission.csv")
    assert set(truth["img"]) == set(sample["img"]) and truth["subject"].str.startswith("t").all()
    train_drivers = set(pd.read_csv(tiny_data / "driver_imgs_list.csv")["subject"])
    assert not set(truth["subject"]) & train_drivers  # test drivers are unseen


def test_runs_report_held_out_beside_oof_and_score_agrees(tiny_data, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", str(tiny_data), "--out", str(run), "--folds", "3", "--epochs", "1", "--model", "test_resnet",
                 "--weights", "none", "--image-size", "32x24", "--workers", "0"]) == 0
    out = capsys.readouterr().out
    assert "driver-CV estimate (OOF)" in out and "held-out test drivers (private leaderboard)" in out
    summary = json.loads((run / "summary.json").read_text())
    held = summary["heldout"]
    assert held["images"] == 30 and set(held["per_fold"]) == {"0", "1", "2"}
    assert summary["truth"] == str(truth_path(tiny_data))
    scored = tamgu.score(run / "submission.csv", truth_path(tiny_data))
    assert scored["log_loss"] == pytest.approx(held["log_loss"], abs=1e-9)
    # every fold's test predictions are scored as their mean: the same number
    assert tamgu.score(run / "test_pred.csv", truth_path(tiny_data))["log_loss"] == pytest.approx(held["log_loss"])


def test_truth_files_are_checked(tmp_path):
    bad = tmp_path / "labels.csv"
    bad.write_text("img,label\nimg_1.jpg,c0\n")
    with pytest.raises(tamgu.DataError, match="needs the columns img,classname"):
        read_truth(bad, [f"c{i}" for i in range(10)])
    bad.write_text("img,classname\nimg_1.jpg,c11\n")
    with pytest.raises(tamgu.DataError, match="unknown classes"):
        read_truth(bad, [f"c{i}" for i in range(10)])


def test_reproduce_writes_the_table_and_keeps_finished_steps(tiny_data, tmp_path):
    out = tmp_path / "ch5"
    table = tamgu.reproduce("chapter5", data=tiny_data, out=out, small=True, steps=["2", "3"], epochs=1, workers=0,
                            image_size="32x24")
    assert table["step"].tolist() == ["2_driver_split", "3_imagenet"]
    assert table["weights"].tolist() == ["none", "imagenet"]
    assert table[["oof_log_loss", "heldout_log_loss", "minutes"]].notna().all().all()
    assert pd.read_csv(out / "results.csv")["step"].tolist() == ["2_driver_split", "3_imagenet"]
    assert "held-out log loss" in (out / "results.md").read_text()
    assert (out / "report.html").is_file()
    cfg = (out / "3_imagenet" / "config.yaml").read_text()
    assert "weights: imagenet" in cfg and "model: mobilenetv2_100" in cfg
    stamp = (out / "3_imagenet" / "fold0" / "best.ckpt").stat().st_mtime_ns
    again = tamgu.reproduce("chapter5", data=tiny_data, out=out, small=True, steps=["3"], epochs=1, workers=0,
                            image_size="32x24")
    assert (out / "3_imagenet" / "fold0" / "best.ckpt").stat().st_mtime_ns == stamp
    assert again["oof_log_loss"].iloc[0] == pytest.approx(table["oof_log_loss"].iloc[1])


def test_augment_preview_draws_originals_and_versions(tiny_data, tmp_path):
    fig = tamgu.augment_preview(tiny_data, tmp_path / "grid.png", image_size="40x30", images=3, versions=4)
    assert (tmp_path / "grid.png").stat().st_size > 1000
    assert len(fig.axes) == 3 * 5
    assert main(["augment-preview", str(tiny_data), "--out", str(tmp_path / "g2.png"), "--image-size", "40x30"]) == 0


def test_the_chapter_continues_through_ensembles_pseudo_labels_and_smoothing(tiny_data, tmp_path):
    out = tmp_path / "ch5"
    table = tamgu.reproduce("chapter5", data=tiny_data, out=out, small=True, epochs=1, workers=0, image_size="32x24",
                            steps=["4", "6_efficientnet_lite0", "6_book_head", "7", "8", "9", "10"])
    assert table["step"].tolist() == ["4_augment", "6_efficientnet_lite0", "6_book_head", "7_ensemble", "8_pseudo",
                                      "9_weighted", "10_smooth", "10_calibrate"]
    assert table[["oof_log_loss", "heldout_log_loss", "minutes"]].notna().all().all()
    pseudo_rows = pd.read_csv(out / "8_pseudo_data" / "pseudo_labels.csv")
    folds = pd.read_csv(out / "8_pseudo" / "folds.csv")
    assert set(folds.loc[folds["fold"] == -1, "img"]) == set(pseudo_rows["img"])  # train-only, never validated
    assert sum(json.loads((out / "9_weighted" / "summary.json").read_text())["weights"]) == pytest.approx(1)
    assert (out / "10_calibrate" / "calibration.png").is_file()
