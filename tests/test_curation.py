"""The group's own data: what is probably wrong in it (audit, fixes read by train) and what to label next
(suggest)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tamgu
from tamgu.cli import main
from tamgu.curation.suggest import spread

TINY = dict(model="test_resnet", weights="none", image_size="32x24", workers=0, lr=3e-3)


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


# ---------------------------------------------------------------------------------------- the labelling page
def test_the_labelling_page_is_driven_by_keys_in_chromium_and_every_change_is_saved(tmp_path):
    """Real key presses and a mouse drag in headless Chromium on a real video (opencv-doc's vtest.avi, frames
    decoded by tamgu); the CSV is read back after each step, and a new server continues it."""
    from test_reports import CHROMIUM, _browser_or_skip

    from tamgu.curation.label import LabelServer

    _browser_or_skip()
    from playwright.sync_api import sync_playwright

    vtest = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
    out = tmp_path / "labels.csv"
    server = LabelServer([vtest], out, ["walk", "stop", "run"], port=0)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            tab = browser.new_page(viewport={"width": 1000, "height": 800})
            errors = []
            tab.on("pageerror", lambda e: errors.append(str(e)))
            tab.goto(server.url)
            tab.wait_for_function("document.body.dataset.shown === '0'")  # the first frame is on screen
            saves = lambda n: tab.wait_for_function(f"+(document.body.dataset.saves || 0) >= {n}")  # noqa: E731

            def keys(*names):
                for k in names:
                    tab.keyboard.press(k)

            keys("2", "Shift+ArrowRight", "Shift+ArrowRight", "1")  # stop from 0 s; at 2 s walk starts
            saves(1)
            keys("Shift+ArrowRight", "Shift+ArrowRight", "Shift+ArrowRight", "e")  # walk ends at 5 s
            saves(2)
            rows = pd.read_csv(out)
            assert rows[["start", "end", "label"]].values.tolist() == [[0, 2, "stop"], [2, 5, "walk"]]
            assert (rows["video"] == "vtest.avi").all()
            keys("ArrowUp", "3", "Shift+ArrowRight", "e")  # run 10..11 s
            saves(3)
            keys("z")  # undo: the run segment goes
            saves(4)
            assert pd.read_csv(out)["label"].tolist() == ["stop", "walk"]
            # drag the boundary between stop and walk from 2 s to about 4 s
            box = tab.locator("#timeline").bounding_box()
            duration = server.state()["videos"][0]["duration"]
            x = lambda sec: box["x"] + box["width"] * sec / duration  # noqa: E731
            tab.mouse.move(x(2.0), box["y"] + 20)
            tab.mouse.down()
            tab.mouse.move(x(4.0), box["y"] + 20, steps=5)
            tab.mouse.up()
            saves(5)
            rows = pd.read_csv(out)
            assert rows["label"].tolist() == ["stop", "walk"] and abs(rows["end"][0] - 4.0) < 0.3
            assert rows["start"][1] == rows["end"][0]  # the shared boundary moved for both
            assert errors == []
            browser.close()
    finally:
        server.close()
    again = LabelServer([vtest], out, ["walk", "stop", "run"], port=0)  # reopening continues
    try:
        assert [s[2] for s in again.state()["segments"]["vtest.avi"]] == ["stop", "walk"]
        tamgu.frames(vtest, tmp_path / "frames", every=1.0, segments=out, progress=False)  # what the page wrote
        assert set(pd.read_csv(tmp_path / "frames" / "frames.csv")["label"]) == {"stop", "walk"}
    finally:
        again.close()


def test_label_keys_prefill_visits_and_refusals_without_a_browser(tmp_path):
    from tamgu.curation.label import KAGGLE, LabelServer, keys, read_visits
    from tamgu.video.clips import write_clip

    assert keys(KAGGLE)["3"] == "c3" and keys(["walk", "run"]) == {"1": "walk", "2": "run"}
    clip = tmp_path / "a.mp4"
    write_clip(clip, seconds=3, fps=10)
    pd.DataFrame({"source": [f"/elsewhere/{clip.name}", "photo.jpg", str(clip)], "time_s": [1.5, float("nan"), 0.5],
                  "uncertainty": [0.9, 0.8, 0.7]}).to_csv(tmp_path / "next.csv", index=False)
    assert read_visits(tmp_path / "next.csv", [clip]) == [{"video": 0, "t": 1.5}, {"video": 0, "t": 0.5}]
    out = tmp_path / "labels.csv"
    server = LabelServer([clip], out, ["walk", "run"], prefill={"a.mp4": [[0.0, 1.0, "walk"]]}, port=0)
    try:
        assert pd.read_csv(out).values.tolist() == [["a.mp4", 0.0, 1.0, "walk"]]  # a model's guess, saved to correct
        with pytest.raises(tamgu.TamguError, match="overlaps"):
            server.set_segments("a.mp4", [[0, 2, "walk"], [1, 3, "run"]])
        with pytest.raises(tamgu.TamguError, match="not classes of this page"):
            server.set_segments("a.mp4", [[0, 1, "jump"]])
        assert pd.read_csv(out)["label"].tolist() == ["walk"]  # a refused change leaves the file as it was
        shown, jpeg = server.frame(0, 1.05)
        assert shown == pytest.approx(1.0) and jpeg[:2] == b"\xff\xd8"
    finally:
        server.close()
    with pytest.raises(tamgu.TamguError, match="no classes"):
        tamgu.label([clip], tmp_path / "new.csv")
