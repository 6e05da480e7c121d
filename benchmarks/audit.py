"""`tamgu audit`, measured: how many moved labels it finds, and what it costs at the chapter's size.

Run by hand, not in CI, on an otherwise idle machine:

    .venv/bin/python benchmarks/audit.py                      # recall/precision at 3%, 6%, 12% moved labels
    .venv/bin/python benchmarks/audit.py --scale 22424        # plus audit's time and memory on 22,424 images

Recall: a generated chapter-layout dataset (the demo's recipe: 16 drivers, ImageNet MobileNetV2 at 96x72, 4 driver
folds) with a share of its training labels moved to another class (file and driver_imgs_list.csv row both); the
run is trained on the moved labels and audited. Printed: how many moved images label_issues.csv holds among its
first (2 x moved) rows (the acceptance figure: >= 70% at 6%), its precision, the noise it estimates, the run's OOF
accuracy. With cleanlab installed (pip install cleanlab; not a tamgu dependency: AGPL-3.0) its
find_label_issues runs on the same probabilities beside ours.

Scale: a run on the full chapter size (generated, 64x48 images, one short epoch: the model's quality does not
matter here) is audited; printed are the seconds of each part and the peak memory of the process.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import tamgu
from tamgu.curation.audit import confident_learning
from tamgu.recipes.demo import read_recipe
from tamgu.runtime import processor


def move_labels(data: Path, share: float, seed: int = 0) -> set[str]:
    """Move `share` of the training images to another class folder (the driver list follows): returns them."""
    rng = np.random.default_rng(seed)
    table = pd.read_csv(data / "driver_imgs_list.csv")
    moved = rng.choice(len(table), int(round(share * len(table))), replace=False)
    for i in moved:
        old = table.at[i, "classname"]
        new = f"c{(int(old[1:]) + rng.integers(1, 10)) % 10}"
        (data / "imgs" / "train" / old / table.at[i, "img"]).rename(data / "imgs" / "train" / new / table.at[i, "img"])
        table.at[i, "classname"] = new
    table.to_csv(data / "driver_imgs_list.csv", index=False)
    return set(table.loc[moved, "img"])


def recall(work: Path, share: float, per_class: int) -> dict:
    synth_options, run_options = read_recipe()
    data = tamgu.synth(work / f"data{share}", **{**synth_options, "per_class": per_class, "test": 20})
    moved = move_labels(data, share)
    started = time.perf_counter()
    tamgu.train(data, out=work / f"run{share}", workers=0, **run_options)
    trained = time.perf_counter() - started
    started = time.perf_counter()
    s = tamgu.audit(work / f"run{share}", work / f"audit{share}", progress=False)
    audited = time.perf_counter() - started
    issues = pd.read_csv(work / f"audit{share}" / "label_issues.csv")
    first = set(issues["img"].head(2 * len(moved)))
    row = {"moved": f"{100 * share:.0f}% ({len(moved)})", "images": s["images"], "oof_acc": s["oof_accuracy"],
           "flagged": len(issues), "recall@2m": len(first & moved) / len(moved),
           "precision": len(set(issues["img"]) & moved) / max(1, len(issues)),
           "noise_est": s["estimated_noise"], "train_s": round(trained), "audit_s": round(audited, 1)}
    try:
        from cleanlab.filter import find_label_issues

        oof = pd.read_csv(work / f"run{share}" / "oof.csv")
        folds = pd.read_csv(work / f"run{share}" / "folds.csv").set_index("img").loc[oof["img"]]
        classes = [c for c in oof.columns if c.startswith("c")]
        probs = oof[classes].to_numpy()
        given = folds["label"].map({c: i for i, c in enumerate(classes)}).to_numpy()
        ranked = find_label_issues(given, probs, return_indices_ranked_by="normalized_margin")
        found = set(oof["img"].to_numpy()[ranked])
        row["cleanlab_recall@2m"] = len(set(oof["img"].to_numpy()[ranked[: 2 * len(moved)]]) & moved) / len(moved)
        row["cleanlab_precision"] = len(found & moved) / max(1, len(found))
        ours = confident_learning(probs / probs.sum(1, keepdims=True), given)
        row["same_as_cleanlab"] = len(set(ours["row"]) & set(ranked)) / max(1, len(set(ours["row"]) | set(ranked)))
    except ImportError:
        pass
    return row


def scale(work: Path, images: int) -> dict:
    drivers = 26
    per_class = int(np.ceil(images / drivers / 10))
    data = tamgu.synth(work / "big", drivers=drivers, per_class=per_class, test=10, image_size="64x48")
    tamgu.train(data, out=work / "bigrun", model="mobilenetv2_100", weights="imagenet", image_size="64x48",
                folds=2, epochs=1, limit_batches=4, workers=0)
    started = time.perf_counter()
    s = tamgu.audit(work / "bigrun", work / "bigaudit", progress=False)
    first = time.perf_counter() - started
    started = time.perf_counter()
    tamgu.audit(work / "bigrun", work / "bigaudit", progress=False)  # features cached: the tables and page only
    again = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
    return {"images": s["images"], "audit_s": round(first), "rerun_s": round(again), "peak_GiB": round(peak, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shares", default="0.03,0.06,0.12", help="shares of training labels moved")
    ap.add_argument("--per-class", type=int, default=6, help="images per driver and class (demo: 4)")
    ap.add_argument("--scale", type=int, default=0, help="also audit a run of this many images (chapter: 22424)")
    ap.add_argument("--keep", help="keep the data and runs here")
    args = ap.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="tamgu-audit-"))
    try:
        rows = [recall(work, float(s), args.per_class) for s in args.shares.split(",")]
        print(f"{processor()}, {len(__import__('os').sched_getaffinity(0))} cores")
        print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        if args.scale:
            print(pd.DataFrame([scale(work, args.scale)]).to_string(index=False))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
