"""The winners' tricks, each checked as a property: blends, calibration, smoothing, pseudo-labels."""

import numpy as np
import pandas as pd
import pytest

import tamgu
from tamgu.cli import main
from tamgu.tricks.ensemble import (EnsembleError, apply_temperature, blend, clip_probs, fit_temperature,
                                     fit_weights)
from tamgu.pipeline.folds import make_folds
from tamgu.pipeline.metrics import log_loss
from tamgu.tricks.smoothing import neighbour_smooth

RNG = np.random.default_rng(0)


def _probs(n=60, c=4, sharp=2.0, y=None, rng=RNG):
    logits = rng.normal(0, 1, (n, c))
    if y is not None:
        logits[np.arange(n), y] += sharp
    p = np.exp(logits)
    return p / p.sum(1, keepdims=True)


@pytest.mark.parametrize("method", ["weighted", "per-class"])
def test_fitted_weights_lie_on_the_simplex_and_favour_the_better_member(method):
    y = RNG.integers(0, 4, 200)
    good, bad = _probs(200, y=y, sharp=3), _probs(200, y=y, sharp=0.2)
    w = fit_weights([good, bad], y, method)
    assert np.allclose(w.sum(axis=0), 1) and (w >= 0).all()
    assert (w[0] > w[1]).all()
    assert log_loss(y, blend([good, bad], method, w)) <= log_loss(y, good) + 1e-3


@pytest.mark.parametrize("method", ["mean", "geometric", "weighted", "per-class"])
def test_a_blend_of_identical_members_is_the_member(method):
    # (rank averaging turns probabilities into ranks, so it is left out on purpose)
    p = _probs()
    w = fit_weights([p, p, p], RNG.integers(0, 4, 60), method) if method in ("weighted", "per-class") else None
    np.testing.assert_allclose(blend([p, p, p], method, w), p, atol=1e-9)


def test_temperature_one_and_k_zero_are_identities_and_clipping_bounds_the_cost():
    p = _probs()
    np.testing.assert_allclose(apply_temperature(p, 1.0), p, atol=1e-12)
    feats = RNG.normal(size=(60, 8))
    np.testing.assert_allclose(neighbour_smooth(p, feats, k=0, alpha=0.7), p)
    np.testing.assert_allclose(neighbour_smooth(p, feats, k=5, alpha=0.0), p)
    y = RNG.integers(0, 4, 60)
    confident_wrong = np.full((1, 4), 1e-9)
    confident_wrong[0, (y[0] + 1) % 4] = 1
    assert log_loss(y[:1], clip_probs(confident_wrong, 0.01, 0.97)) < -np.log(0.009)


def test_temperature_fitted_on_overconfident_predictions_softens_them():
    y = RNG.integers(0, 4, 400)
    honest = _probs(400, y=y, sharp=1.0)
    over = apply_temperature(honest, 0.3)  # sharpened: over-confident
    t = fit_temperature(over, y)
    assert t > 2 and log_loss(y, apply_temperature(over, t)) < log_loss(y, over)


def test_smoothing_over_sequences_lowers_log_loss():
    """Frames of a clip sit close in feature space and share a class: neighbours fix noisy predictions."""
    clips, per, c = 30, 8, 4
    y = np.repeat(RNG.integers(0, c, clips), per)
    centres = RNG.normal(size=(clips, 16))
    feats = np.repeat(centres, per, axis=0) + RNG.normal(0, 0.05, (clips * per, 16))
    p = _probs(clips * per, c, sharp=1.0, y=y)
    smoothed = neighbour_smooth(p, feats, k=5, alpha=0.75)
    assert log_loss(y, smoothed) < 0.9 * log_loss(y, p)
    assert (smoothed.argmax(1) == y).mean() > (p.argmax(1) == y).mean() + 0.1
    # neighbours limited to a group (a validation fold) never cross it
    groups = np.repeat(np.arange(clips), per)
    from tamgu.tricks.smoothing import knn

    _, idx = knn(feats, 3, groups)
    assert (groups[idx] == groups[:, None]).all()


def _run(tmp_path, name, oof, test, data="d"):
    run = tmp_path / name
    run.mkdir()
    oof.to_csv(run / "oof.csv", index=False)
    test.to_csv(run / "test_pred.csv", index=False)
    (run / "config.yaml").write_text(f"data: {data}\n")
    return run


def test_misaligned_members_are_refused(tmp_path):
    oof = pd.DataFrame({"img": ["a", "b", "c", "d"], "fold": [0, 0, 1, 1], "c0": 0.5, "c1": 0.5})
    test = pd.DataFrame({"img": ["t1", "t2"], "fold": [0, 0], "c0": 0.5, "c1": 0.5})
    a = _run(tmp_path, "a", oof, test)
    other_folds = _run(tmp_path, "b", oof.assign(fold=[0, 1, 0, 1]), test)
    other_imgs = _run(tmp_path, "c", oof.assign(img=["a", "b", "c", "e"]), test)
    other_test = _run(tmp_path, "d", oof, test.assign(img=["t1", "t3"]))
    other_classes = _run(tmp_path, "e", oof.rename(columns={"c1": "c9"}), test.rename(columns={"c1": "c9"}))
    for bad, why in [(other_folds, "different folds"), (other_imgs, "different training images"),
                     (other_test, "different test images"), (other_classes, "has classes")]:
        with pytest.raises(EnsembleError, match=why):
            tamgu.ensemble([a, bad], tmp_path / "out")
    assert main(["ensemble", str(a), str(other_folds), "--out", str(tmp_path / "out")]) == 2


def test_ensemble_of_runs_end_to_end(tiny_data, tmp_path):
    common = dict(model="test_resnet", weights="none", image_size="32x24", folds=3, epochs=2, workers=0, lr=3e-3)
    a = tamgu.train(tiny_data, out=tmp_path / "a", **common)["run"]
    b = tamgu.train(tiny_data, out=tmp_path / "b", **{**common, "image_size": "40x30"})["run"]
    s = tamgu.ensemble([a, b], tmp_path / "blend", method="weighted", temperature=True, clip=(0.001, 0.99))
    assert sum(s["weights"]) == pytest.approx(1)
    assert (tmp_path / "blend" / "calibration.png").stat().st_size > 1000  # before/after reliability
    assert [r["member"] for r in s["table"]] == [a, b, "blend"] and "heldout_log_loss" in s["table"][-1]
    sub = pd.read_csv(tmp_path / "blend" / "submission.csv")
    tamgu.validate_submission(sub, tiny_data / "sample_submission.csv")
    # an ensemble folder is a run folder: it can be blended and scored again
    again = tamgu.ensemble([tmp_path / "blend", a], tmp_path / "blend2")
    assert again["heldout"]["images"] == 30
    smoothed = tamgu.smooth(tmp_path / "blend", tmp_path / "smooth")
    assert smoothed["oof"]["log_loss"] <= smoothed["before"]["oof_log_loss"] + 1e-12  # chosen on OOF, k=0 allowed
    assert (tmp_path / "a" / "features.npz").is_file()  # features come from the first member's fold models


def test_pseudo_labelled_images_never_reach_a_validation_fold(tiny_data, tmp_path):
    run = tamgu.train(tiny_data, out=tmp_path / "run", model="test_resnet", weights="none", image_size="32x24",
                      folds=3, epochs=1, workers=0)["run"]
    # one epoch of a tiny model is confident about few classes: allowed here (the guard has its own test)
    info = tamgu.pseudo(run, tiny_data, tmp_path / "pl", threshold=0.1, max_ratio=0.5, soft=True, min_classes=0)
    assert 0 < info["pseudo_images"] <= 90 and [r["threshold"] for r in info["thresholds"]][0] == 0.1
    assert tamgu.check(tmp_path / "pl")["train_images"] == 180 + info["pseudo_images"]
    ds = tamgu.load_dataset(tmp_path / "pl")
    assert ds.train["pseudo"].sum() == info["pseudo_images"] and ds.soft is not None
    folds = make_folds(ds.train, "driver", 3, seed=42)
    assert (folds.loc[folds["pseudo"], "fold"] == -1).all() and (folds.loc[~folds["pseudo"], "fold"] >= 0).all()
    # the real images keep the folds they had without pseudo-labels
    plain = make_folds(tamgu.load_dataset(tiny_data).train, "driver", 3, seed=42).set_index("img")["fold"]
    assert (folds[~folds["pseudo"]].set_index("img")["fold"] == plain.loc[folds[~folds["pseudo"]]["img"]]).all()
    summary = tamgu.train(tmp_path / "pl", out=tmp_path / "run2", model="test_resnet", weights="none",
                          image_size="32x24", folds=3, epochs=1, workers=0)
    oof = pd.read_csv(tmp_path / "run2" / "oof.csv")
    assert not set(oof["img"]) & set(ds.train.loc[ds.train["pseudo"], "img"])
    assert summary["oof"]["images"] == 180 and summary["heldout"]["images"] == 30
