"""Which engine reads Korean and mixed Korean/English signs: measured on signs rendered offline (NanumGothic, from
Debian's fonts-nanum) over real photos, and timed on opencv-doc's page of English text (imageTextN.png).

    .venv/bin/python benchmarks/text_engines.py [--repeat 1]

For each sign: the characters read right (1 - character error rate of the best-matching detection, spaces
ignored) and whether it was found at all (CER under 0.3). Engines, all reading with Tesseract `kor+eng`:

    lines      PP-OCR's detector finds each line; each line, binarised, goes to Tesseract alone (psm 7)
    stacked    the same lines, grey and dark-on-light, stacked into one image that Tesseract reads once (psm 6)
    page       Tesseract on the whole picture (psm 11, sparse text), lines grouped as it reports them
    rapidocr   PP-OCR's own recogniser (Chinese and English; no Korean): the English default, for comparison
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np
import skimage.data
from PIL import Image, ImageDraw, ImageFont

from tamgu.detection.text import text_detector

FONT = "/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf"
PAGE = Path("/usr/share/doc/opencv-doc/examples/data/imageTextN.png")
# (text, text colour, plate colour, text height px)
SIGNS = [
    ("비상구 EXIT 3", (255, 255, 255), (20, 140, 60), 48),
    ("출입 금지 구역", (255, 255, 255), (20, 60, 170), 44),
    ("소화기", (20, 20, 20), (245, 245, 245), 40),
    ("관계자 외 출입금지", (200, 20, 20), (250, 250, 250), 36),
    ("주차 금지 NO PARKING", (250, 250, 250), (180, 30, 30), 32),
    ("제2 격납고 HANGAR 2", (20, 20, 20), (250, 210, 40), 40),
    ("안전모 착용", (255, 255, 255), (30, 30, 30), 56),
    ("화물 검사소", (20, 20, 20), (200, 200, 200), 28),
]


def render(text: str, fg, bg, size: int, photo: np.ndarray, seed: int) -> np.ndarray:
    """The sign on a plate, pasted on a 640x480 crop of a real photo (BGR)."""
    rng = np.random.default_rng(seed)
    font = ImageFont.truetype(FONT, size)
    w = int(font.getlength(text)) + size
    plate = Image.new("RGB", (w, int(size * 1.8)), bg)
    ImageDraw.Draw(plate).text((size // 2, int(size * 0.35)), text, font=font, fill=fg)
    canvas = cv2.resize(photo, (640, 480))[..., ::-1].copy()
    x = int(rng.integers(0, max(1, 640 - w)))
    y = int(rng.integers(0, 480 - plate.height))
    canvas[y:y + plate.height, x:x + w] = np.asarray(plate)[:, :min(w, 640 - x)][..., ::-1]
    return canvas


def judge_signs() -> list[tuple[str, np.ndarray]]:
    """The signs the engines are judged on: each over one of four real photos, at its own place."""
    photos = [skimage.data.coffee(), skimage.data.chelsea(), skimage.data.astronaut(), skimage.data.rocket()]
    return [(t, render(t, fg, bg, s, photos[i % len(photos)], i)) for i, (t, fg, bg, s) in enumerate(SIGNS)]


def tuning_signs() -> list[tuple[str, np.ndarray]]:
    """Other places and photos for choosing settings (never the judge's): 8 signs x 4 photos x 2 seeds."""
    photos = [skimage.data.coffee(), skimage.data.chelsea(), skimage.data.astronaut(), skimage.data.rocket()]
    return [(t, render(t, fg, bg, s, photos[ph], seed * 10 + k)) for seed in (1, 7)
            for k, (t, fg, bg, s) in enumerate(SIGNS) for ph in range(4)]


def cer(found: str, truth: str) -> float:
    a, b = found.replace(" ", ""), truth.replace(" ", "")
    d = np.arange(len(b) + 1)
    for i, ca in enumerate(a, 1):
        prev, d[0] = d[0], i
        for j, cb in enumerate(b, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (ca != cb))
    return d[len(b)] / max(1, len(b))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engines", default="lines,stacked,page,rapidocr")
    ap.add_argument("--tune", action="store_true", help="the grid of stacked-line heights, on the tuning signs")
    a = ap.parse_args()
    if a.tune:
        tune()
        return
    images = judge_signs()
    page = cv2.imread(str(PAGE)) if PAGE.is_file() else None
    print("| engine | characters right | signs found | s per sign | s on imageTextN.png |")
    print("|---|---:|---:|---:|---:|")
    for name in a.engines.split(","):
        engine, style = ("rapidocr", None) if name == "rapidocr" else ("tesseract", name)
        detect = text_detector(engine, "ko" if engine == "tesseract" else "en", min_score=0.0, style=style)
        detect(images[0][1])  # warm up (model loading is not timed)
        scores, found, t0 = [], 0, time.perf_counter()
        for truth, img in images:
            dets = detect(img)
            best = min((cer(d.text, truth) for d in dets), default=1.0)
            scores.append(1 - min(1.0, best))
            found += best < 0.3
        per_sign = (time.perf_counter() - t0) / len(images)
        page_s = float("nan")
        if page is not None:
            t0 = time.perf_counter()
            detect(page)
            page_s = time.perf_counter() - t0
        print(f"| {name} | {np.mean(scores):.2f} | {found}/{len(images)} | {per_sign:.2f} | {page_s:.1f} |", flush=True)


def tune() -> None:
    """Characters right and signs read exactly, per height the stacked lines are read at (tuning signs only)."""
    import tamgu.detection.text as tx

    cases = tuning_signs()
    print("| heights | characters right | read exactly |\n|---|---:|---:|")
    for heights in ((40,), (48,), (64,), (80,), (96,), (128,), (48, 96)):
        tx.STRIP_HEIGHTS = heights
        detect = tx.text_detector("tesseract", "ko", min_score=0.0)
        best = [min((cer(d.text, truth) for d in detect(img)), default=1.0) for truth, img in cases]
        print(f"| {','.join(map(str, heights))} | {np.mean([1 - min(1, b) for b in best]):.3f} | "
              f"{sum(b == 0 for b in best)}/{len(cases)} |", flush=True)


if __name__ == "__main__":
    main()
