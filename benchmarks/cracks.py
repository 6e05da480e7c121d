"""Cracks, measured: the ridge method and the U-Net side by side on generated surfaces no model saw, and how fast
each runs on a 640x480 clip of a wall, whole process.

Run by hand, not in CI, on an otherwise idle machine:

    .venv/bin/python benchmarks/cracks.py                # trains the default model (about 5-10 minutes on 2 cores)
    .venv/bin/python benchmarks/cracks.py --tune-ridge   # the grid the ridge method's thresholds came from

Judges (never used to train or to choose anything):
- other textures: 60 surfaces of brick and the moon's surface (the model trained on gravel, grass, plaster), seed 1;
- other seeds: 60 surfaces of the training textures, seed 2 (training used seed 0).
Speed: `tamgu cracks` on a 10 s 640x480 clip of a wall at 10 fps, every frame (--dedupe 0), decode to overlay
video, as frames per second and latency. No real crack photograph was available offline: these numbers are on
generated surfaces, and a real set is judged with `tamgu cracks eval DIR --model M.pt`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import tamgu


def cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def tune_ridge(work: Path) -> pd.DataFrame:
    """Hysteresis thresholds on 40 training-texture surfaces (seed 5): pooled skeleton F1 and false alarms."""
    from tamgu.inspection import ridge
    from tamgu.inspection.data import read_crack_set, read_pair
    from tamgu.inspection.find import MIN_LENGTH_PX
    from tamgu.inspection.measure import drop_short, match_scores, skeleton_match

    data = tamgu.synth_cracks(work / "tune", n=40, seed=5, progress=False)
    pairs = [read_pair(p) for p in read_crack_set(data)]
    rows = []
    for high in (4, 5, 6, 8):
        for low in (2, 3, 4):
            if low >= high:
                continue
            tot = {"pred_px": 0, "pred_hit": 0, "true_px": 0, "true_hit": 0}
            alarms = free = 0
            for img, true in pairs:
                pred = drop_short(ridge.ridge_mask(img, high=high, low=low), MIN_LENGTH_PX)
                for k, v in skeleton_match(pred, true).items():
                    tot[k] += v
                if not true.any():
                    free += 1
                    alarms += bool(pred.any())
            rows.append({"high": high, "low": low, **{k: round(v, 3) for k, v in match_scores(tot).items()},
                         "false_alarms": f"{alarms}/{free}"})
    return pd.DataFrame(rows)


def speed(clip: Path, out: Path, **kw) -> dict:
    t0 = time.perf_counter()
    table = tamgu.cracks(clip, out=out, dedupe=0, progress=False, **kw)
    wall = time.perf_counter() - t0
    s = table.attrs["summaries"][0]
    return {"fps": s["achieved_fps"], "latency_ms": s["latency_ms"]["mean"], "p95_ms": s["latency_ms"]["p95"],
            "frames": s["frames_processed"], "wall_s": round(wall, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tune-ridge", action="store_true", help="print the ridge thresholds' grid and stop")
    ap.add_argument("--epochs", type=int, default=None, help="U-Net epochs (default: train_cracks' own)")
    ap.add_argument("--out", default=None, help="also write the results as JSON here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="tamgu_cracks_") as tmp:
        work = Path(tmp)
        if args.tune_ridge:
            print(tune_ridge(work).to_markdown(index=False))
            return
        judges = {"other textures (brick, moon)": tamgu.synth_cracks(work / "judge_tex", n=60, seed=1,
                                                                     textures=["brick", "moon"], progress=False),
                  "other seeds (gravel, grass, plaster)": tamgu.synth_cracks(work / "judge_seed", n=60, seed=2,
                                                                             progress=False)}
        t0 = time.perf_counter()
        kw = {"epochs": args.epochs} if args.epochs else {}
        trained = tamgu.train_cracks(work / "cracks.pt", progress=False, **kw)
        train_min = (time.perf_counter() - t0) / 60
        rows = []
        for judge, data in judges.items():
            t = tamgu.evaluate_cracks(data, model=work / "cracks.pt", progress=False)
            for r in t.attrs["summary"].to_dict(orient="records"):
                rows.append({"judge": judge, **r})
        clip = tamgu.synth_wall_clip(work / "wall.mp4", seconds=10, fps=10, seed=3)
        fast = {m: speed(clip, work / f"speed_{m}", method=m, model=work / "cracks.pt" if m == "unet" else None)
                for m in ("ridge", "unet")}
    result = {"cpu": cpu(), "cores": os.cpu_count(), "train_minutes": round(train_min, 1),
              "epochs_run": trained["epochs_run"], "threshold": trained["threshold"],
              "val_f1": trained["threshold_f1"][str(trained["threshold"])], "quality": rows, "speed": fast}
    print(f"{result['cpu']}, {result['cores']} cores; U-Net trained in {result['train_minutes']} min "
          f"({result['epochs_run']} epochs, threshold {result['threshold']}, held-out F1 {result['val_f1']})\n")
    print(pd.DataFrame(rows).to_markdown(index=False))
    print()
    print(pd.DataFrame([{"method": m, **v} for m, v in fast.items()]).to_markdown(index=False))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
