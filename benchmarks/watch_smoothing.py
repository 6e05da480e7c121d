"""How many seconds `tamgu watch` averages before it takes the label (`--smooth`), chosen on generated
dashboard clips: three new drivers doing all ten poses (3 s each), clean and through a poor camera (sensor
noise and flickering light, where single frames mislead).

    .venv/bin/python benchmarks/watch_smoothing.py     # about 2 minutes; needs runs/demo (make demo)

For each window: the share of frames whose label is the true pose, and how many segments the labels make
(the clips have 11: too many means the label flickers, and an alert on a held class breaks).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from tamgu.live.timeline import schedule_accuracy, segments, smooth
from tamgu.live.watch import run_watch, watch
from tamgu.pipeline.synthetic import schedule_path, synth_clip

SCHEDULE = "c0:4,c3:3,c0:2,c6:3,c1:3,c9:3,c2:3,c5:3,c7:3,c8:3,c4:3"
WINDOWS = (0, 0.4, 0.6, 1.0, 1.5, 2.0, 3.0)
CLASSES = [f"c{i}" for i in range(10)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", default="runs/demo/run")
    p.add_argument("--work", default="runs/bench_smoothing")
    a = p.parse_args()
    rows = []
    for noise in (0, 40, 70):
        for seed in (1, 2, 3):
            clip = Path(a.work) / f"clip_n{noise}_s{seed}.mp4"
            if not clip.is_file():
                synth_clip(clip, schedule=SCHEDULE, size="320x240", seed=seed, noise=noise)
            out = Path(a.work) / f"w_n{noise}_s{seed}"
            run_watch(watch(a.run, str(clip), out, smooth=0, video=False, progress=False))
            t = pd.read_csv(out / "timeline.csv")
            truth = pd.read_csv(schedule_path(clip))
            for w in WINDOWS:
                sp = smooth(t["time_s"].to_numpy(), t[CLASSES].to_numpy(), w)
                labels = [CLASSES[i] for i in sp.argmax(1)]
                rows.append({"camera noise": noise, "seed": seed, "smooth_s": w,
                             "frame accuracy": schedule_accuracy(t["time_s"], labels, truth),
                             "segments": len(segments(t["time_s"].to_numpy(), labels, sp, CLASSES))})
    df = pd.DataFrame(rows)
    table = df.pivot_table(index="smooth_s", columns="camera noise", values=["frame accuracy", "segments"],
                           aggfunc="mean")
    print("mean over 3 clips each; the clips have 11 true segments\n")
    print(table.round(3).to_markdown())


if __name__ == "__main__":
    main()
