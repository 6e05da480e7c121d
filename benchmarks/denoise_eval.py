"""Every denoiser at sigma 15, 25 and 50 on scikit-image photos never used in training.

    .venv/bin/python benchmarks/denoise_eval.py --n2n n2n.pt --n2c n2c.pt
    # models from: tamgu denoise train --out n2n.pt; tamgu denoise train --out n2c.pt --target clean --clip-grad 1

Prints mean PSNR / SSIM / seconds per megapixel per method and sigma, and the camera-only row at sigma 25
that the anchors quote (noisy 20.6 dB, OpenCV NLM 28.5 dB, BM3D 29.9 dB).
"""

from __future__ import annotations

import argparse

import pandas as pd

from tamgu.denoising.filters import evaluate_denoisers


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n2n", help="Noise2Noise model (.pt)")
    p.add_argument("--n2c", help="Noise2Clean model (.pt): same network, clean targets")
    p.add_argument("--sigmas", default="15,25,50")
    p.add_argument("--out", help="folder for the per-sigma tables and pictures")
    a = p.parse_args()
    models = {k: v for k, v in (("n2n", a.n2n), ("n2c", a.n2c)) if v}
    tables = []
    for s in a.sigmas.split(","):
        t = evaluate_denoisers(noise=f"gaussian:{s}", model=models, out=f"{a.out}/sigma{s}" if a.out else None, progress=False)
        tables.append(t.assign(sigma=int(s)))
    t = pd.concat(tables)
    mean = t.groupby(["method", "sigma"], sort=False)[["psnr", "ssim", "sec_per_mp"]].mean().unstack("sigma")
    print("\nmean over", ", ".join(t["image"].unique()), "\n")
    print("| method | " + " | ".join(f"PSNR σ{s}" for s in a.sigmas.split(",")) + " | " +
          " | ".join(f"SSIM σ{s}" for s in a.sigmas.split(",")) + " | s per MP |")
    print("|---|" + "---:|" * (2 * len(a.sigmas.split(",")) + 1))
    for m, row in mean.iterrows():
        ps = " | ".join(f"{row[('psnr', int(s))]:.2f}" for s in a.sigmas.split(","))
        ss = " | ".join(f"{row[('ssim', int(s))]:.3f}" for s in a.sigmas.split(","))
        print(f"| {m} | {ps} | {ss} | {row['sec_per_mp'].mean():.2f} |")
    cam = t[(t["image"] == "camera") & (t["sigma"] == 25)]
    print("\ncamera, sigma 25:\n")
    print("| method | PSNR | SSIM | seconds |")
    print("|---|---:|---:|---:|")
    for r in cam.itertuples():
        print(f"| {r.method} | {r.psnr:.2f} | {r.ssim:.3f} | {r.sec_per_mp * 0.262144:.2f} |")


if __name__ == "__main__":
    main()
