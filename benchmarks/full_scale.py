"""A full-size dress rehearsal: State Farm's exact counts and size, every step a user runs, timed and weighed.

Run by hand, not in CI (the full set takes about an hour and ~40 GB of disk on 2 CPU cores):

    .venv/bin/python benchmarks/full_scale.py --work /tmp/full --fractions 0.1 1.0

For each fraction it generates 22,424 x f training images (26 drivers, every driver in every class) and
79,726 x f test images (10 drivers seen only in test, with their labels beside: the private leaderboard) at
640x480, as a folder and as the Kaggle zip, then runs the tamgu commands a user runs, each as its own
process: check and the EDA page on the folder and on the zip, 5-fold training with a tiny model and
--limit-batches (`tamgu_probe`, which costs almost nothing: the data path, not the model, is
timed; every fold predicts its validation images and all test images, which fills the decode cache for both sets), 5-fold predict, smooth (neighbours among all
test images), pseudo, the ensemble of the run and its smoothed copy, the report page, collect, and watch on a
generated 640x480 clip. Per step: wall time, peak memory of the whole process tree (summed PSS, sampled
every 0.5 s), and the disk it added. Then the growth from the smallest fraction to the largest, which
should be linear. Results are printed as a Markdown table for docs/benchmarks.md and saved as JSON.

Images come from the same renderer as `tamgu synth`, rendered once per driver, class and pose and
jittered per image (shift, brightness, JPEG), so that 102,150 images take minutes, not an hour; what
is timed is reading and feeding them, which does not depend on how they were drawn.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import psutil

from tamgu.pipeline.synthetic import KAGGLE_CLASSES, REAL_DRIVERS, _clip_jitters, make_driver, render
from tamgu.runtime import processor

TRAIN, TEST, DRIVERS, TEST_DRIVERS, SIZE = 22_424, 79_726, 26, 10, (640, 480)
POSES = 3  # renders per driver and class; every image is one of them, shifted and lit differently
TAMGU = [sys.executable, "-m", "tamgu.cli"]


def _bases(args: tuple[int, int]) -> tuple[int, list[np.ndarray]]:
    """POSES renders for every class of driver `d` (BGR for OpenCV)."""
    d, seed = args
    names = list(REAL_DRIVERS[:DRIVERS]) + [f"t{i:03d}" for i in range(TEST_DRIVERS)]
    driver = make_driver(names[d], np.random.default_rng([seed, d]))
    rng = np.random.default_rng([seed, d, 1])
    out = []
    for cls in KAGGLE_CLASSES:
        for jit in _clip_jitters(rng, POSES):
            out.append(cv2.cvtColor(render(driver, cls, SIZE, jit, rng), cv2.COLOR_RGB2BGR))
    return d, out


def _write(job: tuple[list[tuple[str, int, int]], list[np.ndarray], int]) -> int:
    """Write one driver's (path, driver, class) images: one of its renders shifted by up to 12 px and lit by up
    to +-20 levels."""
    rows, renders, seed = job
    rng = np.random.default_rng(seed)
    params = [cv2.IMWRITE_JPEG_QUALITY, 90]
    for path, d, c in rows:
        img = renders[c * POSES + int(rng.integers(POSES))]
        dx, dy = (int(v) for v in rng.integers(-12, 13, size=2))
        img = np.roll(img, (dy, dx), axis=(0, 1))
        img = cv2.convertScaleAbs(img, alpha=1.0, beta=float(rng.integers(-20, 21)))
        ok, buf = cv2.imencode(".jpg", img, params)
        Path(path).write_bytes(buf.tobytes())
    return len(rows)


def generate(out: Path, fraction: float, seed: int = 0, workers: int = 2) -> tuple[Path, Path]:
    """The folder `out/data` and the zip `out/state-farm-distracted-driver-detection.zip`."""
    data = out / "data"
    n_train, n_test = round(TRAIN * fraction), round(TEST * fraction)
    rng = np.random.default_rng(seed)
    cells = [(d, c) for d in range(DRIVERS) for c in range(10)]
    per_cell = np.full(len(cells), n_train // len(cells))
    per_cell[rng.choice(len(cells), n_train - per_cell.sum(), replace=False)] += 1
    ids = rng.permutation(np.arange(1, 2 * (n_train + n_test) + 1))[: n_train + n_test]
    train_rows, test_rows, truth = [], [], []
    k = 0
    for (d, c), n in zip(cells, per_cell):
        for _ in range(int(n)):
            name = f"img_{ids[k]}.jpg"
            k += 1
            train_rows.append((str(data / "imgs" / "train" / KAGGLE_CLASSES[c] / name), d, c))
    for _ in range(n_test):
        d, c = DRIVERS + int(rng.integers(TEST_DRIVERS)), int(rng.integers(10))
        name = f"img_{ids[k]}.jpg"
        k += 1
        test_rows.append((str(data / "imgs" / "test" / name), d, c))
        truth.append((name, f"t{d - DRIVERS:03d}", KAGGLE_CLASSES[c]))
    for cls in KAGGLE_CLASSES:
        (data / "imgs" / "train" / cls).mkdir(parents=True, exist_ok=True)
    (data / "imgs" / "test").mkdir(parents=True, exist_ok=True)
    by_driver: dict[int, list] = {}
    for row in train_rows + test_rows:
        by_driver.setdefault(row[1], []).append(row)
    with ProcessPoolExecutor(workers) as pool:  # a driver's renders travel once, with that driver's images
        bases = dict(pool.map(_bases, [(d, seed) for d in by_driver]))
        done = sum(pool.map(_write, [(rows, bases[d], seed * 100_003 + d) for d, rows in by_driver.items()]))
    assert done == n_train + n_test
    names = list(REAL_DRIVERS[:DRIVERS])
    pd.DataFrame([(names[d], KAGGLE_CLASSES[c], Path(p).name) for p, d, c in train_rows],
                 columns=["subject", "classname", "img"]).to_csv(data / "driver_imgs_list.csv", index=False)
    sample = pd.DataFrame({"img": [t[0] for t in truth]})
    for cls in KAGGLE_CLASSES:
        sample[cls] = 0.1
    sample.to_csv(data / "sample_submission.csv", index=False)
    pd.DataFrame(truth, columns=["img", "subject", "classname"]).to_csv(out / "data_test_labels.csv", index=False)
    archive = out / "state-farm-distracted-driver-detection.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as z:  # Kaggle's zip holds JPEGs: stored, as there
        for f in ("driver_imgs_list.csv", "sample_submission.csv"):
            z.write(data / f, f)
        for p, _, _ in train_rows + test_rows:
            z.write(p, str(Path(p).relative_to(data)))
    return data, archive


def disk(path: Path) -> int:
    if not path.exists():
        return 0
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def run_step(name: str, argv: list[str], env: dict, watch: list[Path]) -> dict:
    """One tamgu command in its own process: wall time, peak summed RSS of its process tree, disk it added."""
    before = sum(disk(p) for p in watch)
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    root = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            tree = [root] + root.children(recursive=True)
            # PSS: each process's private memory plus its share of pages shared with the others (torch's
            # libraries are mapped by every loader worker; RSS would count them once per process)
            peak = max(peak, sum(p.memory_full_info().pss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.5)
    out = proc.stdout.read()
    seconds = time.perf_counter() - t0
    row = {"step": name, "seconds": round(seconds, 1), "peak_gib": round(peak / 2**30, 2),
           "disk_gib": round((sum(disk(p) for p in watch) - before) / 2**30, 2), "exit": proc.returncode}
    print(f"  {name:<28} {row['seconds']:>8.1f} s  {row['peak_gib']:>6.2f} GiB PSS  "
          f"{row['disk_gib']:>6.2f} GiB disk  exit {proc.returncode}", flush=True)
    if proc.returncode != 0:
        print("\n".join(out.splitlines()[-15:]), flush=True)
    return row


def rehearse(work: Path, fraction: float, keep: bool, only: list[str] | None = None) -> dict:
    out = work / f"f{fraction:g}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    t0 = time.perf_counter()
    data, archive = generate(out, fraction)
    gen = {"step": "generate (folder + zip)", "seconds": round(time.perf_counter() - t0, 1), "peak_gib": None,
           "disk_gib": round((disk(data) + disk(archive)) / 2**30, 2), "exit": 0}
    print(f"fraction {fraction:g}: {round(TRAIN * fraction)} + {round(TEST * fraction)} images, "
          f"generated in {gen['seconds']} s", flush=True)
    cache = out / "cache"
    env = {**os.environ, "TAMGU_CACHE": str(cache)}
    runs = out / "runs"
    watch = [cache, runs, out / "pages", out / "pseudo"]
    tiny = ["--model", "tamgu_probe", "--weights", "none", "--image-size", "224", "--epochs", "1",
            "--limit-batches", "20", "--workers", "2", "--accelerator", "cpu"]
    clip = out / "clip.mp4"
    subprocess.run(TAMGU + ["synth", "clip", str(clip), "--size", "640x480"], env=env, check=True,
                   capture_output=True)
    steps = [
        ("check (folder)", ["check", str(data)]),
        ("check (zip)", ["check", str(archive)]),
        ("eda page (folder)", ["eda", str(data), "--out", str(out / "pages" / "eda.html")]),
        ("eda page (zip)", ["eda", str(archive), "--out", str(out / "pages" / "eda_zip.html")]),
        ("train 5 folds (+ cache)", ["train", str(data), "--out", str(runs / "a"), *tiny]),
        ("train fold 0 from the zip", ["train", str(archive), "--out", str(runs / "zip"), *tiny, "--fold", "0"]),
        ("predict 5 folds", ["predict", str(runs / "a"), "--out", str(runs / "a_predict.csv")]),
        ("smooth", ["smooth", str(runs / "a"), "--out", str(runs / "a_smooth"), "--accelerator", "cpu"]),
        ("pseudo", ["pseudo", str(runs / "a"), "--data", str(data), "--out", str(out / "pseudo"), "--threshold", "0.1",
                    "--min-classes", "0"]),  # the probe learns little: every image is "confident" at 0.1
        # a second run would repeat the first step's cost: the run and its smoothed copy are the two members
        ("ensemble of two runs", ["ensemble", str(runs / "a"), str(runs / "a_smooth"), "--out", str(runs / "ab")]),
        ("report page", ["report", str(runs / "a")]),
        ("collect", ["collect", str(runs / "a")]),
        ("watch a 640x480 clip", ["watch", str(runs / "a"), str(clip), "--out", str(runs / "watch")]),
    ]
    if only:  # a re-measurement of some steps (a step's inputs must be among them: pseudo needs the training)
        steps = [(name, argv) for name, argv in steps if any(o in name for o in only)]
    rows = [gen] + [run_step(name, TAMGU + argv, env, watch) for name, argv in steps]
    result = {"fraction": fraction, "train": round(TRAIN * fraction), "test": round(TEST * fraction),
              "cache_gib": round(disk(cache) / 2**30, 2), "steps": rows}
    if not keep:
        shutil.rmtree(out, ignore_errors=True)
    return result


def table(results: list[dict]) -> str:
    """Steps (by name, in order of first appearance) against fractions; "–" where a fraction did not run one."""
    small, large = results[0], results[-1]
    names = list(dict.fromkeys(s["step"] for r in results for s in r["steps"]))
    head = "| step | " + " | ".join(f"{r['train'] + r['test']:,} images: s / GiB memory / GiB disk" for r in results)
    lines = [head + " | time growth |", "|---" * (len(results) + 2) + "|"]
    for name in names:
        cells, times = [], []
        for r in results:
            s = next((x for x in r["steps"] if x["step"] == name), None)
            if s is None:
                cells.append("–")
                times.append(None)
                continue
            mem = "–" if s["peak_gib"] is None else f"{s['peak_gib']:.2f}"
            disk = "–" if s["disk_gib"] is None else f"{s['disk_gib']:.2f}"
            cells.append(f"{s['seconds']:.0f} / {mem} / {disk}" + ("" if s["exit"] == 0 else " (failed)"))
            times.append(s["seconds"])
        growth = f"x{times[-1] / times[0]:.1f}" if len(times) > 1 and times[0] and times[-1] else "–"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {growth} |")
    ratio = (large["train"] + large["test"]) / (small["train"] + small["test"])
    lines.append(f"\nImages grow x{ratio:.1f} from the first column to the last. Decode cache: "
                 + ", ".join(f"{r['cache_gib']:.1f} GiB at {r['train'] + r['test']:,} images" for r in results
                             if r.get("cache_gib") is not None) + ".")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/tamgu-full-scale"), help="scratch folder (~40 GB at 1.0)")
    ap.add_argument("--fractions", type=float, nargs="+", default=[0.1, 1.0], help="of the real counts")
    ap.add_argument("--keep", action="store_true", help="keep the generated data and runs")
    ap.add_argument("--json", type=Path, default=None, help="also save the results here")
    ap.add_argument("--previous", type=Path, default=None, help="results (--json) of an earlier run of other fractions, "
                    "shown first in the table")
    ap.add_argument("--only", nargs="+", default=None, help="run only the steps whose names contain one of these "
                    "(e.g. 'train 5' zip pseudo)")
    a = ap.parse_args()
    print(f"{processor()}, {os.cpu_count()} cores, python {platform.python_version()}",
          flush=True)
    results = json.loads(a.previous.read_text()) if a.previous else []
    results += [rehearse(a.work, f, a.keep, a.only) for f in a.fractions]
    if a.json:
        a.json.write_text(json.dumps(results, indent=1))
    print()
    print(table(results))
    if not a.keep:
        shutil.rmtree(a.work, ignore_errors=True)


if __name__ == "__main__":
    main()
