import importlib.util
from pathlib import Path

import cv2
import matplotlib.cbook
import numpy as np
import pandas as pd
import pytest
import skimage.data

import tamgu
from tamgu.cli import main
from tamgu.detection.core import Detection
from tamgu.detection.faces import detect_faces
from tamgu.detection.objects import detect_people, parse_yolo, people_detector
from tamgu.detection.search import find
from tamgu.detection.text import detect_text, tesseract_available
from tamgu.segmentation.background import background

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
KOREAN_FONT = Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf")

# true face boxes (x0, y0, x1, y1), read off the pictures
FACES = {"astronaut": (170, 50, 280, 180), "grace_hopper": (160, 100, 370, 360)}


def iou(a, b):
    x0, y0, x1, y1 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    d = tmp_path_factory.mktemp("photos")
    cv2.imwrite(str(d / "astronaut.png"), cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR))
    gh = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    cv2.imwrite(str(d / "grace_hopper.png"), cv2.imread(str(gh)))
    return d


@pytest.mark.parametrize("method", ["haar", "mtcnn"])
@pytest.mark.parametrize("name", ["astronaut", "grace_hopper"])
def test_face_found_on_the_true_face(photos, method, name):
    if method == "mtcnn" and importlib.util.find_spec("facenet_pytorch") is None:
        pytest.skip("facenet-pytorch is installed by make (pip install --no-deps facenet-pytorch)")
    t = detect_faces(photos / f"{name}.png", method=method, progress=False)
    assert len(t) >= 1
    best = max(iou((r.x, r.y, r.x + r.w, r.y + r.h), FACES[name]) for r in t.itertuples())
    assert best > 0.5


def test_face_cli_writes_table_json_and_annotated(photos, tmp_path):
    assert main(["detect", "faces", str(photos), "--out", str(tmp_path)]) == 0
    t = pd.read_csv(tmp_path / "detections.csv")
    assert list(t.columns) == ["img", "frame", "time_s", "label", "score", "x", "y", "w", "h", "text", "method", "track"]
    assert set(t["img"]) == {"astronaut.png", "grace_hopper.png"}
    assert (tmp_path / "detections.json").exists() and (tmp_path / "annotated" / "astronaut.png").exists()


def test_a_missing_model_names_the_package_and_the_command_that_installs_it(photos, monkeypatch):
    import importlib.util

    from tamgu.detection.models import ModelError

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mediapipe" else real(name, *a))
    with pytest.raises(ModelError, match="pip install --no-deps mediapipe==0.10.21"):
        detect_faces(photos / "astronaut.png", method="blazeface")


def test_unreadable_input_is_reported_and_the_rest_go_on(photos, tmp_path, capsys):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"")
    assert main(["detect", "faces", str(bad), str(photos / "astronaut.png"), "--out", str(tmp_path / "o")]) == 1
    assert "bad.jpg" in capsys.readouterr().err
    assert len(pd.read_csv(tmp_path / "o" / "detections.csv")) >= 1


def test_english_text_rendered_in_a_photo_is_read_exactly(tmp_path):
    img = cv2.cvtColor(skimage.data.coffee(), cv2.COLOR_RGB2BGR)
    cv2.putText(img, "TAMGU 2026", (60, 120), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (255, 255, 255), 5, cv2.LINE_AA)
    cv2.imwrite(str(tmp_path / "sign.png"), img)
    t = detect_text(tmp_path / "sign.png", progress=False)
    assert "TAMGU 2026" in t["text"].tolist()
    row = t[t["text"] == "TAMGU 2026"].iloc[0]
    assert abs(row.x - 60) < 20 and abs(row.y + row.h - 120) < 25


def test_korean_text_with_tesseract(tmp_path):
    if not (tesseract_available("kor") and KOREAN_FONT.exists()):
        pytest.skip("needs tesseract-ocr-kor and fonts-nanum (make test installs them)")
    from PIL import Image, ImageDraw, ImageFont

    photo = Image.fromarray(skimage.data.coffee()).convert("RGB")
    canvas = ImageDraw.Draw(photo)
    canvas.rectangle((40, 30, 400, 110), fill=(250, 250, 250))
    canvas.text((55, 40), "안전운전", font=ImageFont.truetype(str(KOREAN_FONT), 56), fill=(0, 0, 0))
    photo.save(tmp_path / "ko.png")
    t = detect_text(tmp_path / "ko.png", lang="ko", progress=False)
    assert any(txt.replace(" ", "") == "안전운전" for txt in t["text"]), t["text"].tolist()
    assert set(t["method"]) == {"tesseract-stacked"}  # the engine that read, never "auto"


def test_korean_signs_with_english_in_them_are_read(tmp_path):
    """The benchmark's eight signs over real photos (its judge set): `비상구 EXIT 3` was read "비상구 5×11 3" line by
    line, and a 44-px white-on-blue `출입 금지 구역` was missed. The default reads them all (docs/benchmarks.md)."""
    if not (tesseract_available("kor") and KOREAN_FONT.exists()):
        pytest.skip("needs tesseract-ocr-kor and fonts-nanum (make test installs them)")
    import sys

    sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
    from text_engines import judge_signs

    read = []
    for i, (truth, img) in enumerate(judge_signs()):
        cv2.imwrite(str(tmp_path / f"sign{i}.png"), img)
        t = detect_text(tmp_path / f"sign{i}.png", lang="ko", progress=False)
        read.append(truth.replace(" ", "") in [txt.replace(" ", "") for txt in t["text"]])
    assert sum(read) >= 7, read  # 8 of 8 when measured; line by line read 7


def test_template_pasted_at_a_known_place_and_scale_is_found(tmp_path):
    crop = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)[180:260, 300:380]  # 80x80: the flag patch
    scene = cv2.cvtColor(skimage.data.coffee(), cv2.COLOR_RGB2BGR)
    scaled = cv2.resize(crop, None, fx=1.5, fy=1.5)  # pasted 1.5x larger at (350, 150)
    scene[150:150 + scaled.shape[0], 350:350 + scaled.shape[1]] = scaled
    cv2.imwrite(str(tmp_path / "crop.png"), crop)
    cv2.imwrite(str(tmp_path / "scene.png"), scene)
    t = find(tmp_path / "crop.png", tmp_path / "scene.png", threshold=0.8, progress=False)
    assert len(t) == 1
    r = t.iloc[0]
    assert abs(r.x - 350) <= 6 and abs(r.y - 150) <= 6 and abs(r.w - 120) <= 12
    assert main(["find", str(tmp_path / "crop.png"), str(tmp_path / "scene.png"), "--out", str(tmp_path / "o")]) == 0


def test_template_nothing_found_in_an_unrelated_image(tmp_path):
    crop = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)[180:260, 300:380]
    cv2.imwrite(str(tmp_path / "crop.png"), crop)
    cv2.imwrite(str(tmp_path / "other.png"), skimage.data.camera())
    assert len(find(tmp_path / "crop.png", tmp_path / "other.png", threshold=0.8, progress=False)) == 0


def needs_vtest():
    if not VTEST.exists():
        pytest.skip("Debian opencv-doc is not installed (make test installs it)")


def test_people_found_in_vtest(tmp_path):
    needs_vtest()
    t = detect_people(VTEST, tmp_path, method="hog", frame_step=100, frame_images=True, progress=False)
    per_frame = t.groupby("frame").size()
    assert len(per_frame) >= 6 and per_frame.median() >= 2  # a street with several walkers
    assert (t["label"] == "person").all() and (t["h"] > t["w"]).mean() > 0.9  # upright boxes
    assert len(list((tmp_path / "annotated").glob("vtest_f*.jpg"))) == 8
    assert t["time_s"].between(0, 80).all() and (tmp_path / "vtest_annotated.mp4").stat().st_size > 0


def test_background_subtraction_masks_cover_the_moving_people(tmp_path):
    needs_vtest()
    background(VTEST, tmp_path, method="mog2", frame_step=150, frame_images=True, progress=False)
    detector = people_detector()
    cap = cv2.VideoCapture(str(VTEST))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 300)
    ok, frame = cap.read()
    mask = cv2.imread(str(tmp_path / "vtest" / "vtest_f000300_mask.png"), cv2.IMREAD_GRAYSCALE)
    people = [d for d in detector(frame) if d.score > 0.5]
    assert ok and people and mask is not None
    inside = np.zeros(mask.shape, bool)
    for d in people:
        inside[d.y:d.y + d.h, d.x:d.x + d.w] = True
        assert (mask[d.y:d.y + d.h, d.x:d.x + d.w] > 0).mean() > 0.15  # each walker is largely foreground
    assert (mask[~inside] > 0).mean() < 0.08  # the street itself is background
    cut = cv2.imread(str(tmp_path / "vtest" / "vtest_f000300_cut.png"), cv2.IMREAD_UNCHANGED)
    assert cut.shape[2] == 4


def test_grabcut_on_a_portrait(photos, tmp_path):
    background(photos / "astronaut.png", tmp_path, progress=False)
    mask = cv2.imread(str(tmp_path / "astronaut_mask.png"), cv2.IMREAD_GRAYSCALE)
    x0, y0, x1, y1 = FACES["astronaut"]
    assert (mask[y0:y1, x0:x1] > 0).mean() > 0.6  # the face is kept
    assert (mask[:40, :40] > 0).mean() < 0.2  # a corner of the background is not


def test_parse_yolo_v8_and_v5_layouts():
    names = ["person", "car"]
    v8 = np.zeros((1, 6, 3), np.float32)
    v8[0, :, 0] = [100, 100, 40, 80, 0.9, 0.1]  # cx, cy, w, h, scores
    v8[0, :, 1] = [300, 200, 50, 50, 0.2, 0.7]
    v8[0, :, 2] = [10, 10, 5, 5, 0.1, 0.1]
    dets = parse_yolo(v8, names, scale=0.5, pad=(0, 20))
    assert [(d.label, d.x, d.y, d.w, d.h) for d in dets] == [("person", 160, 80, 80, 160), ("car", 550, 310, 100, 100)]
    v5 = np.zeros((1, 1, 7), np.float32)
    v5[0, 0] = [100, 100, 40, 80, 0.8, 0.9, 0.1]
    assert parse_yolo(v5, names, 1.0, (0, 0))[0].score == pytest.approx(0.72)
    with pytest.raises(ValueError, match="class names"):
        parse_yolo(np.zeros((1, 9, 3)), names, 1.0, (0, 0))


def test_api_exports():
    assert tamgu.detect_faces is detect_faces and isinstance(Detection("a", 1, 0, 0, 1, 1), Detection)


def test_background_cli_skips_an_unreadable_photo(photos, tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"nope")
    assert main(["background", str(bad), str(photos / "astronaut.png"), "--out", str(tmp_path / "o")]) == 1
    assert "bad.png" in capsys.readouterr().err
    assert (tmp_path / "o" / "astronaut_mask.png").exists()


def test_hangul_read_in_english_mode_says_to_use_korean(tmp_path):
    """PP-OCR read 비상구 as 町咎 (score 0.83) and said nothing."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
    from text_engines import render

    if not KOREAN_FONT.exists():
        pytest.skip("needs fonts-nanum (make test installs it)")
    cv2.imwrite(str(tmp_path / "sign.png"), render("비상구 EXIT 3", (255, 255, 255), (20, 140, 60), 56,
                                                 skimage.data.coffee(), 1))
    t = detect_text(tmp_path / "sign.png", progress=False)
    assert "--lang ko" in t.attrs.get("hint", ""), t["text"].tolist()
