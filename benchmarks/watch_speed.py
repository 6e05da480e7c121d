"""`tamgu watch` and `tamgu predict` speed on a CPU: the whole process against the clip's own duration, for one
fold and all folds, PyTorch and onnxruntime side by side, and prediction of a test set by both engines.

Run by hand, not in CI (about 6 minutes on 2 cores; it trains the demo run first if runs/demo is missing):

    .venv/bin/python benchmarks/watch_speed.py

The clip is a generated 640x480 dashboard video (a driver none of the run's, 18 s at 15 fps, the default
schedule of `tamgu synth clip`); the run is the demo's (4 folds of ImageNet MobileNetV2 at 96x72). Each setting
is timed as a separate `tamgu watch` process (start-up, model load and export included), twice, alternating,
and the faster of the two is quoted; quality is the share of processed frames whose label matches the clip's
true schedule.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from tamgu.live.timeline import schedule_accuracy
from tamgu.pipeline.synthetic import schedule_path, synth, synth_clip
from tamgu.runtime import processor




def tamgu(*args: str) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tamgu.cli", *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", default="runs/bench_watch", help="folder for the clip, the outputs and results")
    p.add_argument("--run", default="runs/demo/run", help="a trained run (default: the demo's; made if missing)")
    p.add_argument("--rounds", type=int, default=2)
    a = p.parse_args()
    work, run = Path(a.work), Path(a.run)
    work.mkdir(parents=True, exist_ok=True)
    if not (run / "summary.json").is_file():
        tamgu("demo", "--out", str(run.parent))
    clip = work / "dash_640x480.mp4"
    if not clip.is_file():
        synth_clip(clip, size="640x480", fps=15, seed=11)
    truth = pd.read_csv(schedule_path(clip))
    duration = float(truth["end_s"].iloc[-1])

    rows = []
    settings = [(engine, fold) for fold in (None, 0) for engine in ("torch", "onnx")]
    for r in range(a.rounds):
        for engine, fold in settings if r % 2 == 0 else settings[::-1]:
            out = work / f"watch_{engine}_{'all' if fold is None else fold}"
            args = ["watch", str(run), str(clip), "--out", str(out), "--engine", engine, "--alert", "c1,c2,c3,c4>=2s"]
            seconds = tamgu(*args, *([] if fold is None else ["--fold", str(fold)]))
            s = json.loads((out / "summary.json").read_text())
            t = pd.read_csv(out / "timeline.csv")
            rows.append({"engine": engine, "folds": "all (4)" if fold is None else "1", "process_s": seconds,
                         "loop_fps": s["achieved_fps"], "latency_ms": s["latency_ms"]["mean"],
                         "p95_ms": s["latency_ms"]["p95"], "frames": s["frames_processed"],
                         "accuracy": schedule_accuracy(t["time_s"], t["label"].tolist(), truth)})
    table = (pd.DataFrame(rows).groupby(["folds", "engine"], sort=False)
             .agg(process_s=("process_s", "min"), loop_fps=("loop_fps", "max"), latency_ms=("latency_ms", "min"),
                  p95_ms=("p95_ms", "min"), frames=("frames", "first"), accuracy=("accuracy", "first")).reset_index())
    table["x_real_time"] = duration / table["process_s"]
    print(f"\nCPU: {processor()}; clip {duration:.0f} s of 640x480 at 15 fps, the model sees every 0.2 s\n")
    print(table.to_markdown(index=False, floatfmt=".3g"))

    # prediction of a test set: the same images and folds through both engines
    data = work / "predict_data"
    if not (data / "driver_imgs_list.csv").exists():
        synth(data, drivers=2, per_class=1, test=5000, test_drivers=6, image_size="128x96", seed=1)
    pred = []
    for r in range(a.rounds):
        for engine in ("torch", "onnx") if r % 2 == 0 else ("onnx", "torch"):
            for n_name, args in (("5000", []),):
                seconds = tamgu("predict", str(run), "--data", str(data), "--out", str(work / f"sub_{engine}.csv"),
                                "--engine", engine, "--workers", "0", *args)
                pred.append({"engine": engine, "images": n_name, "process_s": seconds})
    pt = pd.DataFrame(pred).groupby(["images", "engine"], sort=False)["process_s"].min().reset_index()
    pt["images_per_s"] = 5000 / pt["process_s"]
    a_, b_ = pd.read_csv(work / "sub_torch.csv"), pd.read_csv(work / "sub_onnx.csv")
    diff = (a_.set_index("img") - b_.set_index("img")).abs().to_numpy().max()
    print(f"\ntamgu predict, 4 folds, 5,000 test images at 96x72 (decode cache warm after the first run); "
          f"largest difference between the engines' probabilities: {diff:.1e}\n")
    print(pt.to_markdown(index=False, floatfmt=".3g"))


if __name__ == "__main__":
    main()
