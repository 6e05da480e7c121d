"""Milliseconds per image for each detector, on real images that ship in packages.

    .venv/bin/python benchmarks/detectors.py [--repeat 5]

All detectors run in one process on the same images; each is warmed up once (model loading is not
timed) and the median of --repeat runs is reported.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import cv2
import matplotlib.cbook
import numpy as np
import skimage.data

from tamgu.detection.faces import face_detector
from tamgu.detection.objects import people_detector
from tamgu.detection.search import template_finder
from tamgu.detection.text import tesseract_available, text_detector
from tamgu.segmentation.background import grabcut_person

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")


def images() -> dict[str, np.ndarray]:
    coffee = cv2.cvtColor(skimage.data.coffee(), cv2.COLOR_RGB2BGR)
    cv2.putText(coffee, "TAMGU 2026", (60, 120), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (255, 255, 255), 5, cv2.LINE_AA)
    out = {"astronaut 512x512": cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR),
           "grace_hopper 512x600": cv2.imread(str(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))),
           "coffee+text 600x400": coffee}
    if VTEST.exists():
        cap = cv2.VideoCapture(str(VTEST))
        cap.set(cv2.CAP_PROP_POS_FRAMES, 300)
        out["vtest frame 768x576"] = cap.read()[1]
    return out


def timed(fn, img, repeat: int) -> float:
    fn(img)  # warm-up: model loading and first-call costs are not what we measure
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(img)
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs) * 1000


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeat", type=int, default=5)
    a = p.parse_args()
    imgs = images()
    crop = imgs["astronaut 512x512"][180:260, 300:380]
    mog = cv2.createBackgroundSubtractorMOG2(history=200, detectShadows=True)
    detectors = {
        "faces: Haar": (face_detector("haar"), ["astronaut 512x512", "grace_hopper 512x600"]),
        "faces: MTCNN": (face_detector("mtcnn"), ["astronaut 512x512", "grace_hopper 512x600"]),
        "text: RapidOCR (PP-OCR det+rec)": (text_detector("rapidocr"), ["coffee+text 600x400"]),
        "find: template, 13 scales": (template_finder(crop), ["coffee+text 600x400"]),
        "people: HOG": (people_detector(), ["vtest frame 768x576"]),
        "background: MOG2 (per frame)": (lambda im: mog.apply(im), ["vtest frame 768x576"]),
        "background: GrabCut portrait": (grabcut_person, ["astronaut 512x512"]),
    }
    if tesseract_available("kor"):
        detectors["text: PP-OCR det + Tesseract kor"] = (text_detector("tesseract", "ko"), ["coffee+text 600x400"])
    print(f"\nmedian of {a.repeat} runs, after one warm-up\n")
    print("| detector | image | ms per image |")
    print("|---|---|---:|")
    for name, (fn, names) in detectors.items():
        for n in names:
            if n in imgs:
                print(f"| {name} | {n} | {timed(fn, imgs[n], a.repeat):.0f} |")


if __name__ == "__main__":
    main()
