"""Night shots from RAW bursts, measured: every way to one image at three light levels, and a 12-megapixel burst.

Run by hand, not in CI, on an otherwise idle machine:

    .venv/bin/python benchmarks/raw_burst.py                # trains both denoisers (defaults), judges, 12 MP
    .venv/bin/python benchmarks/raw_burst.py --no-train     # the merges and filters only
    .venv/bin/python benchmarks/raw_burst.py --size 256     # a quick look on crops

Judged on Debian opencv-doc's photos (fruits, baboon, building, butterfly, home: `make test-assets`), which no
tamgu model trains on; the denoisers train on scikit-image's photos. Prints PSNR/SSIM per light and method
(mean over the photos), the training times, and the 12 MP burst's time and peak memory, on this processor.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import tamgu
from tamgu.runtime import processor

MP12 = (4000, 3000)


def _twelve_megapixels(work: Path) -> dict:
    """A 12 MP burst of 8 DNGs (a photo scaled up), merged by `tamgu denoise --method burst` in a process of its
    own: its wall time and peak resident memory."""
    import cv2

    from tamgu.denoising import unprocess as sim

    photo = next(iter(sim.photos([sim.JUDGE_PHOTOS[0]]).values()))
    big = cv2.resize(photo, MP12, interpolation=cv2.INTER_CUBIC)
    burst = sim.simulate_burst(big, 8, 1 / 32, 1.5, seed=0, name="big")
    sim.write_burst(burst, work / "big")
    del burst, big
    code = ("import resource, time, tamgu, json; t = time.perf_counter(); "
            f"tamgu.denoise({str(work / 'big')!r}, {str(work / 'big_out')!r}, method='burst'); "
            "print(json.dumps({'seconds': time.perf_counter() - t, "
            "'peak_gib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=0, help="crop each judge photo to this many pixels a side (0 = whole)")
    ap.add_argument("--no-train", action="store_true", help="skip the two denoisers")
    ap.add_argument("--no-12mp", action="store_true", help="skip the 12-megapixel burst")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--raw-model", help="judge this RAW denoiser instead of training one")
    ap.add_argument("--srgb-model", help="judge this developed-frame denoiser instead of training one")
    ap.add_argument("--keep", help="keep the models and pictures here")
    args = ap.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="tamgu-raw-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        models, trained = {}, {}
        given = {k: Path(v) for k, v in (("raw", args.raw_model), ("srgb", args.srgb_model)) if v}
        models.update(given)
        if not args.no_train:
            for space in [s for s in ("raw", "srgb") if s not in given]:
                t0 = time.perf_counter()
                extra = {"epochs": args.epochs} if args.epochs else {}
                res = tamgu.train_denoiser(work / f"{space}.pt", space=space, progress=False, **extra)
                trained[space] = (time.perf_counter() - t0, res["epochs"])
                models[space] = work / f"{space}.pt"
        t0 = time.perf_counter()
        table = tamgu.evaluate_bursts(work / "eval", size=args.size, raw_model=models.get("raw"),
                                      srgb_model=models.get("srgb"))
        judged = time.perf_counter() - t0
        print(f"processor: {processor()}, {__import__('os').cpu_count()} cores\n")
        means = table.groupby(["method", "light"], sort=False)[["psnr", "ssim"]].mean().unstack("light")
        print("PSNR (dB) / SSIM in sRGB, mean over", table["image"].nunique(), "photos no model trained on:\n")
        lights = list(dict.fromkeys(table["light"]))
        print("| method | " + " | ".join(lights) + " |")
        print("|---|" + "---|" * len(lights))
        for method, row in means.iterrows():
            print(f"| {method} | " + " | ".join(f"{row[('psnr', lv)]:.2f} / {row[('ssim', lv)]:.3f}" for lv in lights)
                  + " |")
        one = table[table["method"] == "one frame"].groupby("light", sort=False)["clipped_black"].mean()
        print("\nshare of one developed frame clipped at black:", {k: f"{v:.1%}" for k, v in one.items()})
        best = table[table["method"] == "best filter"].groupby("light")["filter"].agg(lambda s: s.value_counts().index[0])
        print("\nbest per-frame filter, most often:", dict(best))
        for lv in lights:
            m = table[table["light"] == lv].groupby("method")["psnr"].mean()
            print(f"{lv}: RAW merge - best filter {m['merge, RAW'] - m['best filter']:+.2f} dB, "
                  f"RAW merge - sRGB merge {m['merge, RAW'] - m['merge, sRGB']:+.2f} dB, "
                  f"RAW mean - sRGB mean {m['mean, RAW'] - m['mean, sRGB']:+.2f} dB"
                  + (f", RAW N2N one frame - N2N on developed {m['RAW N2N, one frame'] - m['N2N on developed frame']:+.2f} dB"
                     if "N2N on developed frame" in m and "RAW N2N, one frame" in m else ""))
        for space, (sec, epochs) in trained.items():
            print(f"training the {space} denoiser: {sec:.0f} s ({epochs} epochs)")
        print(f"judging: {judged:.0f} s")
        if not args.no_12mp:
            big = _twelve_megapixels(work)
            print(f"12 MP burst of 8 DNGs merged in RAW and developed: {big['seconds']:.1f} s, "
                  f"peak {big['peak_gib']:.2f} GiB resident")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
