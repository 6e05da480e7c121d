"""Judging night shots: every way from a simulated low-light burst to one image, side by side.

    tamgu denoise eval-raw --out eval/ --lights 1/8,1/32,1/128

Bursts are simulated (`unprocess`) from photos no tamgu model trains on; each result is compared in sRGB with
the clean capture developed the same way (PSNR, SSIM).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..files import write_csv
from .noise import psnr, ssim
from .raw import develop

from .night import BURST_FRAMES


def evaluate_bursts(out: str | Path | None = None, photos: Sequence[str] | None = None,
                    lights: Sequence[str] = ("1/8", "1/32", "1/128"), frames: int = BURST_FRAMES, shake: float = 1.5,
                    moving: bool = False, size: int = 0, raw_model: str | Path | None = None,
                    srgb_model: str | Path | None = None, seed: int = 0) -> pd.DataFrame:
    """Every way to a night shot, judged in sRGB (PSNR, SSIM) against the clean capture developed the same way,
    on simulated bursts of photos no tamgu model trains on: one frame developed, the best per-frame filter on
    it, the plain means (RAW, sRGB), the robust merge with its spatial pass in sRGB and in RAW, and the denoisers.

    Args:
        out: folder for eval.csv and a side-by-side picture per light
        photos: photo files or scikit-image names (default: Debian opencv-doc's fruits, baboon, building,
            butterfly, home)
        lights: fractions of a normal exposure
        frames: captures per burst
        shake: the hand's movement between captures (pixels)
        moving: something crosses the scene
        size: crop each photo's centre to this many pixels a side (0 = whole)
        raw_model: a RAW denoiser (`denoise train --space raw`), judged on one frame and on the merge
        srgb_model: Noise2Noise trained on developed frames (`denoise train --space srgb`), on one frame
    """
    from . import burst as B
    from . import unprocess as sim
    from .night import _jpeg, night
    from .filters import denoise_image
    from .unet import load_denoiser
    from .rawnet import apply_net, denoise_planes

    pics = sim.photos(photos or sim.JUDGE_PHOTOS)
    nets = {k: load_denoiser(v) for k, v in (("raw", raw_model), ("srgb", srgb_model)) if v}
    rows, shown = [], {}
    for light in lights:
        lv = sim.parse_light(light)
        for i, (name, img) in enumerate(pics.items()):
            if size:
                y, x = max(0, (img.shape[0] - size) // 2), max(0, (img.shape[1] - size) // 2)
                img = img[y:y + size, x:x + size]
            b = sim.simulate_burst(img, frames, lv, shake, moving, seed + i, name)
            dev = [_jpeg(develop(f, b.meta)) for f in b.frames]
            results: dict[str, np.ndarray] = {"one frame": dev[0]}
            best = None
            for method in ("nlm", "bilateral", "gaussian", "median", "tv", "wavelet"):
                t0 = time.perf_counter()
                cand = denoise_image(dev[0], method)
                score = psnr(b.truth, cand)
                if best is None or score > best[0]:
                    best = (score, method, cand, time.perf_counter() - t0)
            results["best filter"] = best[2]
            results["mean, sRGB"] = np.clip(B.merge(dev, robust=False).image, 0, 1)
            results["mean, RAW"] = develop(B.merge(b.frames, robust=False).image, b.meta)
            results["merge, sRGB"] = night(b.frames, b.meta, "srgb")["image"]
            results["merge, RAW"] = night(b.frames, b.meta, "raw")["image"]
            if "srgb" in nets:
                results["N2N on developed frame"] = np.clip(apply_net(nets["srgb"], dev[0]), 0, 1)
            if "raw" in nets:
                results["RAW N2N, one frame"] = develop(denoise_planes(nets["raw"], b.frames[0], b.meta.noise,
                                                                       b.meta.gain), b.meta)
                results["RAW N2N, merged"] = night(b.frames, b.meta, "raw", nets["raw"])["image"]
            for method, image in results.items():
                rows.append({"light": light, "image": name, "method": method, "psnr": psnr(b.truth, image),
                             "ssim": ssim(b.truth, image), "filter": best[1] if method == "best filter" else "",
                             "clipped_black": float((image <= 0).mean())})
            if i == 0:
                shown[light] = {"truth": b.truth, **results}
    table = pd.DataFrame(rows)
    if out:
        out = Path(out)
        write_csv(table, out / "eval.csv")
        from .filters import side_by_side

        for light, images in shown.items():
            side_by_side({light: images}, out / f"night_{light.replace('/', '-')}.png",
                         f"{frames} frames at {light} of the light")
    return table
