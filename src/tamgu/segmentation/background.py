"""Foreground and background: keep the person (MediaPipe's selfie segmentation, refined at full resolution)
or what moves (MOG2/KNN background subtraction), GrabCut as the classical baseline; masks, cut-outs, a
replaced background, and a video of the result. Each foreground blob is a `foreground` row of detections.csv.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import pandas as pd

from ..detection.core import COLUMNS, Detection, write_table
from ..detection.faces import face_detector
from ..errors import InputError, check_range
from ..video.stream import Media, Output, frame_file, frame_options, media_inputs, options_doc, read_photo, run_tool
from ..defaults import THREADS

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

    def __init__(self, threads: int | None = THREADS, temporal: float = 0.3):
        from ..detection.models import TFLite, model_path

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
        raise InputError(f"--replace {replace!r}: give blur, a colour (green, #00b140, 0,177,64) or an image file")
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
               replace: str | None = None, history: int = 200, min_area: int = 200, **options) -> pd.DataFrame:
    """Separate foreground from background on photos, videos, cameras and streams; writes masks (PNG, 255 =
    foreground) and cut-outs (PNG with alpha) for photos, and for a video source an H.264 video of the result
    (`--frame-images` also writes each processed frame's mask and cut-out). Each foreground blob is a
    `foreground` detection in detections.csv; summary.json has fps and latency per input.

    Methods: `person` (MediaPipe's selfie segmentation, refined at full resolution, smoothed over time on
    video: people near the camera, as in a call or a portrait; the camera may move), `mog2`/`knn` (background
    subtraction: a still camera, anything that moves; the one for a far camera over a street, where the person
    model made one blob of a lamp post and a sign and missed 3 of 5 walkers on vtest.avi), `grabcut` (seeded by a
    found face; the classical baseline). `auto` is `person`.

    Args:
        inputs: photos, folders, videos, a camera (0, /dev/video0) or a stream URL
        method: auto (person), person (people near the camera), mog2 or knn (a still camera, far ones too) or grabcut
        replace: what goes behind the person: blur, a colour (green, #00b140) or an image file
        history: mog2/knn: frames the background model remembers
        min_area: smallest foreground blob, pixels
    """
    from ..runtime import set_threads

    opts = frame_options(options, "background", "detect")
    check_range("history", history, 1, what="a number of frames")
    check_range("min_area", min_area, 0, what="an area in pixels")
    parse_replace(replace, (2, 2))  # a --replace that cannot be used is refused before any input opens
    threads, frame_step, frame_images = opts.threads, opts.frame_step, opts.frame_images
    set_threads(threads)
    method = "person" if method == "auto" else method
    items = media_inputs(inputs)
    if method in ("mog2", "knn") and not any(i.is_video for i in items):
        raise InputError(f"--method {method} learns the background of a video from a still camera; for photos use "
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
                raise InputError(f"--method {method} works on videos; photos use person or grabcut")
            mask = grabcut_person(img)
        else:
            mask = _clean_mask(state["sub"].apply(img))  # every frame teaches the model; every Nth is kept
            if fr.index % frame_step:
                return Output(analysed=False)
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

    step = 1 if method in ("mog2", "knn") else frame_step  # the background model learns from every frame
    def done(state) -> pd.DataFrame:
        table = write_table(pd.DataFrame(state.rows, columns=COLUMNS), out, [i.name for i in items])
        table.attrs.update(errors=state.errors, files=len(items), summaries=state.summaries,
                           interrupted=state.interrupted)
        return table

    return run_tool(items, tool, out, f"background ({method})", opts, done, video_name="{stem}_background.mp4",
                    step=step)


background.__doc__ += options_doc("detect")
