"""Real time as a number: each image tool on a 640x480 clip, whole process (decode, tool, annotated H.264 out),
frames per second and latency per frame, beside the method it replaces, with its quality figure.

Run by hand, not in CI, on an otherwise idle machine:

    .venv/bin/python benchmarks/realtime.py            # about 3 minutes on 2 cores

The clip: a slow pan (2 px a frame) across real photos that ship offline (scikit-image's astronaut, matplotlib's
Grace Hopper, scikit-image's coffee and cat), 640x480 at 30 fps, 150 frames. Quality figures:
- background: IoU against the masks outlined by hand (tests/reference/person_masks), on the two portraits;
- faces: found at the true face (centre inside the hand-given face box) on the two portraits, and messi5's
  small face (Debian opencv-doc);
- denoise: PSNR/SSIM on the same pan with Gaussian noise sigma 25 (the noisy clip is 20.9 dB).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

import cv2
import matplotlib.cbook
import numpy as np
import skimage.data

import tamgu
from tamgu.denoising.noise import psnr, ssim
from tamgu.denoising.temporal import pan
from tamgu.video.writer import VideoOut
from tamgu.runtime import processor

ROOT = Path(__file__).resolve().parent.parent
MASKS = ROOT / "tests" / "reference" / "person_masks"
FACES = {"astronaut": (170, 50, 280, 180), "grace_hopper": (160, 100, 370, 360)}
MESSI = Path("/usr/share/doc/opencv-doc/examples/data/messi5.jpg")


def photos(folder: Path) -> dict[str, Path]:
    out = {"astronaut": folder / "astronaut.png", "grace_hopper": folder / "grace_hopper.png"}
    cv2.imwrite(str(out["astronaut"]), cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(out["grace_hopper"]), cv2.imread(str(matplotlib.cbook.get_sample_data("grace_hopper.jpg",
                                                                                            asfileobj=False))))
    return out


def clip(folder: Path, noisy: bool = False, n: int = 150) -> tuple[Path, list[np.ndarray]]:
    imgs = [skimage.data.astronaut(), cv2.cvtColor(cv2.imread(str(folder / "grace_hopper.png")), cv2.COLOR_BGR2RGB),
            skimage.data.coffee(), skimage.data.chelsea()]
    frames = pan(imgs, (640, 480), n, 2)
    rng = np.random.default_rng(0)
    path = folder / ("noisy.mp4" if noisy else "clean.mp4")
    writer = VideoOut(path, 30, crf=0 if noisy else 23)  # lossless: H.264 at crf 23 would remove noise itself
    written = []
    for f in frames:
        g = np.clip(f + rng.normal(0, 25, f.shape), 0, 255).astype(np.uint8) if noisy else f
        writer.write(g)
        written.append(g)
    writer.close()
    return path, frames


def speed(summary: dict) -> tuple[float, float]:
    s = summary["inputs"][0] if "inputs" in summary else summary
    return s["achieved_fps"], s["latency_ms"]["mean"]


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--frames", type=int, default=150, help="frames in the clip (fewer: a quick smoke run)")
    ap.add_argument("--tools", nargs="+", default=["background", "people", "faces", "denoise"],
                    help="which groups of rows to measure")
    ap.add_argument("--n2n-epochs", type=int, default=6, help="epochs of the Noise2Noise U-Net trained for the table (0: no n2n row)")
    a = ap.parse_args()
    print(f"{processor()}, {os.cpu_count()} cores; 640x480, {a.frames} frames", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        pics = photos(tmp)
        video, _ = clip(tmp, n=a.frames)
        # background
        for method in ("person", "grabcut", "mog2") if "background" in a.tools else ():
            out = tmp / f"bg_{method}"
            # GrabCut takes seconds a frame: its speed from the first half second of the clip
            tamgu.background(video, out, method=method, progress=False, seconds=0.5 if method == "grabcut" else None)
            fps, lat = speed(json.loads((out / "summary.json").read_text()))
            quality = "–"
            if method != "mog2":
                tamgu.background(list(pics.values()), tmp / f"bgp_{method}", method=method, progress=False)
                ious = [iou(cv2.imread(str(tmp / f"bgp_{method}" / f"{n}_mask.png"), 0) > 0,
                            cv2.imread(str(MASKS / f"{n}.png"), 0) > 0) for n in pics]
                quality = "IoU " + " / ".join(f"{v:.2f}" for v in ious)
            rows.append(("background", method, fps, lat, quality))
            print(rows[-1], flush=True)
        # people and objects
        for tool, method in (("people", "ssdlite"), ("people", "ssd"), ("people", "hog"), ("objects", "ssd")):
            if "people" not in a.tools:
                continue
            out = tmp / f"{tool}_{method}"
            if tool == "people":
                tamgu.detect_people(video, out, method=method, progress=False)
                t = tamgu.detect_people(list(pics.values()), method=method, progress=False)
            else:
                tamgu.detect_objects(video, out, progress=False)
                t = tamgu.detect_objects(list(pics.values()), classes=["person"], progress=False)
            fps, lat = speed(json.loads((out / "summary.json").read_text()))
            found = t.groupby("img").size().reindex([f"{n}.png" for n in pics], fill_value=0)
            rows.append((tool, method, fps, lat, f"person found in {int((found > 0).sum())}/2 portraits, "
                                                 f"{int((found - 1).clip(lower=0).sum())} extra box(es)"))
            print(rows[-1], flush=True)
        # faces
        for method, extra in (("blazeface", {"range": "full"}), ("blazeface", {"range": "short"}), ("haar", {}),
                              ("mtcnn", {})) if "faces" in a.tools else ():
            out = tmp / f"faces_{method}_{extra.get('range', '')}"
            tamgu.detect_faces(video, out, method=method, progress=False, seconds=2 if method == "mtcnn" else None,
                               **extra)
            fps, lat = speed(json.loads((out / "summary.json").read_text()))
            t = tamgu.detect_faces(list(pics.values()) + ([MESSI] if MESSI.exists() else []), method=method,
                                   progress=False, **extra)
            found = 0
            for n, (x0, y0, x1, y1) in FACES.items():
                r = t[t["img"] == f"{n}.png"]
                cx, cy = r["x"] + r["w"] / 2, r["y"] + r["h"] / 2
                found += int(((cx > x0) & (cx < x1) & (cy > y0) & (cy < y1)).any())
            wrong = int(len(t[t["img"] != "messi5.jpg"]) - found)
            messi = int((t["img"] == "messi5.jpg").sum()) if MESSI.exists() else None
            quality = f"{found}/2 portraits, {wrong} false" + (f", messi5: {messi} box(es) (1 face)" if messi is not None else "")
            rows.append(("faces", method + (f" {extra['range']}" if extra else ""), fps, lat, quality))
            print(rows[-1], flush=True)
        # denoising
        if "denoise" not in a.tools:
            a.n2n_epochs = 0
        noisy, clean = clip(tmp, noisy=True, n=a.frames) if "denoise" in a.tools else (None, None)
        # a Noise2Noise U-Net trained here on noisy photos only (a few minutes), run frame by frame
        n2n = tmp / "n2n.pt"
        if "denoise" in a.tools and a.n2n_epochs > 0:
            tamgu.train_denoiser(n2n, noise="gaussian:5-50", epochs=a.n2n_epochs, steps=100, progress=False)
        methods = ("temporal", "gaussian", "median", "bilateral", "nlm") + (("n2n",) if a.n2n_epochs > 0 else ())
        for method in methods if "denoise" in a.tools else ():
            out = tmp / f"dn_{method}"
            # quality on the denoised frames themselves (PNG), not on the H.264 output, whose own compression at
            # crf 23 would be what is measured; fps and latency from a second run as a user runs it (the H.264
            # video written, no PNG per frame: encoding those cost 15-20% of the frame rate)
            kw = dict(method=method, model=n2n if method == "n2n" else None, progress=False,
                      seconds=None if method not in ("nlm", "n2n") else 2)
            tamgu.denoise(noisy, out, frame_images=True, **kw)
            table = tamgu.denoise(noisy, tmp / f"speed_{method}", **kw)
            fps, lat = float(table.loc[0, "fps"]), float(table.loc[0, "latency_ms"])
            frames = [cv2.imread(str(p))[..., ::-1] for p in sorted((out / "noisy").glob("noisy_f*.png"))]
            pairs = list(zip(clean[10:], frames[10:]))
            quality = (f"PSNR {np.mean([psnr(c, f) for c, f in pairs]):.2f} dB, "
                       f"SSIM {np.mean([ssim(c, f) for c, f in pairs[::10]]):.3f}")
            rows.append(("denoise sigma 25", method, fps, lat, quality))
            print(rows[-1], flush=True)
    print("\n| tool | method | fps | latency ms | quality |\n|---|---|---|---|---|")
    for tool, method, fps, lat, quality in rows:
        print(f"| {tool} | {method} | {fps:.1f} | {lat:.1f} | {quality} |")
    if a.json:
        a.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
