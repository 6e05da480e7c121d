"""How long `tamgu eda DATA --out eda.html` takes per image at the real data's size (640x480 JPEGs), to
tell whether the page is feasible on the real 22,424 + 79,726 images.

Run by hand, not in CI:

    .venv/bin/python benchmarks/eda_scan.py --images 2000

Generates State Farm-shaped images at 640x480, then times the one streaming pass the page makes over every
file (header, reduced decode, perceptual hash, thumbnail), the near-duplicate grouping, and the whole page.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from tamgu.pipeline.data import load_dataset
from tamgu.pipeline.synthetic import synth
from tamgu.reports.eda_page import eda_page, near_duplicates, scan

REAL = 22_424 + 79_726


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=2000, help="training images to generate (test: a quarter)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        drivers = 20
        per_class = max(1, a.images // (drivers * 10))
        data = synth(Path(tmp) / "data", drivers=drivers, per_class=per_class, test=a.images // 4, test_drivers=4,
                     image_size="640x480", seed=0)
        ds = load_dataset(data)
        refs = ds.train["path"].tolist() + ds.test["path"].tolist()
        t0 = time.perf_counter()
        files = scan(refs, progress=False)
        t_scan = time.perf_counter() - t0
        t0 = time.perf_counter()
        near_duplicates(files["phash"])
        t_dup = time.perf_counter() - t0
        t0 = time.perf_counter()
        eda_page(data, Path(tmp) / "eda.html", progress=False)
        t_page = time.perf_counter() - t0
    n = len(refs)
    print(f"{n} images of 640x480: scan {t_scan:.1f} s ({n / t_scan:.0f} images/s), near-duplicates {t_dup:.2f} s, "
          f"whole page {t_page:.1f} s")
    print(f"at that rate the real {REAL:,} images take about {REAL / (n / t_page) / 60:.0f} min for the whole page "
          f"(scan alone {REAL / (n / t_scan) / 60:.0f} min)")


if __name__ == "__main__":
    main()
