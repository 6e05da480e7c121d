"""Object identification on images, folders and videos, offline, behind one interface.

A detector is a function `BGR image -> list[Detection]`. `run_detector` feeds it files, folders and videos
(every `frame_step`-th frame), draws the boxes, and writes one table `detections.csv` (+ .json):
img,frame,label,score,x,y,w,h,text.

    faces:   OpenCV Haar cascade (always there) | MTCNN (facenet-pytorch; its wheel carries the weights)
    text:    RapidOCR (PP-OCR ONNX models inside its wheel) | Tesseract (Debian; `kor` for Korean)
    find:    multi-scale (optionally rotated) template matching with non-maximum suppression
    people:  OpenCV HOG people detector | a user's ONNX detector (YOLOv5/v8 layout) with class names
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator, Literal, Sequence

import cv2
import numpy as np
import pandas as pd

from ..io import atomic_path, write_csv
from ..video.stream import Media, Output, frame_file, media_inputs, read_photo, run_frames

log = logging.getLogger(__name__)

COLUMNS = ["img", "frame", "time_s", "label", "score", "x", "y", "w", "h", "text", "method", "track"]


@dataclass
class Detection:
    label: str
    score: float
    x: int
    y: int
    w: int
    h: int
    text: str = ""
    method: str = ""   # which detector: its scores' scale (probability 0..1, or Haar/HOG's unbounded margins)
    track: int | None = None  # video: the object's id across frames (detection.tracking)


Detector = Callable[[np.ndarray], list[Detection]]


def ssd_anchors(size: int, strides: Sequence[int], per_location: Sequence[int]) -> np.ndarray:
    """MediaPipe's SSD anchors with a fixed size, (N, 2) centres in [0, 1]: for each stride, every cell of its
    grid, `per_location` anchors (layers of one stride share a grid, their anchors follow one another)."""
    out = []
    for stride, n in zip(strides, per_location):
        cells = int(np.ceil(size / stride))
        ys, xs = np.meshgrid((np.arange(cells) + 0.5) / cells, (np.arange(cells) + 0.5) / cells, indexing="ij")
        centres = np.stack([xs.ravel(), ys.ravel()], 1)
        out.append(np.repeat(centres, n, axis=0))
    return np.concatenate(out).astype(np.float32)


# BlazeFace: (file, input size, strides, anchors per location) as in MediaPipe's face_detection graphs
BLAZEFACE = {"short": ("blazeface_short", 128, (8, 16), (2, 6)), "full": ("blazeface_full", 192, (4,), (1,))}
FACE_POINTS = ("right_eye", "left_eye", "nose", "mouth", "right_ear", "left_ear")


def letterbox(img: np.ndarray, size: int) -> tuple[np.ndarray, float, tuple[int, int]]:
    """`img` scaled to fit a size x size square (aspect kept), centred on black; (square, scale, (pad x, pad y))."""
    h, w = img.shape[:2]
    scale = size / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    px, py = (size - nw) // 2, (size - nh) // 2
    square = np.zeros((size, size, 3), np.uint8)
    square[py:py + nh, px:px + nw] = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA)
    return square, scale, (px, py)


def blazeface(range_: str = "short", min_score: float = 0.5, threads: int | None = None) -> Detector:
    """MediaPipe's BlazeFace in LiteRT: faces with six landmarks (eyes, nose, mouth, ears) in `Detection.text`
    as JSON. `short`: faces within about 2 m of the camera; `full`: smaller, farther faces."""
    from .models import TFLite, model_path

    name, size, strides, per = BLAZEFACE[range_]
    model = TFLite(model_path(name), threads)
    anchors = ssd_anchors(size, strides, per)

    def detect(img: np.ndarray) -> list[Detection]:
        h, w = img.shape[:2]
        square, scale, (px, py) = letterbox(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), size)
        outs = model(square[None].astype(np.float32) / 127.5 - 1.0)
        raw = next(o for o in outs if o.shape[-1] == 16)[0]
        logits = next(o for o in outs if o.shape[-1] == 1)[0, :, 0]
        scores = 1 / (1 + np.exp(-np.clip(logits.astype(np.float64), -80, 80)))
        keep = np.flatnonzero(scores >= min_score)
        if not len(keep):
            return []
        r, a = raw[keep] / size, anchors[keep]
        cx, cy = r[:, 0] + a[:, 0], r[:, 1] + a[:, 1]
        bw, bh = r[:, 2], r[:, 3]
        to_x = lambda u: (u * size - px) / scale  # noqa: E731 - from the letterboxed square to the frame
        to_y = lambda v: (v * size - py) / scale  # noqa: E731
        boxes = np.stack([to_x(cx - bw / 2), to_y(cy - bh / 2), bw * size / scale, bh * size / scale], 1)
        points = np.stack([to_x(r[:, 4::2] + a[:, :1]), to_y(r[:, 5::2] + a[:, 1:])], 2)  # (n, 6, 2)
        picked = cv2.dnn.NMSBoxes(boxes.tolist(), scores[keep].tolist(), min_score, 0.3)
        dets = []
        for i in np.ravel(picked):
            x, y, bw_, bh_ = boxes[i]
            x0, y0 = max(0, int(round(x))), max(0, int(round(y)))
            x1, y1 = min(w, int(round(x + bw_))), min(h, int(round(y + bh_)))
            marks = {k: [round(float(p[0]), 1), round(float(p[1]), 1)] for k, p in zip(FACE_POINTS, points[i])}
            dets.append(Detection("face", float(scores[keep][i]), x0, y0, x1 - x0, y1 - y0, json.dumps(marks)))
        return dets

    return detect


# ---------------------------------------------------------------- faces
def face_detector(method: str = "blazeface", min_size: int = 30, device: str = "cpu", threads: int | None = None,
                  min_score: float = 0.5, range_: str = "full") -> Detector:
    if method == "blazeface":
        found = blazeface(range_, min_score, threads)
        return lambda img: [d for d in found(img) if min(d.w, d.h) >= min_size]
    if method == "haar":
        if not hasattr(cv2, "CascadeClassifier") or not hasattr(cv2, "data"):
            raise RuntimeError("this OpenCV has no Haar cascades (OpenCV 5 dropped them): install opencv-python-headless<5")
        casc = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"))

        def haar(img: np.ndarray) -> list[Detection]:
            gray = cv2.equalizeHist(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if img.ndim == 3 else img)
            found, _, weights = casc.detectMultiScale3(gray, scaleFactor=1.1, minNeighbors=5,
                                                       minSize=(min_size, min_size), outputRejectLevels=True)
            return [Detection("face", float(s), int(x), int(y), int(w), int(h))
                    for (x, y, w, h), s in zip(found, np.ravel(weights))]

        return haar
    if method == "mtcnn":
        try:
            from facenet_pytorch import MTCNN
        except ImportError:
            raise RuntimeError("MTCNN needs facenet-pytorch: pip install --no-deps facenet-pytorch "
                               "(make installs it; it pins an old torch, hence --no-deps)") from None
        net = MTCNN(keep_all=True, device=device, min_face_size=min_size)

        def mtcnn(img: np.ndarray) -> list[Detection]:
            boxes, probs = net.detect(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
            if boxes is None:
                return []
            return [Detection("face", float(p), int(b[0]), int(b[1]), int(b[2] - b[0]), int(b[3] - b[1]))
                    for b, p in zip(boxes, probs)]

        return mtcnn
    raise ValueError(f"unknown face method {method!r}: use blazeface, haar or mtcnn")


# ---------------------------------------------------------------- text
def _rapidocr_engine():
    try:
        import rapidocr
        from rapidocr import RapidOCR
    except ImportError:
        raise RuntimeError("text detection needs rapidocr and onnxruntime: pip install rapidocr onnxruntime") from None
    models = Path(rapidocr.__file__).parent / "models"
    # point at the models inside the wheel, so nothing is ever fetched
    params = {"Det.model_path": str(models / "PP-OCRv6_det_small.onnx"),
              "Rec.model_path": str(models / "PP-OCRv6_rec_small.onnx"),
              "Cls.model_path": str(models / "ch_ppocr_mobile_v2.0_cls_mobile.onnx"),
              "Global.log_level": "error"}
    engine = RapidOCR(params=params)
    # it warns "the text detection result is empty" on every frame without text: an empty result is an answer
    logging.getLogger("RapidOCR").setLevel(logging.ERROR)
    return engine


OCR_BORDER = 10  # white margin added around a cleaned line


def clean_line_for_ocr(crop: np.ndarray) -> np.ndarray:
    """Black text on white for Tesseract: Otsu threshold, then drop ink that touches the crop's edge (the
    edges of a sign, background clutter) and specks; a white border around what is left."""
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    _, b = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    if (b == 0).mean() > 0.5:  # light text on a dark ground: flip it
        b = 255 - b
    n, labels, stats, _ = cv2.connectedComponentsWithStats((b == 0).astype(np.uint8))
    h, w = b.shape
    min_area = max(12, int(0.003 * h * h))
    for i in range(1, n):
        x, y, ww, hh, area = stats[i]
        if x == 0 or y == 0 or x + ww >= w or y + hh >= h or area < min_area:
            b[labels == i] = 255
    return cv2.copyMakeBorder(b, OCR_BORDER, OCR_BORDER, OCR_BORDER, OCR_BORDER, cv2.BORDER_CONSTANT, value=255)


def merge_line_boxes(boxes) -> list[tuple[int, int, int, int]]:
    """Axis-aligned (x0, y0, x1, y1) boxes, with pieces of one text line joined (the detector may split a
    line where glyphs are far apart, as Hangul syllables often are)."""
    rects = sorted((int(np.min(b[:, 0])), int(np.min(b[:, 1])), int(np.max(b[:, 0])), int(np.max(b[:, 1])))
                   for b in (np.asarray(b) for b in boxes))
    merged: list[list[int]] = []
    for x0, y0, x1, y1 in rects:
        for m in merged:
            overlap = min(y1, m[3]) - max(y0, m[1])
            if overlap > 0.5 * min(y1 - y0, m[3] - m[1]) and x0 - m[2] < (y1 - y0):
                m[:] = [min(m[0], x0), min(m[1], y0), max(m[2], x1), max(m[3], y1)]
                break
        else:
            merged.append([x0, y0, x1, y1])
    return [tuple(m) for m in merged]


def tesseract_available(lang: str = "kor") -> bool:
    exe = shutil.which("tesseract")
    if not exe:
        return False
    import subprocess

    langs = subprocess.run([exe, "--list-langs"], capture_output=True, text=True).stdout.split()
    return lang in langs


TEXT_LANGUAGES = ("en", "ko")


def text_detector(engine: str = "auto", lang: str = "en", min_score: float = 0.5) -> Detector:
    """`engine`: rapidocr, tesseract, or auto (Tesseract for Korean, RapidOCR otherwise)."""
    if lang not in TEXT_LANGUAGES:
        raise ValueError(f"--lang {lang!r}: text is read in {' or '.join(TEXT_LANGUAGES)} (Korean is ko, not kr); "
                         "other languages would silently be read as English.")
    if engine not in ("auto", "rapidocr", "tesseract"):
        raise ValueError(f"--engine {engine!r}: use auto, rapidocr or tesseract.")
    if engine == "auto":
        engine = "tesseract" if lang in ("ko", "kor") else "rapidocr"
    if engine == "rapidocr":
        ocr = _rapidocr_engine()

        def rapid(img: np.ndarray) -> list[Detection]:
            r = ocr(img)
            if r.boxes is None:
                return []
            out = []
            for box, txt, score in zip(r.boxes, r.txts, r.scores):
                if score < min_score:
                    continue
                xs, ys = np.asarray(box)[:, 0], np.asarray(box)[:, 1]
                out.append(Detection("text", float(score), int(xs.min()), int(ys.min()), int(xs.max() - xs.min()),
                                     int(ys.max() - ys.min()), txt))
            return out

        return rapid
    if engine == "tesseract":
        tlang = {"ko": "kor+eng", "kor": "kor+eng", "en": "eng"}.get(lang, lang)
        for part in tlang.split("+"):
            if not tesseract_available(part):
                raise RuntimeError(f"Tesseract with language {part!r} is not installed: "
                                   f"apt-get install tesseract-ocr tesseract-ocr-{part}")
        import pytesseract

        try:  # PP-OCR's detector finds the lines (any script); Tesseract reads each one
            finder = _rapidocr_engine()
        except RuntimeError:
            finder = None

        def read_lines(img: np.ndarray, dx: int = 0, dy: int = 0, psm: int = 6) -> list[Detection]:
            d = pytesseract.image_to_data(img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_BGR2RGB), lang=tlang,
                                          config=f"--psm {psm}", output_type=pytesseract.Output.DATAFRAME)
            d = d[(d["conf"] > 0) & d["text"].notna()]
            d = d[d["text"].astype(str).str.strip() != ""]
            out = []
            for _, line in d.groupby(["block_num", "par_num", "line_num"]):  # one detection per line
                x0, y0 = line["left"].min(), line["top"].min()
                x1, y1 = (line["left"] + line["width"]).max(), (line["top"] + line["height"]).max()
                out.append(Detection("text", float(line["conf"].mean()) / 100, int(x0) + dx, int(y0) + dy,
                                     int(x1 - x0), int(y1 - y0), " ".join(line["text"].astype(str))))
            return [o for o in out if o.score >= min_score]

        def tess(img: np.ndarray) -> list[Detection]:
            if finder is None:
                return read_lines(img)
            boxes = finder(img, use_det=True, use_cls=False, use_rec=False).boxes
            out = []
            for x0, y0, x1, y1 in merge_line_boxes([] if boxes is None else boxes):
                pad = max(2, int(0.05 * (y1 - y0)))
                x0, y0 = max(0, x0 - pad), max(0, y0 - pad)
                x1, y1 = min(img.shape[1], x1 + pad), min(img.shape[0], y1 + pad)
                found = read_lines(clean_line_for_ocr(img[y0:y1, x0:x1]), x0 - OCR_BORDER, y0 - OCR_BORDER, psm=7)
                out += found
            return out

        return tess
    raise ValueError(f"unknown text engine {engine!r}: use rapidocr, tesseract or auto")


# ---------------------------------------------------------------- template
def nms(dets: list[Detection], iou: float = 0.3) -> list[Detection]:
    if not dets:
        return []
    keep = cv2.dnn.NMSBoxes([[d.x, d.y, d.w, d.h] for d in dets], [d.score for d in dets], 0.0, iou)
    return [dets[i] for i in np.ravel(keep)]


def template_finder(template: np.ndarray | str | Path, threshold: float = 0.8,
                    scales: Sequence[float] = tuple(np.geomspace(0.5, 2.0, 13)), angles: Sequence[float] = (0,),
                    label: str = "template", max_matches: int = 100) -> Detector:
    """Every place where `template` appears at any of `scales` (and `angles`), best first, overlaps removed."""
    if not isinstance(template, np.ndarray):
        tpl = cv2.imread(str(template))
        if tpl is None:
            raise FileNotFoundError(f"template {template} is not a readable image")
        template = tpl
    tgray = cv2.cvtColor(template, cv2.COLOR_BGR2GRAY) if template.ndim == 3 else template

    def variants(shape: tuple[int, int]) -> Iterator[np.ndarray]:
        for s in scales:
            t = cv2.resize(tgray, None, fx=s, fy=s, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
            for a in angles:
                if a:
                    m = cv2.getRotationMatrix2D((t.shape[1] / 2, t.shape[0] / 2), a, 1.0)
                    t2 = cv2.warpAffine(t, m, (t.shape[1], t.shape[0]), borderMode=cv2.BORDER_REPLICATE)
                else:
                    t2 = t
                if 8 <= t2.shape[0] <= shape[0] and 8 <= t2.shape[1] <= shape[1]:
                    yield t2

    def find(img: np.ndarray) -> list[Detection]:
        gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if img.ndim == 3 else img
        dets = []
        for t in variants(gray.shape):
            res = cv2.matchTemplate(gray, t, cv2.TM_CCOEFF_NORMED)
            ys, xs = np.where(res >= threshold)
            order = np.argsort(-res[ys, xs])[: max_matches * 20]
            dets += [Detection(label, float(res[y, x]), int(x), int(y), t.shape[1], t.shape[0])
                     for y, x in zip(ys[order], xs[order])]
        return nms(dets)[:max_matches]

    return find


def feature_finder(template: np.ndarray | str | Path, min_inliers: int = 12, label: str = "template") -> Detector:
    """The template seen at any angle and in perspective (a box photographed in a cluttered scene): SIFT key points,
    Lowe's ratio test, a homography by RANSAC. One find per image; its score is the share of matched points that
    fit the homography (0..1), `text` holds the four projected corners as JSON."""
    if not isinstance(template, np.ndarray):
        tpl = cv2.imread(str(template))
        if tpl is None:
            raise FileNotFoundError(f"template {template} is not a readable image")
        template = tpl
    sift = cv2.SIFT_create()
    tgray = cv2.cvtColor(template, cv2.COLOR_BGR2GRAY) if template.ndim == 3 else template
    tk, td = sift.detectAndCompute(tgray, None)
    if td is None or len(tk) < min_inliers:
        raise ValueError(f"the template has too little texture to match by features ({len(tk)} key points): use "
                         "--method template")
    matcher = cv2.BFMatcher(cv2.NORM_L2)
    h, w = tgray.shape[:2]
    corners = np.float32([[0, 0], [w, 0], [w, h], [0, h]]).reshape(-1, 1, 2)

    def find(img: np.ndarray) -> list[Detection]:
        gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if img.ndim == 3 else img
        k, d = sift.detectAndCompute(gray, None)
        if d is None or len(k) < 2:
            return []
        good = [m for m, n in (p for p in matcher.knnMatch(td, d, k=2) if len(p) == 2) if m.distance < 0.75 * n.distance]
        if len(good) < min_inliers:
            return []
        src = np.float32([tk[m.queryIdx].pt for m in good]).reshape(-1, 1, 2)
        dst = np.float32([k[m.trainIdx].pt for m in good]).reshape(-1, 1, 2)
        hom, inl = cv2.findHomography(src, dst, cv2.RANSAC, 5.0)
        if hom is None or int(inl.sum()) < min_inliers:
            return []
        quad = cv2.perspectiveTransform(corners, hom).reshape(-1, 2)
        x0, y0 = np.floor(quad.min(0)).astype(int)
        x1, y1 = np.ceil(quad.max(0)).astype(int)
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(gray.shape[1], x1), min(gray.shape[0], y1)
        if x1 - x0 < 4 or y1 - y0 < 4:
            return []
        return [Detection(label, float(inl.sum()) / len(good), int(x0), int(y0), int(x1 - x0), int(y1 - y0),
                          json.dumps([[round(float(a), 1), round(float(b), 1)] for a, b in quad]))]

    return find


# ---------------------------------------------------------------- people / ONNX
COCO = ("person bicycle car motorcycle airplane bus train truck boat traffic_light fire_hydrant stop_sign "
        "parking_meter bench bird cat dog horse sheep cow elephant bear zebra giraffe backpack umbrella handbag tie "
        "suitcase frisbee skis snowboard sports_ball kite baseball_bat baseball_glove skateboard surfboard "
        "tennis_racket bottle wine_glass cup fork knife spoon bowl banana apple sandwich orange broccoli carrot "
        "hot_dog pizza donut cake chair couch potted_plant bed dining_table toilet tv laptop mouse remote keyboard "
        "cell_phone microwave oven toaster sink refrigerator book clock vase scissors teddy_bear hair_drier "
        "toothbrush").split()


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
        raise ValueError(f"detector output of shape {np.shape(out)} does not fit {n_cls} class names: "
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


def object_detector(classes: Sequence[str] | None = None, min_score: float = 0.4, threads: int | None = None) -> Detector:
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
    if classes:
        wanted = set()
        by_ko = {ko: en for en, ko in OBJECT_NAMES_KO.items()}
        for c in classes:
            c = by_ko.get(c.strip(), c.strip().lower())
            if c not in names:
                raise ValueError(f"--classes: {c!r} is not one of this detector's classes: "
                                 + ", ".join(n for n in names[1:] if n))
            wanted.add(c)
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


def ssdlite_people(min_score: float = 0.5, threads: int | None = None) -> Detector:
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
        raise FileNotFoundError(f"detector {path} not found: give the path of an ONNX model (e.g. YOLOv8 exported)")
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


# ---------------------------------------------------------------- running over inputs


def draw(img: np.ndarray, dets: list[Detection]) -> np.ndarray:
    """Boxes with label and score; a found template's quadrilateral and a face's landmarks (JSON in `text`)."""
    out = img.copy()
    for d in dets:
        cv2.rectangle(out, (d.x, d.y), (d.x + d.w, d.y + d.h), (0, 220, 0), 2)
        shape = json.loads(d.text) if d.text[:1] in ("[", "{") else None
        if isinstance(shape, list):
            cv2.polylines(out, [np.int32(shape)], True, (0, 200, 255), 2, cv2.LINE_AA)
        elif isinstance(shape, dict):
            for px, py in shape.values():
                cv2.circle(out, (int(px), int(py)), 2, (0, 200, 255), -1, cv2.LINE_AA)
        caption = f"{d.label} {d.score:.2f}" + (f" {d.text}" if d.text and shape is None and d.text.isascii() else "")
        if getattr(d, "track", None):
            caption = f"#{d.track} " + caption
        cv2.putText(out, caption, (d.x, max(12, d.y - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 220, 0), 1, cv2.LINE_AA)
    return out



def write_table(table: pd.DataFrame, out: Path) -> None:
    write_csv(table, out / "detections.csv")
    with atomic_path(out / "detections.json") as tmp:
        tmp.write_text(json.dumps(table.to_dict(orient="records"), ensure_ascii=False, indent=1))


def run_detector(detector: Detector, inputs, out: str | Path | None = None, frame_step: int = 1,
                 annotate: bool = True, progress: bool = True, video: bool = True, frame_images: bool = False,
                 timeout: float = 5.0, reconnect: int = 0, seconds: float | None = None) -> pd.DataFrame:
    """Run `detector` on photos, folders, videos, cameras and streams; returns (and writes to `out`) the
    detections table (img, frame, time_s, label, score, box, text).

    Photos get an annotated copy in `out/annotated/`; a video source an annotated H.264 video
    (`out/<name>_annotated.mp4`, with `video`) and, with `frame_images`, one annotated JPEG per processed
    frame. `out/summary.json` says per input how many frames were read, processed and dropped, at what fps
    and latency. Unreadable inputs are reported and skipped; the others go on (the CLI then exits 1).
    """
    from .tracking import IoUTracker

    items = media_inputs(inputs)
    out = Path(out) if out else None
    trackers: dict[str, IoUTracker] = {}

    def tool(item: Media, fr) -> Output:
        dets = detector(fr.image)
        if item.is_video:  # the same object across frames keeps its id: a video's table counts objects
            tracker = trackers.setdefault(item.spec, IoUTracker())
            for d, k in zip(dets, tracker.update(dets)):
                d.track = k
        res = Output([asdict(d) for d in dets])
        if out is not None and annotate and (item.kind == "photo" or frame_images or video):
            shown = draw(fr.image, dets)
            if item.kind == "photo" or frame_images:
                res.files[f"annotated/{frame_file(item, fr)}"] = shown
            res.shown = shown
        return res

    rows, summaries, errors, interrupted = run_frames(items, tool, out, "detect", frame_step, video and annotate,
                                                      timeout=timeout, reconnect=reconnect, seconds=seconds,
                                                      progress=progress)
    for s in summaries:
        if s["input"] in trackers:
            s["tracks"] = trackers[s["input"]].counts()
    table = pd.DataFrame(rows, columns=COLUMNS)
    table["track"] = table["track"].astype("Int64")  # empty for photos
    if out is not None:
        write_table(table, out)
        from ..io import write_json

        write_json({"inputs": summaries, "interrupted": interrupted}, out / "summary.json")
    table.attrs.update(errors=errors, files=len(items), summaries=summaries, interrupted=interrupted)
    return table


# ---------------------------------------------------------------- background
def _clean_mask(mask: np.ndarray) -> np.ndarray:
    mask = np.where(mask == 255, 255, 0).astype(np.uint8)  # MOG2 marks shadows 127: not foreground
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    return cv2.morphologyEx(cv2.morphologyEx(mask, cv2.MORPH_OPEN, k), cv2.MORPH_CLOSE, k)


def _cutout(img: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.dstack([img, mask])  # BGRA: transparent where the mask is background


def _blobs(mask: np.ndarray, min_area: int) -> list[Detection]:
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
    return [Detection("foreground", float(stats[i, 4]) / (stats[i, 2] * stats[i, 3]), *map(int, stats[i, :4]))
            for i in range(1, n) if stats[i, 4] >= min_area]


def grabcut_person(img: np.ndarray, iterations: int = 5) -> np.ndarray:
    """Foreground mask (0/255) of the person in a photo: GrabCut seeded by a found face, else the centre."""
    h, w = img.shape[:2]
    faces = face_detector("haar")(img)
    if faces:
        f = max(faces, key=lambda d: d.w * d.h)
        rect = (max(0, f.x - f.w), max(0, f.y - f.h // 2), min(w, f.x + 2 * f.w) - max(0, f.x - f.w), h - max(0, f.y - f.h // 2) - 1)
    else:
        rect = (w // 10, h // 10, w * 8 // 10, h * 9 // 10 - 1)
    mask = np.zeros((h, w), np.uint8)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(img, mask, rect, bgd, fgd, iterations, cv2.GC_INIT_WITH_RECT)
    return np.where((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD), 255, 0).astype(np.uint8)


def guided_filter(guide: np.ndarray, p: np.ndarray, radius: int, eps: float = 1e-3) -> np.ndarray:
    """He et al.'s guided filter (grey guide in [0,1]), in its fast form (coefficients at half size): `p` smoothed
    but with the guide's edges, so an upsampled mask snaps to the hair and shoulders of the full-size frame."""
    h, w = guide.shape[:2]
    small = (max(1, w // 2), max(1, h // 2))
    g, q = cv2.resize(guide, small, interpolation=cv2.INTER_AREA), cv2.resize(p, small, interpolation=cv2.INTER_AREA)
    r = max(1, radius // 2)
    box = lambda x: cv2.boxFilter(x, cv2.CV_32F, (2 * r + 1, 2 * r + 1))  # noqa: E731
    mean_i, mean_p = box(g), box(q)
    var_i = box(g * g) - mean_i * mean_i
    a = (box(g * q) - mean_i * mean_p) / (var_i + eps)
    b = mean_p - a * mean_i
    a, b = cv2.resize(box(a), (w, h)), cv2.resize(box(b), (w, h))
    return a * guide + b


class PersonSegmenter:
    """Person probability (H x W float32 in [0,1]) at the frame's own size from MediaPipe's selfie segmentation:
    the frame is stretched to 256x256, the model's mask upsampled and refined by a guided filter on the frame;
    on video, each frame's mask is blended with the previous one (`temporal`: the previous one's weight)."""

    def __init__(self, threads: int | None = None, temporal: float = 0.3):
        from .models import TFLite, model_path

        self.model = TFLite(model_path("selfie"), threads)
        self.size = self.model.shape[2], self.model.shape[1]  # (w, h)
        self.temporal = temporal
        self.previous: np.ndarray | None = None

    def reset(self) -> None:
        self.previous = None

    def __call__(self, bgr: np.ndarray, video: bool = False) -> np.ndarray:
        h, w = bgr.shape[:2]
        x = cv2.resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), self.size, interpolation=cv2.INTER_AREA)
        prob = self.model(x[None].astype(np.float32) / 255.0)[0][0, :, :, 0]
        prob = cv2.resize(prob.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
        guide = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.float32) / 255.0
        prob = np.clip(guided_filter(guide, prob, max(2, min(h, w) // 80)), 0, 1)
        if video:
            if self.previous is not None and self.previous.shape == prob.shape and self.temporal > 0:
                prob = self.temporal * self.previous + (1 - self.temporal) * prob
            self.previous = prob
        return prob


def parse_replace(replace: str | None, shape: tuple[int, int]) -> np.ndarray | str | None:
    """`blur`, a colour (`green`, `#00b140`, `0,177,64` as RGB) or an image file -> what goes behind the person."""
    if replace is None:
        return None
    text = str(replace).strip()
    if text.lower() == "blur":
        return "blur"
    named = {"green": (0, 177, 64), "blue": (0, 71, 187), "white": (255, 255, 255), "black": (0, 0, 0),
             "grey": (128, 128, 128), "gray": (128, 128, 128)}
    rgb = None
    if text.lower() in named:
        rgb = named[text.lower()]
    elif text.startswith("#") and len(text) == 7:
        rgb = tuple(int(text[i:i + 2], 16) for i in (1, 3, 5))
    elif text.count(",") == 2 and all(v.strip().isdigit() for v in text.split(",")):
        rgb = tuple(int(v) for v in text.split(","))
    if rgb is not None:
        img = np.zeros((*shape, 3), np.uint8)
        img[:] = rgb[::-1]
        return img
    path = Path(text)
    if not path.is_file():
        raise ValueError(f"--replace {replace!r}: give blur, a colour (green, #00b140, 0,177,64) or an image file")
    return cv2.resize(read_photo(path), (shape[1], shape[0]), interpolation=cv2.INTER_AREA)


def composite(img: np.ndarray, prob: np.ndarray, behind: np.ndarray | str) -> np.ndarray:
    """The person (soft edges from the probability) over `behind`: a picture, or `blur` of the frame itself."""
    if isinstance(behind, str):  # blur
        k = max(3, min(img.shape[:2]) // 20 | 1)
        behind = cv2.GaussianBlur(img, (k, k), 0)
    elif behind.shape[:2] != img.shape[:2]:
        behind = cv2.resize(behind, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_AREA)
    a = prob.astype(np.float32)
    return cv2.blendLinear(img, behind, a, 1.0 - a)


def background(inputs, out: str | Path, method: Literal["auto", "person", "mog2", "knn", "grabcut"] = "auto",
               replace: str | None = None, frame_step: int = 1, history: int = 200, min_area: int = 200,
               video: bool = True, frame_images: bool = False, threads: int | None = None, timeout: float = 5.0,
               reconnect: int = 0, seconds: float | None = None, progress: bool = True) -> pd.DataFrame:
    """Separate foreground from background on photos, videos, cameras and streams; writes masks (PNG, 255 =
    foreground) and cut-outs (PNG with alpha) for photos, and for a video source an H.264 video of the result
    (`--frame-images` also writes each processed frame's mask and cut-out). Each foreground blob is a
    `foreground` detection in detections.csv; summary.json has fps and latency per input.

    Methods: `person` (MediaPipe's selfie segmentation, refined at full resolution, smoothed over time on
    video: any camera, moving or not), `mog2`/`knn` (background subtraction: a still camera, anything that
    moves), `grabcut` (seeded by a found face; the classical baseline). `auto` is `person`.

    Args:
        inputs: photos, folders, videos, a camera (0, /dev/video0) or a stream URL
        method: auto (person), person, mog2, knn or grabcut
        replace: what goes behind the person: blur, a colour (green, #00b140) or an image file
        frame_step: videos: every Nth frame
        history: mog2/knn: frames the background model remembers
        min_area: smallest foreground blob, pixels
        video: write the result of a video source as a video
        frame_images: also write every processed frame's mask and cut-out (heavy: a PNG pair per frame)
        threads: threads for the model, OpenCV and torch (default: the cores, at most 4)
        timeout: seconds without data before a live stream counts as stalled
        reconnect: times a live stream that stalls or ends is reopened
        seconds: stop each source after this many seconds of it
    """
    from .models import set_threads

    set_threads(threads)
    method = "person" if method == "auto" else method
    items = media_inputs(inputs)
    if method in ("mog2", "knn") and not any(i.is_video for i in items):
        raise ValueError(f"--method {method} learns the background of a video from a still camera; for photos use "
                         "person or grabcut.")
    out = Path(out)
    segmenter = PersonSegmenter(threads) if method == "person" else None
    state: dict = {"item": None}

    def tool(item: Media, fr) -> Output:
        img = fr.image
        if state["item"] is not item:  # a new input: its own background model / temporal state
            state["item"] = item
            state["sub"] = (cv2.createBackgroundSubtractorKNN(history=history, detectShadows=True) if method == "knn"
                            else cv2.createBackgroundSubtractorMOG2(history=history, varThreshold=16,
                                                                    detectShadows=True))
            state["behind"] = parse_replace(replace, img.shape[:2])
            if segmenter is not None:
                segmenter.reset()
        prob = None
        if method == "person":
            prob = segmenter(img, video=item.is_video)
            mask = np.where(prob >= 0.5, 255, 0).astype(np.uint8)
        elif method == "grabcut" or not item.is_video:
            if method != "grabcut":
                raise ValueError(f"--method {method} works on videos; photos use person or grabcut")
            mask = grabcut_person(img)
        else:
            mask = _clean_mask(state["sub"].apply(img))  # every frame teaches the model; every Nth is kept
            if fr.index % frame_step:
                return Output()
        alpha = (prob * 255).astype(np.uint8) if prob is not None else mask
        res = Output([asdict(d) for d in _blobs(mask, min_area)])
        behind = state["behind"]
        shown = composite(img, prob if prob is not None else mask / 255.0, behind) if behind is not None else None
        if item.kind == "photo" or frame_images:
            folder = "" if item.kind == "photo" else f"{item.stem}/"
            res.files[folder + frame_file(item, fr, "mask", ".png")] = mask
            res.files[folder + frame_file(item, fr, "cut", ".png")] = _cutout(img, alpha)
            if shown is not None:
                res.files[folder + frame_file(item, fr, "replaced", ".jpg")] = shown
        if item.is_video:  # the video shows the replaced background, else the cut-out over grey
            res.shown = shown if shown is not None else composite(img, alpha / 255.0, np.full_like(img, 128))
        return res

    step = 1 if method in ("mog2", "knn") else frame_step
    if int(frame_step) < 1:
        raise ValueError(f"--frame-step {frame_step}: use 1 (every frame) or more (every Nth frame).")
    rows, summaries, errors, interrupted = run_frames(items, tool, out, f"background ({method})", step, video,
                                                      video_name="{stem}_background.mp4", timeout=timeout,
                                                      reconnect=reconnect, seconds=seconds, progress=progress)
    table = pd.DataFrame(rows, columns=COLUMNS)
    write_csv(table, out / "detections.csv")
    table.attrs.update(errors=errors, files=len(items), summaries=summaries, interrupted=interrupted)
    return table


# ---------------------------------------------------------------- the commands, as functions
LIVE_ARGS = """
        frame_step: videos: every Nth frame (a live source: the newest frame each time)
        video: write an annotated H.264 video for each video source
        frame_images: also write every processed frame of a video as an annotated JPEG (heavy)
        threads: threads for the model, OpenCV and torch (default: the cores, at most 4)
        timeout: seconds without data before a live stream counts as stalled
        reconnect: times a live stream that stalls or ends is reopened
        seconds: stop each source after this many seconds of it"""


def detect_faces(inputs, out: str | Path | None = None, method: Literal["blazeface", "haar", "mtcnn"] = "blazeface",
                 range: Literal["full", "short"] = "full", min_size: int = 20, min_score: float = 0.5,
                 frame_step: int = 1, video: bool = True, frame_images: bool = False, threads: int | None = None,
                 timeout: float = 5.0, reconnect: int = 0, seconds: float | None = None,
                 progress: bool = True) -> pd.DataFrame:
    """`tamgu detect faces`: faces in photos, folders, videos, cameras and streams.

    BlazeFace (MediaPipe's, in LiteRT) gives a probability 0..1 and six landmarks (eyes, nose, mouth, ears, as
    JSON in `text`); MTCNN a probability 0..1; Haar a cascade level weight (unbounded, higher is surer): the
    `method` column says which scale a row's score is on.

    Args:
        out: folder for annotated images, videos, detections.csv/.json and summary.json
        method: blazeface (deep, fast, landmarks), haar (OpenCV's cascade) or mtcnn
        range: blazeface: full (faces near and far) or short (within about 2 m: selfies, webcams)
        min_size: smallest face, pixels
        min_score: blazeface/mtcnn: least probability
    """
    from .models import set_threads

    set_threads(threads)
    found = face_detector(method, min_size, threads=threads, min_score=min_score, range_=range)
    detector = (lambda img: [d for d in found(img) if d.score >= min_score]) if method == "mtcnn" else found
    return run_detector(tagged(detector, method), inputs, out, frame_step, progress=progress, video=video,
                        frame_images=frame_images, timeout=timeout, reconnect=reconnect, seconds=seconds)


detect_faces.__doc__ += LIVE_ARGS


def tagged(detector: Detector, method: str) -> Detector:
    """The detector with its method named on every detection (scores of different methods are different scales)."""
    def run(img: np.ndarray) -> list[Detection]:
        dets = detector(img)
        for d in dets:
            d.method = method
        return dets
    return run


def _live(kw: dict) -> dict:
    """The frame-loop options of a command, for run_detector (threads are set once, here)."""
    from .models import set_threads

    set_threads(kw.get("threads"))
    return {k: kw[k] for k in ("video", "frame_images", "timeout", "reconnect", "seconds")}


def detect_text(inputs, out: str | Path | None = None, engine: Literal["auto", "rapidocr", "tesseract"] = "auto",
                lang: Literal["en", "ko"] = "en", min_score: float = 0.5, frame_step: int = 1, video: bool = True,
                frame_images: bool = False, threads: int | None = None, timeout: float = 5.0, reconnect: int = 0,
                seconds: float | None = None, progress: bool = True) -> pd.DataFrame:
    """`tamgu detect text`: text boxes with what they read (RapidOCR; Tesseract for Korean), in photos, videos,
    cameras and streams. Scores are recognition confidences, 0..1.

    Args:
        out: folder for annotated images, videos, detections.csv/.json and summary.json
        engine: auto, rapidocr or tesseract
        lang: en, or ko (Tesseract kor)
        min_score: least recognition confidence, 0..1
    """
    kw = _live(locals())
    return run_detector(tagged(text_detector(engine, lang, min_score), engine), inputs, out, frame_step,
                        progress=progress, **kw)


detect_text.__doc__ += LIVE_ARGS


def detect_people(inputs, out: str | Path | None = None, method: Literal["ssdlite", "ssd", "hog"] = "ssdlite",
                  model: str | Path | None = None, classes: str | Path | None = None, min_score: float | None = None,
                  all_classes: bool = False, frame_step: int = 1, video: bool = True, frame_images: bool = False,
                  threads: int | None = None, timeout: float = 5.0, reconnect: int = 0, seconds: float | None = None,
                  progress: bool = True) -> pd.DataFrame:
    """`tamgu detect people`: people in photos, videos, cameras and streams, with track ids on video. `ssdlite`:
    an SSDLite-MobileNetV2 trained for people, in OpenCV's DNN (probability 0..1); `ssd`: the person class of
    MediaPipe Objectron's 23-class SSD; `hog`: OpenCV's classical HOG detector (its score is an SVM margin,
    unbounded); or your ONNX detector with --model (scores 0..1).

    Args:
        out: folder for annotated images, videos, detections.csv/.json and summary.json
        method: ssdlite (deep, for people, the default), ssd (the 23-class one's person) or hog (classical)
        model: your ONNX detector (YOLOv5/v8 layout), run with OpenCV DNN, instead of the method
        classes: its class names, one per line (default: COCO's 80)
        min_score: least detection score (default: 0.5; 0.4 for ssd, whose people score lower)
        all_classes: --model: keep every class, not only person
    """
    kw = _live(locals())
    if model:
        found, name = people_detector(model, classes, 0.5 if min_score is None else min_score,
                                      all_classes=all_classes), "onnx"
    elif method == "ssdlite":
        found, name = ssdlite_people(0.5 if min_score is None else min_score, threads), "ssdlite"
    elif method == "ssd":
        found, name = object_detector(["person"], 0.4 if min_score is None else min_score, threads), "ssd-oidv4"
    else:
        found, name = people_detector(None, None, 0.5 if min_score is None else min_score), "hog"
    return run_detector(tagged(found, name), inputs, out, frame_step, progress=progress, **kw)


detect_people.__doc__ += LIVE_ARGS


def detect_objects(inputs, out: str | Path | None = None, classes: Sequence[str] | None = None,
                   min_score: float = 0.4, frame_step: int = 1, video: bool = True, frame_images: bool = False,
                   threads: int | None = None, timeout: float = 5.0, reconnect: int = 0, seconds: float | None = None,
                   progress: bool = True) -> pd.DataFrame:
    """`tamgu detect objects`: 23 kinds of object (person, car, vehicle, bicycle, dog, cat, chair, bottle, laptop,
    ...) in photos, videos, cameras and streams, with MediaPipe Objectron's SSD (Open Images v4; no truck,
    airplane or boat: for COCO's 80 classes give your own ONNX to `detect people --model`). The label is
    English, `text` the Korean name, the score a probability 0..1; on video each object gets a track id.

    Args:
        out: folder for annotated images, videos, detections.csv/.json and summary.json
        classes: keep only these, comma-separated, in English or Korean (e.g. person,car or 사람,자동차)
        min_score: least probability
    """
    kw = _live(locals())
    return run_detector(tagged(object_detector(classes, min_score, threads), "ssd-oidv4"), inputs, out, frame_step,
                        progress=progress, **kw)


detect_objects.__doc__ += LIVE_ARGS


def find(template: str | Path, inputs, out: str | Path | None = None,
         method: Literal["template", "features"] = "template", threshold: float = 0.8, min_scale: float = 0.5,
         max_scale: float = 2.0, scales: int = 13, angles: Sequence[float] = (0,), min_inliers: int = 12,
         frame_step: int = 1, video: bool = True, frame_images: bool = False, threads: int | None = None,
         timeout: float = 5.0, reconnect: int = 0, seconds: float | None = None, progress: bool = True) -> pd.DataFrame:
    """`tamgu find TEMPLATE INPUT...`: where the template appears. `template`: every place, at any scale (and
    the angles given), seen face on; score = normalised correlation 0..1. `features`: one place per image, at
    any angle and in perspective (SIFT + homography); score = share of matches that fit, 0..1.

    Args:
        template: the image to look for
        out: folder for annotated images, videos, detections.csv/.json and summary.json
        method: template (same view, many copies) or features (any view, one copy)
        threshold: template: normalised correlation to count, 0..1
        min_scale: template: smallest scale tried
        max_scale: template: largest scale tried
        scales: template: scales tried between min and max
        angles: template: rotations in degrees, comma-separated, e.g. -10,0,10
        min_inliers: features: matched points that must fit one homography
    """
    kw = _live(locals())
    if method == "features":
        finder = feature_finder(template, min_inliers)
    else:
        finder = template_finder(template, threshold, tuple(np.geomspace(min_scale, max_scale, scales)), tuple(angles))
    return run_detector(tagged(finder, method), inputs, out, frame_step, progress=progress, **kw)


find.__doc__ += LIVE_ARGS
