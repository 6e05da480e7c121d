"""The group's own data: what is probably wrong in it (audit, fixes read by train) and what to label next
(suggest)."""

import numpy as np
import pandas as pd
import pytest

import tamgu
from tamgu.cli import main
from tamgu.curation.suggest import spread

TINY = dict(model="test_resnet", weights="none", image_size="32x24", workers=0, lr=3e-3)


@pytest.fixture(scope="module")
def tiny_run(tiny_data, tmp_path_factory):
    run = tmp_path_factory.mktemp("curation") / "run"
    tamgu.train(tiny_data, out=run, folds=2, epochs=2, **TINY)
    return run


def test_confident_learning_finds_moved_labels_among_its_first_rows():
    """6% of labels moved to another class, judged by out-of-sample probabilities of a good model: the moved
    images lead label_issues (the acceptance figure), suggested back to their true class, noise estimated."""
    from tamgu.curation.audit import confident_learning

    rng = np.random.default_rng(0)
    n, k = 2000, 10
    truth = rng.integers(0, k, n)
    logits = rng.normal(0, 1, (n, k))
    logits[np.arange(n), truth] += 3.5  # about 96% accurate
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    given, moved = truth.copy(), rng.choice(n, 120, replace=False)
    given[moved] = (truth[moved] + rng.integers(1, k, len(moved))) % k
    table = confident_learning(probs, given)
    assert np.isin(moved, table["row"].to_numpy()[: 2 * len(moved)]).mean() >= 0.7
    assert np.isin(table["row"], moved).mean() >= 0.8  # precision
    hit = table[table["row"].isin(moved)]
    assert (hit["suggested"].to_numpy() == truth[hit["row"]]).mean() > 0.95
    assert table["score"].is_monotonic_decreasing and abs(table.attrs["noise"] - 0.06) < 0.015


def test_audit_writes_issues_a_page_and_fixes_that_train_reads(tiny_run, tiny_data, tmp_path, capsys):
    out = tmp_path / "audit"
    assert main(["audit", str(tiny_run), "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr()
    assert "label issues of 180 images" in printed.out and "near chance" in printed.err  # a 2-epoch model
    for name in ("label_issues.csv", "duplicates.csv", "outliers.csv", "map.csv", "fixes.csv", "audit.html"):
        assert (out / name).is_file(), name
    issues = pd.read_csv(out / "label_issues.csv")
    assert list(issues.columns[:5]) == ["img", "given", "suggested", "score", "p_given"] and "group" in issues
    assert issues["score"].is_monotonic_decreasing
    # the user edits fixes.csv: one image dropped, one relabelled; a rerun of audit keeps the edits
    fixes = pd.read_csv(out / "fixes.csv", dtype=str, keep_default_na=False)
    assert len(fixes) == len(issues) and (fixes["action"] == "").all()
    fixes.loc[0, "action"], fixes.loc[1, "action"] = "drop", "relabel"
    fixes.to_csv(out / "fixes.csv", index=False)
    tamgu.audit(tiny_run, out, progress=False)
    assert pd.read_csv(out / "fixes.csv", dtype=str, keep_default_na=False)["action"].tolist()[:2] == ["drop", "relabel"]
    run = tamgu.train(tiny_data, out=tmp_path / "fixed", folds=2, epochs=1, fixes=out / "fixes.csv", **TINY)
    folds = pd.read_csv(tmp_path / "fixed" / "folds.csv")
    assert fixes.loc[0, "img"] not in set(folds["img"]) and len(folds) == 179
    assert folds.set_index("img").loc[fixes.loc[1, "img"], "label"] == fixes.loc[1, "label"]
    assert run["oof"]["images"] == 179
    (tmp_path / "bad.csv").write_text("img,action,label\nimg_x.jpg,burn,c0\n")
    with pytest.raises(tamgu.TamguError, match=r"bad.csv, line 2: action 'burn'"):
        tamgu.train(tiny_data, out=tmp_path / "bad", fixes=tmp_path / "bad.csv", **TINY)


def test_spread_picks_from_each_look_of_the_data_not_one_hard_moment():
    rng = np.random.default_rng(0)
    feats = np.concatenate([c + 0.01 * rng.normal(size=(20, 3)) for c in np.eye(3)])  # three looks, 20 frames each
    uncertainty = np.concatenate([0.9 + 0.01 * rng.random(20), 0.6 + 0.01 * rng.random(20), 0.5 + 0.01 * rng.random(20)])
    alone = spread(uncertainty, feats, 2, pool=1)  # uncertainty alone: two neighbours of the hardest moment
    assert (alone < 20).all()
    both = spread(uncertainty, feats, 3, pool=20)  # candidates: the 60 most uncertain, in three clusters
    assert sorted(both // 20) == [0, 1, 2] and (np.diff(uncertainty[both]) <= 0).all()


def test_suggest_ranks_frames_of_videos_and_photos(tiny_run, tiny_data, tmp_path, capsys):
    clip = tamgu.synth_clip(tmp_path / "c.mp4", schedule="c0:2,c3:2", size="160x120", fps=10, seed=2)
    out = tmp_path / "next.csv"
    assert main(["suggest", str(tiny_run), str(clip), str(tiny_data / "imgs" / "test"), "--out", str(out), "--n", "5",
                 "--every", "0.5", "--no-progress"]) == 0
    assert "5 frames to label next, of 38 candidates" in capsys.readouterr().out  # 8 frames and 30 photos
    table = pd.read_csv(out)
    assert list(table.columns) == ["source", "time_s", "uncertainty", "label", "prob", "rank"]
    assert table["uncertainty"].is_monotonic_decreasing and table["rank"].tolist() == [1, 2, 3, 4, 5]
    assert table.loc[table["source"] == str(clip), "time_s"].between(0, 4).all()
    with pytest.raises(tamgu.TamguError, match="--n 0"):
        tamgu.suggest(tiny_run, [clip], tmp_path / "x.csv", n=0)
