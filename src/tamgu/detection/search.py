"""Where a template image appears in photos and video: multi-scale (optionally rotated) template matching with
non-maximum suppression, or SIFT features and a homography (any angle, in perspective)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator, Literal, Sequence

import cv2
import numpy as np
import pandas as pd

from ..errors import InputError, MissingInput, check_range
from ..video.stream import frame_options, options_doc
from .core import Detection, Detector, nms, tagged
from .runner import run_detector


def template_finder(template: np.ndarray | str | Path, threshold: float = 0.8,
                    scales: Sequence[float] = tuple(np.geomspace(0.5, 2.0, 13)), angles: Sequence[float] = (0,),
                    label: str = "template", max_matches: int = 100) -> Detector:
    """Every place where `template` appears at any of `scales` (and `angles`), best first, overlaps removed."""
    if not isinstance(template, np.ndarray):
        tpl = cv2.imread(str(template))
        if tpl is None:
            raise MissingInput(f"template {template} is not a readable image")
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
            raise MissingInput(f"template {template} is not a readable image")
        template = tpl
    sift = cv2.SIFT_create()
    tgray = cv2.cvtColor(template, cv2.COLOR_BGR2GRAY) if template.ndim == 3 else template
    tk, td = sift.detectAndCompute(tgray, None)
    if td is None or len(tk) < min_inliers:
        raise InputError(f"the template has too little texture to match by features ({len(tk)} key points): use "
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



def find(template: str | Path, inputs, out: str | Path | None = None,
         method: Literal["template", "features"] = "template", threshold: float = 0.8, min_scale: float = 0.5,
         max_scale: float = 2.0, scales: int = 13, angles: Sequence[float] = (0,), min_inliers: int = 12,
         **options) -> pd.DataFrame:
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
    from ..runtime import set_threads

    opts = frame_options(options, "find", "detect")
    check_range("threshold", threshold, 0, 1, what="a normalised correlation")
    check_range("min_scale", min_scale, 0.01, what="a scale")
    check_range("scales", scales, 1, what="a number of scales")
    check_range("min_inliers", min_inliers, 4, what="a number of matched points (a homography needs 4)")
    if max_scale < min_scale:
        raise InputError(f"--max-scale {max_scale} is below --min-scale {min_scale}: give min <= max.")
    set_threads(opts.threads)
    if method == "features":
        finder = feature_finder(template, min_inliers)
    else:
        finder = template_finder(template, threshold, tuple(np.geomspace(min_scale, max_scale, scales)), tuple(angles))
    return run_detector(tagged(finder, method), inputs, out, opts=opts)


find.__doc__ += options_doc("detect")
