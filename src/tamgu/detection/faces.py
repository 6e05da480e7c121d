"""Faces: BlazeFace (MediaPipe's, in LiteRT; the default), OpenCV's Haar cascade, MTCNN (facenet-pytorch)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import pandas as pd

from ..errors import InputError, SetupError, check_range
from ..video.stream import frame_options, options_doc
from .core import Detection, Detector, letterbox, ssd_anchors, tagged
from .runner import run_detector
from ..defaults import THREADS

# BlazeFace: (file, input size, strides, anchors per location) as in MediaPipe's face_detection graphs
BLAZEFACE = {"short": ("blazeface_short", 128, (8, 16), (2, 6)), "full": ("blazeface_full", 192, (4,), (1,))}
FACE_POINTS = ("right_eye", "left_eye", "nose", "mouth", "right_ear", "left_ear")



def blazeface(range_: str = "short", min_score: float = 0.5, threads: int | None = THREADS) -> Detector:
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


def face_detector(method: str = "blazeface", min_size: int = 30, device: str = "cpu", threads: int | None = THREADS,
                  min_score: float = 0.5, range_: str = "full") -> Detector:
    """`image -> faces` for one method (the detector `detect_faces` runs; background's GrabCut seeds with it)."""
    if method == "blazeface":
        found = blazeface(range_, min_score, threads)
        return lambda img: [d for d in found(img) if min(d.w, d.h) >= min_size]
    if method == "haar":
        if not hasattr(cv2, "CascadeClassifier") or not hasattr(cv2, "data"):
            raise SetupError("this OpenCV has no Haar cascades (OpenCV 5 dropped them): install opencv-python-headless<5")
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
            raise SetupError("MTCNN needs facenet-pytorch: pip install --no-deps facenet-pytorch "
                               "(make installs it; it pins an old torch, hence --no-deps)") from None
        net = MTCNN(keep_all=True, device=device, min_face_size=min_size)

        def mtcnn(img: np.ndarray) -> list[Detection]:
            boxes, probs = net.detect(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
            if boxes is None:
                return []
            return [Detection("face", float(p), int(b[0]), int(b[1]), int(b[2] - b[0]), int(b[3] - b[1]))
                    for b, p in zip(boxes, probs)]

        return mtcnn
    raise InputError(f"unknown face method {method!r}: use blazeface, haar or mtcnn")



def detect_faces(inputs, out: str | Path | None = None, method: Literal["blazeface", "haar", "mtcnn"] = "blazeface",
                 face_range: Literal["full", "short"] = "full", min_size: int = 20, min_score: float = 0.5,
                 **options) -> pd.DataFrame:
    """`tamgu detect faces`: faces in photos, folders, videos, cameras and streams.

    BlazeFace (MediaPipe's, in LiteRT) gives a probability 0..1 and six landmarks (eyes, nose, mouth, ears, as
    JSON in `text`); MTCNN a probability 0..1; Haar a cascade level weight (unbounded, higher is surer): the
    `method` column says which scale a row's score is on.

    Args:
        out: folder for annotated images, videos, detections.csv/.json and summary.json
        method: blazeface (deep, fast, landmarks), haar (OpenCV's cascade) or mtcnn
        face_range: blazeface: full (faces near and far) or short (within about 2 m: selfies, webcams); --range
        min_size: smallest face, pixels
        min_score: blazeface/mtcnn: least probability, 0..1
    """
    from ..runtime import set_threads

    opts = frame_options(options, "detect faces", "faces")
    check_range("min_size", min_size, 1, what="a face size in pixels")
    check_range("min_score", min_score, 0, 1, what="a probability")
    set_threads(opts.threads)
    device = "cpu" if opts.accelerator in ("auto", "cpu") else "cuda"
    found = face_detector(method, min_size, device=device, threads=opts.threads, min_score=min_score, range_=face_range)
    detector = (lambda img: [d for d in found(img) if d.score >= min_score]) if method == "mtcnn" else found
    return run_detector(tagged(detector, method), inputs, out, opts=opts)


detect_faces.__doc__ += options_doc("faces")
