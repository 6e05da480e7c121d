"""People and objects: an SSDLite person detector (OpenCV DNN), COCO's 80 classes with Coral's SSD (LiteRT; the
objects default, `coco`), MediaPipe Objectron's 23-class SSD (LiteRT), OpenCV's HOG people detector, or a user's
ONNX detector in the YOLOv5/v8 layout."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Sequence

import cv2
import numpy as np
import pandas as pd

from ..errors import InputError, MissingInput, check_range
from ..video.stream import frame_options, options_doc
from .coco import COCO, class_filter, coco_detector
from .core import Detection, Detector, nms, tagged
from .runner import run_detector
from ..defaults import THREADS

def parse_yolo(out: np.ndarray, names: Sequence[str], scale: float, pad: tuple[float, float],
               score: float = 0.5, iou: float = 0.45) -> list[Detection]:
    """Boxes from a YOLO head: v8 layout (1, 4+C, N) or v5 layout (1, N, 5+C); cx,cy,w,h in input pixels.
    """
    a = np.squeeze(np.asarray(out, dtype=np.float32), 0)
    n_cls = len(names)
    if a.shape[0] == 4 + n_cls and a.shape[1] != 4 + n_cls:
        a = a.T  # v8: (4+C, N) -> (N, 4+C)
    if a.shape[1] == 5 + n_cls:  # v5: objectness x class scores
        cls_scores = a[:, 5:] * a[:, 4:5]
    elif a.shape[1] == 4 + n_cls:
        cls_scores = a[:, 4:]
    else:
        raise InputError(f"detector output of shape {np.shape(out)} does not fit {n_cls} class names: "
                         "give the model's class names with --classes FILE (one per line)")
    cls = cls_scores.argmax(1)
    conf = cls_scores[np.arange(len(a)), cls]
    sel = conf >= score
    dets = []
    for (cx, cy, w, h), c, s in zip(a[sel, :4], cls[sel], conf[sel]):
        x, y = (cx - w / 2 - pad[0]) / scale, (cy - h / 2 - pad[1]) / scale
        dets.append(Detection(names[int(c)], float(s), int(round(x)), int(round(y)), int(round(w / scale)),
                              int(round(h / scale))))
    return nms(dets, iou)


# ---------------------------------------------------------------- objects: MediaPipe Objectron's SSD (Open Images)
OBJECT_NAMES_KO = {
    "bicycle": "자전거", "boot": "부츠", "laptop": "노트북", "person": "사람", "chair": "의자", "cattle": "소",
    "desk": "책상", "cat": "고양이", "computer mouse": "마우스", "computer monitor": "모니터", "box": "상자",
    "mug": "머그잔", "coffee cup": "커피잔", "stationary bicycle": "실내 자전거", "table": "탁자", "bottle": "병",
    "high heels": "하이힐", "vehicle": "탈것", "footwear": "신발", "dog": "개", "book": "책", "camera": "카메라",
    "car": "자동차"}


def ssd_box_anchors(size: int = 300, strides: Sequence[int] = (16, 32, 64, 128, 256, 512), min_scale: float = 0.2,
                    max_scale: float = 0.95) -> np.ndarray:
    """The TensorFlow object-detection SSD anchors (x, y, w, h in [0, 1]) as MediaPipe's SsdAnchorsCalculator makes
    them: scales spread from min to max over the layers, aspect ratios 1, 2, 1/2, 3, 1/3 plus one between two
    scales, and three boxes (ratios 1, 2, 1/2, the first at scale 0.1) in the lowest layer."""
    n, out = len(strides), []
    for layer, stride in enumerate(strides):
        cells = int(np.ceil(size / stride))
        scale = min_scale + (max_scale - min_scale) * layer / (n - 1)
        if layer == 0:
            spec = [(1.0, 0.1), (2.0, scale), (0.5, scale)]
        else:
            nxt = 1.0 if layer == n - 1 else min_scale + (max_scale - min_scale) * (layer + 1) / (n - 1)
            spec = [(r, scale) for r in (1.0, 2.0, 0.5, 3.0, 1 / 3)] + [(1.0, float(np.sqrt(scale * nxt)))]
        ys, xs = np.meshgrid((np.arange(cells) + 0.5) / cells, (np.arange(cells) + 0.5) / cells, indexing="ij")
        centres = np.stack([xs.ravel(), ys.ravel()], 1)
        wh = np.array([(sc * np.sqrt(r), sc / np.sqrt(r)) for r, sc in spec])
        out.append(np.concatenate([np.repeat(centres, len(spec), 0), np.tile(wh, (len(centres), 1))], 1))
    return np.concatenate(out).astype(np.float32)


def object_detector(classes: Sequence[str] | None = None, min_score: float = 0.4, threads: int | None = THREADS) -> Detector:
    """MediaPipe Objectron's SSD-MobileNetV2 trained on Open Images: 23 classes (person, car, vehicle, bicycle, dog,
    cat, bottle, chair, ...), label in English, Korean name in `text`, probability 0..1. `classes` keeps only
    those (English or Korean names)."""
    from .models import TFLite, model_dir, model_path

    model = TFLite(model_path("objects"), threads)
    names = [n.strip().lower() for n in (model_dir() / "ssd_mobilenet_v2_oidv4.labels").read_text().split("\n")]
    names = (names + [""] * 24)[:24]  # 0 is the background
    anchors = ssd_box_anchors()
    keep = np.ones(len(names), bool)
    keep[0] = False
    wanted = class_filter(classes, [n for n in names if n], OBJECT_NAMES_KO)
    if wanted is not None:
        keep = np.array([n in wanted for n in names])

    def detect(img: np.ndarray) -> list[Detection]:
        h, w = img.shape[:2]
        x = cv2.resize(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), (300, 300), interpolation=cv2.INTER_AREA)
        outs = model(x[None].astype(np.float32) / 127.5 - 1.0)
        enc = next(o for o in outs if o.shape[-1] == 4)[0]
        logits = next(o for o in outs if o.shape[-1] == len(names))[0]
        scores = 1 / (1 + np.exp(-np.clip(logits.astype(np.float64), -80, 80)))
        scores[:, ~keep] = 0
        cls, best = scores.argmax(1), scores.max(1)
        idx = np.flatnonzero(best >= min_score)
        if not len(idx):
            return []
        e, a = enc[idx], anchors[idx]  # (ty, tx, th, tw) against (x, y, w, h)
        cy, cx = e[:, 0] / 10 * a[:, 3] + a[:, 1], e[:, 1] / 10 * a[:, 2] + a[:, 0]
        bh, bw = np.exp(e[:, 2] / 5) * a[:, 3], np.exp(e[:, 3] / 5) * a[:, 2]
        boxes = np.stack([(cx - bw / 2) * w, (cy - bh / 2) * h, bw * w, bh * h], 1)
        dets = []
        for c in np.unique(cls[idx]):  # overlaps removed within each class
            mine = np.flatnonzero(cls[idx] == c)
            picked = cv2.dnn.NMSBoxes(boxes[mine].tolist(), best[idx][mine].tolist(), min_score, 0.45)
            for j in np.ravel(picked):
                i = mine[j]
                x0, y0 = max(0, int(round(boxes[i, 0]))), max(0, int(round(boxes[i, 1])))
                x1, y1 = min(w, int(round(boxes[i, 0] + boxes[i, 2]))), min(h, int(round(boxes[i, 1] + boxes[i, 3])))
                if x1 > x0 and y1 > y0:
                    name = names[c]
                    dets.append(Detection(name, float(best[idx][i]), x0, y0, x1 - x0, y1 - y0,
                                          OBJECT_NAMES_KO.get(name, "")))
        return sorted(dets, key=lambda d: -d.score)

    return detect


def ssdlite_people(min_score: float = 0.5, threads: int | None = THREADS) -> Detector:
    """People with the SSDLite-MobileNetV2 person detector in OpenCV's DNN (score: probability 0..1)."""
    from .models import model_path

    net = cv2.dnn.readNetFromTensorflow(str(model_path("person_ssdlite")),
                                        str(Path(__file__).with_name("ssdlite_person.pbtxt")))

    def detect(img: np.ndarray) -> list[Detection]:
        h, w = img.shape[:2]
        net.setInput(cv2.dnn.blobFromImage(img, size=(300, 300), swapRB=True))  # 0..255 RGB: the graph scales it
        rows = net.forward()[0, 0]
        dets = []
        for _, _, score, x0, y0, x1, y1 in rows[rows[:, 2] >= min_score]:
            x0, y0 = max(0, int(round(x0 * w))), max(0, int(round(y0 * h)))
            x1, y1 = min(w, int(round(x1 * w))), min(h, int(round(y1 * h)))
            if x1 > x0 and y1 > y0:
                dets.append(Detection("person", float(score), x0, y0, x1 - x0, y1 - y0))
        return dets

    return detect


def people_detector(model: str | Path | None = None, classes: str | Path | None = None, score: float = 0.5,
                    input_size: int = 640, all_classes: bool = False) -> Detector:
    """OpenCV's HOG people detector, or a user-supplied ONNX detector (YOLO layout) run with OpenCV DNN."""
    if model is None:
        hog = cv2.HOGDescriptor()
        hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())

        def hog_people(img: np.ndarray) -> list[Detection]:
            rects, weights = hog.detectMultiScale(img, winStride=(8, 8), padding=(8, 8), scale=1.05)
            dets = [Detection("person", float(w), int(x), int(y), int(ww), int(hh))
                    for (x, y, ww, hh), w in zip(rects, np.ravel(weights)) if w >= score - 0.5]
            return nms(dets, 0.4)

        return hog_people
    path = Path(model)
    if not path.exists():
        raise MissingInput(f"detector {path} not found: give the path of an ONNX model (e.g. YOLOv8 exported)")
    names = Path(classes).read_text().split() if classes else list(COCO)
    net = cv2.dnn.readNetFromONNX(str(path))

    def onnx(img: np.ndarray) -> list[Detection]:
        h, w = img.shape[:2]
        scale = input_size / max(h, w)
        resized = cv2.resize(img, (int(round(w * scale)), int(round(h * scale))))
        pad = ((input_size - resized.shape[1]) / 2, (input_size - resized.shape[0]) / 2)
        canvas = np.full((input_size, input_size, 3), 114, np.uint8)  # letterbox, as YOLO trains
        canvas[int(pad[1]):int(pad[1]) + resized.shape[0], int(pad[0]):int(pad[0]) + resized.shape[1]] = resized
        net.setInput(cv2.dnn.blobFromImage(canvas, 1 / 255, swapRB=True))
        dets = parse_yolo(net.forward(), names, scale, (int(pad[0]), int(pad[1])), score)
        return dets if all_classes else [d for d in dets if d.label == "person"]

    return onnx



def detect_people(inputs, out: str | Path | None = None, method: Literal["coco", "ssdlite", "ssd", "hog"] = "coco",
                  model: str | Path | None = None, classes: str | Path | None = None, min_score: float | None = None,
                  all_classes: bool = False, lines: Sequence[str] = (), zones: Sequence[str] = (),
                  export: Literal["coco", "yolo", "cvat"] | None = None, **options) -> pd.DataFrame:
    """`tamgu detect people`: people in photos, videos, cameras and streams, with track ids on video, counted
    across --line and in --zone. `coco`: the person class of the 80-class COCO SSD (the default: on a street
    filmed from a first floor, vtest.avi, it finds the most walkers, 6.3 a frame beside SSDLite's 4.3, and runs
    faster; docs/benchmarks.md); `ssdlite`: an SSDLite-MobileNetV2 trained for people, in OpenCV's DNN (sure of
    a person near the camera, misses far and small ones); `ssd`: the person class of MediaPipe Objectron's
    23-class SSD (the fastest); `hog`: OpenCV's classical HOG detector (its score is an SVM margin, unbounded);
    or your ONNX detector with --model (scores 0..1).

    Args:
        out: folder for annotated images, videos, detections.csv/.json and summary.json
        method: coco (the default), ssdlite (people near the camera), ssd (Objectron's person) or hog (classical)
        model: your ONNX detector (YOLOv5/v8 layout), run with OpenCV DNN, instead of the method
        classes: its class names, one per line (default: COCO's 80)
        min_score: least detection score (default: 0.5; 0.4 for coco and ssd, whose people score lower)
        all_classes: --model: keep every class, not only person
        lines: a counting line x1,y1,x2,y2 in the video's pixels: crossings.csv
        zones: a zone x,y,x,y,x,y,... (3 corners or more): zones.csv
        export: also write the detections as pre-labels: coco, yolo or cvat
    """
    from ..runtime import set_threads

    opts = frame_options(options, "detect people", "detect")
    check_range("min_score", min_score, 0, 1, what="a detection score")
    threads = opts.threads
    set_threads(threads)
    if model:
        found, name = people_detector(model, classes, 0.5 if min_score is None else min_score,
                                      all_classes=all_classes), "onnx"
    elif method == "coco":
        found, name = coco_detector(["person"], 0.4 if min_score is None else min_score, threads), "ssd-coco"
    elif method == "ssdlite":
        found, name = ssdlite_people(0.5 if min_score is None else min_score, threads), "ssdlite"
    elif method == "ssd":
        found, name = object_detector(["person"], 0.4 if min_score is None else min_score, threads), "ssd-oidv4"
    else:
        found, name = people_detector(None, None, 0.5 if min_score is None else min_score), "hog"
    return run_detector(tagged(found, name), inputs, out, lines=lines, zones=zones, export=export, opts=opts)


detect_people.__doc__ += options_doc("detect")




def detect_objects(inputs, out: str | Path | None = None, model: Literal["coco", "objectron"] = "coco",
                   classes: Sequence[str] | None = None, min_score: float = 0.4, lines: Sequence[str] = (),
                   zones: Sequence[str] = (), export: Literal["coco", "yolo", "cvat"] | None = None,
                   classifier: str | Path | None = None, **options) -> pd.DataFrame:
    """`tamgu detect objects`: COCO's 80 kinds of object (person, car, truck, bus, motorcycle, bicycle, airplane,
    boat, dog, cat, ...) in photos, videos, cameras and streams, with Coral's SSD-MobileNetV2 (or `objectron`,
    MediaPipe's 23-class SSD on Open Images). The label is English, `text` the Korean name, the score a
    probability 0..1. On video each object gets a track id once it is confirmed (ByteTrack), `tracks.csv` one
    row per object; --line and --zone count them, --export writes pre-labels for CVAT or Label Studio,
    --classifier names each track by your own classes.

    Args:
        out: folder for annotated images, videos, detections.csv/.json, tracks.csv and summary.json
        model: coco (80 classes, the default) or objectron (23 Open Images classes)
        classes: keep only these, comma-separated, in English or Korean (e.g. person,car or 사람,자동차)
        min_score: least probability
        lines: a counting line x1,y1,x2,y2 in the video's pixels: crossings.csv (time_s, track, label,
            direction, line)
        zones: a zone x,y,x,y,x,y,... (3 corners or more): zones.csv (track, label, zone, enter_s, exit_s, seconds)
        export: also write the detections as pre-labels: coco (JSON + images), yolo (labels + images) or cvat (XML)
        classifier: a tamgu train run (e.g. trained on tamgu crops): names each track by a vote over its crops
    """
    from ..runtime import set_threads

    opts = frame_options(options, "detect objects", "detect")
    check_range("min_score", min_score, 0, 1, what="a probability")
    set_threads(opts.threads)
    if model == "coco":
        found = tagged(coco_detector(classes, min_score, opts.threads), "ssd-coco")
    elif model == "objectron":
        found = tagged(object_detector(classes, min_score, opts.threads), "ssd-oidv4")
    else:
        raise InputError(f"--model {model!r}: use coco (80 classes) or objectron (23 classes)")
    return run_detector(found, inputs, out, lines=lines, zones=zones, export=export, classifier=classifier, opts=opts)


detect_objects.__doc__ += options_doc("detect")
