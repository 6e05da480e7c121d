"""A trained run leaves tamgu (ONNX export) and watches video: a generated dashboard clip with a known
schedule of poses, a live stream served on 127.0.0.1, a stream that stalls or drops, a slow model."""

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tamgu
from tamgu.cli import main
from tamgu.live.timeline import decide, parse_alert, schedule_accuracy, segments, smooth
from tamgu.live.watch import run_watch

sys.path.insert(0, str(Path(__file__).parent))
from streams import StreamServer  # noqa: E402

CLASSES = [f"c{i}" for i in range(10)]
SCHEDULE = "c0:3,c3:3,c9:3"


@pytest.fixture(scope="module")
def poses_run(tmp_path_factory):
    """A small run that tells the generated poses apart on a driver it never saw (ImageNet MobileNetV2 at 64x48,
    2 folds, ~40 s with one thread). Many drivers matter more than many images of each: 12 drivers x 3 images read
    the clip's new driver's c0 as c1 on some processors (accuracy 0.62 in CI, 0.62-0.96 over six clip drivers);
    24 drivers x 2 images, 8 epochs, kept 0.96 on this clip with one thread and two and with another data seed."""
    root = tmp_path_factory.mktemp("watch")
    data = tamgu.synth(root / "data", drivers=24, per_class=2, test=20, test_drivers=1, image_size="80x60", seed=3)
    tamgu.train(data, out=root / "run", folds=2, epochs=8, image_size="64x48", workers=0, batch_size=16)
    return root / "run"


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A new driver (none of the run's) doing c0, c3, c9 for 3 s each, 160x120 at 10 fps."""
    return tamgu.synth_clip(tmp_path_factory.mktemp("clip") / "dash.mp4", schedule=SCHEDULE, size="160x120", fps=10,
                            seed=5)


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory):
    """4 s for the live streams, which play in real time."""
    return tamgu.synth_clip(tmp_path_factory.mktemp("short") / "dash.mp4", schedule="c0:2,c3:2", size="160x120",
                            fps=10, seed=6)


def test_timeline_pieces():
    t = np.arange(10) * 0.5
    p = np.eye(3)[[0, 0, 0, 1, 0, 1, 1, 1, 2, 2]]
    assert np.allclose(smooth(t, p, 0), p)
    s = smooth(t, p, 1.0)  # the row and the one before (0.5 s earlier)
    assert np.allclose(s[3], [0.5, 0.5, 0])
    labels = [["a", "b", "c"][i] for i in s.argmax(1)]
    segs = segments(t, labels, s, ["a", "b", "c"], end=5.0)
    assert segs["label"].tolist() == ["a", "b", "c"] and segs["end_s"].iloc[-1] == 5.0
    assert decide(np.array([0.2, 0.7, 0.1]), ["a", "b", "c"]) == ("b", "")
    assert decide(np.array([0.4, 0.35, 0.25]), ["a", "b", "c"]) == ("uncertain", "low")  # under the floor
    assert decide(np.array([0.1, 0.9, 0.0]), ["a", "b", "c"], far=True) == ("uncertain", "far")
    segs = segments(t[:3], ["a", "uncertain", "uncertain"], s[:3], ["a", "b", "c"])
    assert segs["label"].tolist() == ["a", "uncertain"] and segs["mean_prob"].iloc[1] == 1.0  # its top probability
    assert parse_alert("c1, c2>=1.5s", CLASSES).seconds == 1.5
    with pytest.raises(tamgu.TamguError, match="CLASSES>=DURATION"):
        parse_alert("c1 for 2s", CLASSES)
    with pytest.raises(tamgu.TamguError, match="not classes of this run"):
        parse_alert("c11>=2s", CLASSES)


def test_export_gives_predicts_probabilities(poses_run, tmp_path):
    """The ONNX file, run with onnxruntime alone on uint8 images, equals tamgu's prediction (torch) within 1e-4,
    on real photos and generated images, with and without TTA, for every fold and for one."""
    import onnxruntime as ort
    from skimage import data as photos

    from tamgu.files import write_image
    from tamgu.pipeline import runfolder
    from tamgu.pipeline.cache import ImageCache
    from tamgu.pipeline.inference import predict_folds
    from tamgu.pipeline.module import load_checkpoint

    paths = []
    for name in ("astronaut", "coffee", "chelsea", "rocket"):
        paths.append(str(write_image(getattr(photos, name)()[..., ::-1], tmp_path / f"{name}.png")))
    paths += sorted(str(p) for p in (poses_run.parent / "data" / "imgs" / "test").glob("*.jpg"))[:8]
    cfg = runfolder.load_run_config(poses_run, workers=0)
    cache = ImageCache(cfg.image_size)
    images = np.stack([cache.get(p) for p in paths])
    for tta, fold in ((1, None), (3, None), (1, 1)):
        meta = tamgu.export(poses_run, tmp_path / "m.onnx", fold=fold, tta=tta)
        assert meta["classes"] == CLASSES and meta["image_size"] == [64, 48] and meta["tta"] == tta
        sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
        stored = sess.get_modelmeta().custom_metadata_map
        assert json.loads(stored["classes"]) == CLASSES and json.loads(stored["tamgu_version"]) == tamgu.__version__
        assert json.loads(stored["run"]) == poses_run.name and "/" not in stored["run"]  # no path of this machine
        got = sess.run(None, {"images": images})[0]
        mods = {k: load_checkpoint(c) for k, c in runfolder.checkpoints(poses_run).items() if fold in (None, k)}
        for m in mods.values():
            m.tta = tta
        want = predict_folds(mods, paths, paths, cfg).groupby("img", sort=False)[CLASSES].mean().loc[paths].to_numpy()
        assert np.abs(got - want).max() < 1e-4, (tta, fold)
    with pytest.raises(ValueError, match="has the folds"):
        tamgu.export(poses_run, tmp_path / "x.onnx", fold=7)


def test_predict_engines_give_the_same_numbers(poses_run, tmp_path):
    a = tamgu.predict(poses_run, out=tmp_path / "torch.csv", engine="torch", workers=0)
    b = tamgu.predict(poses_run, out=tmp_path / "onnx.csv", engine="onnx", workers=0)
    assert (a["img"] == b["img"]).all() and np.abs(a[CLASSES].to_numpy() - b[CLASSES].to_numpy()).max() < 1e-4
    # beside the submission (Kaggle's columns only), the images the model cannot vouch for, as watch marks them
    marks = pd.read_csv(tmp_path / "uncertain.csv", keep_default_na=False)
    assert list(marks.columns) == ["img", "label", "top", "p_top", "distance", "why"] and len(marks) == len(b)
    assert ((marks["label"] == "uncertain") == marks["why"].isin(["low", "far"])).all()
    assert ((marks["why"] == "low") == (marks["p_top"] < 0.5)).all() and b.attrs["uncertain"] == (marks["why"] != "").sum()
    c = tamgu.predict(poses_run, out=tmp_path / "far.csv", floor=0, familiar=0.95, workers=0)
    marks = pd.read_csv(tmp_path / "uncertain.csv", keep_default_na=False)
    assert c.attrs["low"] == 0 and (marks["distance"].astype(float) >= 0).all()
    assert (marks["why"] == "far").mean() < 0.5  # the test drivers' images are the same kind of footage


def test_watch_recovers_the_schedule_of_a_generated_clip(poses_run, clip, tmp_path, capsys):
    out = tmp_path / "w"
    # the argmax labels themselves (--floor 0 --familiar 0: never "uncertain"; that is tested on its own below)
    assert main(["watch", str(poses_run), str(clip), "--out", str(out), "--alert", "c3>=1s", "--floor", "0",
                 "--familiar", "0"]) == 0
    printed = capsys.readouterr().out
    assert "90 frames read" in printed and "x real time" in printed
    timeline = pd.read_csv(out / "timeline.csv")
    assert list(timeline.columns) == ["time_s", "frame", *CLASSES, "label", "top", "distance", "why", "alarm"]
    assert timeline["time_s"].diff().dropna().round(2).eq(0.2).all()  # every 0.2 s of video, by default
    truth = pd.read_csv(str(clip) + ".schedule.csv")
    assert schedule_accuracy(timeline["time_s"], timeline["label"].tolist(), truth) >= 0.8
    segs = pd.read_csv(out / "segments.csv")
    assert segs["label"].iloc[0] == "c0" and {"c3", "c9"} <= set(segs["label"])
    alerts = pd.read_csv(out / "alerts.csv")
    assert len(alerts) >= 1 and 3.0 <= alerts["start_s"].iloc[0] <= 4.5 and alerts["classes"].iloc[0] == "c3"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames_read"] == 90 and summary["frames_processed"] == len(timeline) == 45
    assert summary["frames_dropped"] == 0 and summary["latency_ms"]["mean"] > 0 and summary["achieved_fps"] > 0
    import av

    with av.open(str(out / "annotated.mp4")) as v:  # every frame of the source, at its own rate
        s = v.streams.video[0]
        assert s.average_rate == 10 and sum(1 for _ in v.decode(s)) == 90 and s.codec_context.name == "h264"
    assert len(list((out / "segments").glob("seg_*.jpg"))) == len(segs)
    page = tamgu.report(out, gradcam=True)
    assert {"timeline", "segments", "frames", "gradcam"} <= set(page.ids())


def test_a_street_is_uncertain_and_raises_no_alert_while_a_new_driver_stays_certain(poses_run, clip, tmp_path):
    """The driver model on a real street (opencv-doc's vtest.avi): most seconds uncertain (unlike every training
    image, or no class likely), no alert; on the generated clip of a driver it never saw, few."""
    vtest = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
    street = tamgu.watch(poses_run, vtest, tmp_path / "street", every=1.0, seconds=20, video=False,
                         alert="c1,c2,c3,c4>=1s", progress=False).wait()
    timeline = pd.read_csv(tmp_path / "street" / "timeline.csv")
    # the summary's share is rounded to 4 places (17 of 21 seconds is 0.8095...)
    assert street["uncertain_share"] >= 0.5
    assert (timeline["label"] == "uncertain").mean() == pytest.approx(street["uncertain_share"], abs=5e-5)
    assert pd.read_csv(tmp_path / "street" / "alerts.csv").empty and not timeline["alarm"].any()
    assert set(timeline.loc[timeline["label"] == "uncertain", "why"]) <= {"low", "far"}
    driver = tamgu.watch(poses_run, clip, tmp_path / "driver", video=False, progress=False).wait()
    assert driver["uncertain_share"] < 0.5 <= street["uncertain_share"] and driver["familiar_distance"] > 0
    certain = pd.read_csv(tmp_path / "driver" / "timeline.csv").query("label != 'uncertain'")
    truth = pd.read_csv(str(clip) + ".schedule.csv")
    assert schedule_accuracy(certain["time_s"], certain["label"].tolist(), truth) >= 0.8  # what it says, it says right
    (poses_run / "familiar.npz").unlink()  # the calibration is made again from the run's data when missing
    off = tamgu.watch(poses_run, clip, tmp_path / "off", familiar=0, floor=0, video=False, progress=False).wait()
    assert off["uncertain_share"] == 0 and off["familiar_distance"] is None


def test_watch_in_python_yields_results_and_keeps_them_when_stopped(poses_run, clip, tmp_path):
    run = tamgu.watch(poses_run, str(clip), tmp_path / "w", video=False, progress=False)
    frames = iter(run)
    first = [next(frames) for _ in range(5)]
    assert first[0]["label"] in CLASSES and abs(sum(first[0]["smoothed"].values()) - 1) < 1e-4
    frames.close()  # the caller stops iterating: what was processed is written, and the summary is kept
    assert len(pd.read_csv(tmp_path / "w" / "timeline.csv")) == 5
    assert json.loads((tmp_path / "w" / "summary.json").read_text())["interrupted"]
    assert run.summary["interrupted"] and run.summary["frames_processed"] == 5

    run = tamgu.watch(poses_run, str(clip), tmp_path / "w2", video=True, progress=False)
    frames = iter(run)
    next(frames)
    with pytest.raises(StopIteration):  # what `tamgu watch` does on Ctrl-C: a clean end
        frames.throw(KeyboardInterrupt)
    assert run.summary["interrupted"] and run.summary["frames_processed"] >= 1
    assert (tmp_path / "w2" / "annotated.mp4").stat().st_size > 0 and (tmp_path / "w2" / "segments.csv").is_file()

    run = tamgu.watch(poses_run, str(clip), tmp_path / "w3", video=False, progress=False)
    everything = list(run)  # list() loses nothing: the summary stays on the run
    assert len(everything) == run.summary["frames_processed"] == 45 and not run.summary["interrupted"]


def test_a_live_stream_is_read_and_ends_cleanly(poses_run, short_clip, tmp_path):
    with StreamServer(short_clip) as server:
        s = run_watch(tamgu.watch(poses_run, server.url, tmp_path / "live", timeout=2, progress=False, engine="torch"))
    assert s["kind"] == "stream" and s["frames_read"] >= 30 and s["frames_processed"] >= 15
    assert s["latency_ms"]["p95"] < 500 and not s["interrupted"]
    assert len(pd.read_csv(tmp_path / "live" / "timeline.csv")) == s["frames_processed"]


def test_a_slow_model_on_a_live_source_drops_frames_instead_of_falling_behind(poses_run, short_clip, tmp_path, monkeypatch):
    from tamgu.pipeline.inference import Predictor

    fast = Predictor.__call__

    def slow(self, images):
        time.sleep(0.35)  # a model three times slower than the 10 fps camera
        return fast(self, images)

    monkeypatch.setattr(Predictor, "__call__", slow)
    with StreamServer(short_clip) as server:
        s = run_watch(tamgu.watch(poses_run, server.url, tmp_path / "slow", timeout=2, video=False, progress=False, engine="torch"))
    assert s["frames_dropped"] > 10 and s["frames_processed"] < s["frames_read"] / 2
    assert s["latency_ms"]["p95"] < 1500  # never a queue: each result is about a fresh frame


@pytest.mark.parametrize("how", ["stall", "drop"])
def test_a_stream_that_stalls_or_disconnects_ends_with_what_was_processed(poses_run, short_clip, tmp_path, how):
    with StreamServer(short_clip, **{f"{how}_after": 0.7}) as server:
        t0 = time.monotonic()
        s = run_watch(tamgu.watch(poses_run, server.url, tmp_path / how, timeout=1.5, video=False, progress=False, engine="torch"))
        took = time.monotonic() - t0
    assert s["stream_end"] and not s["error"] and s["frames_processed"] >= 3 and took < 15  # ended, with results
    assert len(pd.read_csv(tmp_path / how / "timeline.csv")) == s["frames_processed"]


def test_reconnect_reopens_a_stream_that_dropped(poses_run, short_clip, tmp_path):
    with StreamServer(short_clip, drop_after=0.4) as server:  # --reconnect: the second request gets the whole clip
        s = run_watch(tamgu.watch(poses_run, server.url, tmp_path / "again", timeout=1.5, reconnect=1, video=False,
                                  progress=False, engine="torch"))
    assert s["reconnects"] == 1 and server.requests == 2 and s["frames_read"] > 40


@pytest.mark.parametrize("source, message", [
    ("nope.mp4", "nope.mp4 does not exist"), ("/dev/video9", "camera /dev/video9"),
    ("ftp://127.0.0.1/x", "unknown stream scheme 'ftp'"),
])
def test_a_bad_source_gets_one_line(poses_run, tmp_path, capsys, source, message):
    assert main(["watch", str(poses_run), source, "--out", str(tmp_path / "w")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_the_live_page_shows_the_stream_changing(poses_run, short_clip, tmp_path):
    import os
    import threading

    from streams import free_port
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed")
    if not Path("/usr/bin/chromium").exists():
        if os.environ.get("TAMGU_REQUIRE_BROWSER"):
            pytest.fail("chromium is required here (TAMGU_REQUIRE_BROWSER)")
        pytest.skip("Debian's chromium is not installed")
    port = free_port()
    with StreamServer(short_clip, speed=0.4) as server:  # 10 s of stream: time to open the page twice
        done = {}
        th = threading.Thread(target=lambda: done.update(s=run_watch(tamgu.watch(
            poses_run, server.url, tmp_path / "served", serve=port, timeout=3, video=False, progress=False, engine="torch"))))
        th.start()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"])
            page = browser.new_page()
            for _ in range(50):
                try:
                    page.goto(f"http://127.0.0.1:{port}/", timeout=2000)
                    break
                except Exception:  # noqa: BLE001 - the server is still starting
                    time.sleep(0.2)
            page.wait_for_function("document.getElementById('status').textContent.includes('fps')", timeout=15000)
            a = page.locator("#frame").screenshot()
            time.sleep(1.5)
            b = page.locator("#frame").screenshot()
            status = page.locator("#status").text_content()
            browser.close()
        server.stop.set()
        th.join(30)
    assert a != b and any(c in status for c in CLASSES)


def test_a_folder_of_videos_gets_a_folder_each(poses_run, clip, short_clip, tmp_path):
    import shutil

    videos = tmp_path / "videos"
    videos.mkdir()
    shutil.copy(clip, videos / "morning.mp4")
    shutil.copy(short_clip, videos / "evening.mp4")
    s = run_watch(tamgu.watch(poses_run, str(videos), tmp_path / "out", video=False, progress=False))
    assert s["videos"] == 2 and s["frames_processed"] == 45 + 20
    for name in ("morning", "evening"):
        assert (tmp_path / "out" / name / "timeline.csv").is_file()


def test_a_folder_with_unusual_names_and_a_broken_video_is_watched_as_a_whole(poses_run, short_clip, tmp_path, capsys):
    """watch stopped at the first bad video (the rest never watched) and found no videos without an extension."""
    import shutil

    videos = tmp_path / "videos"
    videos.mkdir()
    shutil.copy(short_clip, videos / "camera_clip")  # no extension
    shutil.copy(short_clip, videos / "clip.MTS")
    (videos / "broken.mp4").write_bytes(short_clip.read_bytes()[:3000])  # sorted first: it must not stop the rest
    assert main(["watch", str(poses_run), str(videos), "--out", str(tmp_path / "out"), "--no-video"]) == 1
    printed = capsys.readouterr()
    for name in ("camera_clip", "clip"):
        assert len(pd.read_csv(tmp_path / "out" / name / "timeline.csv")) == 20
    assert "broken.mp4" in printed.err and "1 video(s) could not be watched" in printed.err
    assert "3 videos" in printed.out


def test_the_panel_fits_a_small_video(poses_run, tmp_path):
    """On a 176x144 video the panel covered 85% of the frame and cut off the last class."""
    from tamgu.live.annotate import panel
    from tamgu.live.watch import larger

    clip = tamgu.synth_clip(tmp_path / "tiny.mp4", schedule="c0:1", size="176x144", fps=10)
    s = tamgu.watch(poses_run, str(clip), tmp_path / "w", progress=False).wait()
    import av

    with av.open(str(tmp_path / "w" / "annotated.mp4")) as v:
        shown = next(v.decode(video=0)).to_ndarray(format="rgb24")
    height, k = larger(144)
    drawn = panel(CLASSES, np.full(len(CLASSES), 0.1), "c0", 0.0, 1.0, None, height)
    assert k >= 2 and shown.shape[:2] == (144 * k, 176 * k) and s["frames_processed"] >= 5
    assert drawn.shape[1] <= 0.5 * shown.shape[1]  # the scene stays visible beside it
    rows_needed = 10 * 12  # every class gets a row of at least 12 px under the header
    assert drawn.shape[0] >= rows_needed and drawn.shape[0] <= shown.shape[0]
