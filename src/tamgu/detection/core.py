"""What every detector shares: the `Detection` row, drawing and the detections table. `runner.run_detector`
feeds a detector the one frame loop (`video.stream.frame_loop`).

A detector is a function `BGR image -> list[Detection]`. `run_detector` runs it on photos, folders, videos,
cameras and streams, draws the boxes, gives objects on video a track id, and writes one table
`detections.csv` (+ .json): img,frame,time_s,label,score,x,y,w,h,text,method,track.

The detectors themselves live by concern: `faces`, `text`, `objects` (people and objects), `search` (a
template inside images).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np
import pandas as pd

from ..files import atomic_path, write_csv

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


def letterbox(img: np.ndarray, size: int) -> tuple[np.ndarray, float, tuple[int, int]]:
    """`img` scaled to fit a size x size square (aspect kept), centred on black; (square, scale, (pad x, pad y))."""
    h, w = img.shape[:2]
    scale = size / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    px, py = (size - nw) // 2, (size - nh) // 2
    square = np.zeros((size, size, 3), np.uint8)
    square[py:py + nh, px:px + nw] = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA)
    return square, scale, (px, py)


def nms(dets: list[Detection], iou: float = 0.3) -> list[Detection]:
    if not dets:
        return []
    keep = cv2.dnn.NMSBoxes([[d.x, d.y, d.w, d.h] for d in dets], [d.score for d in dets], 0.0, iou)
    return [dets[i] for i in np.ravel(keep)]



def tagged(detector: Detector, method: str) -> Detector:
    """The detector with its method named on every detection (scores of different methods are different scales)."""
    def run(img: np.ndarray) -> list[Detection]:
        dets = detector(img)
        for d in dets:
            d.method = method
        return dets
    return run


def draw(img: np.ndarray, dets: list[Detection], classes: dict[int, str] | None = None) -> np.ndarray:
    """Boxes with label and score; a found template's quadrilateral and a face's landmarks (JSON in `text`);
    `classes`: a classifier's name for each track, shown after the label."""
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
            caption = f"#{d.track} " + caption + (f" > {classes[d.track]}" if classes and d.track in classes else "")
        cv2.putText(out, caption, (d.x, max(12, d.y - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 220, 0), 1, cv2.LINE_AA)
    return out



def merged_by_input(new: pd.DataFrame, path: Path, inputs: list[str], key: str = "img") -> pd.DataFrame:
    """`new` beside the rows an earlier run wrote to `path` for other inputs: a second run into the same folder
    adds its inputs' rows and replaces those of the inputs it ran again, never half of the folder's table."""
    if not path.is_file():
        return new
    try:
        old = pd.read_csv(path, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
        log.warning("%s could not be read; it is replaced by this run's rows", path)
        return new
    if key not in old.columns:
        return new
    old = old[~old[key].astype(str).isin(set(inputs))]
    return pd.concat([old, new], ignore_index=True) if len(old) else new


def write_table(table: pd.DataFrame, out: Path, inputs: list[str] | None = None) -> pd.DataFrame:
    """detections.csv and .json in `out`, merged by input with what an earlier run wrote there."""
    if inputs is not None:
        table = merged_by_input(table, out / "detections.csv", inputs)
    write_csv(table, out / "detections.csv")
    with atomic_path(out / "detections.json") as tmp:
        tmp.write_text(json.dumps(table.to_dict(orient="records"), ensure_ascii=False, indent=1, default=str))
    return table
