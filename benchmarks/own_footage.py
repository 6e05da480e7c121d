"""The own-footage path, measured: videos labelled by time range -> frames -> training by video -> watch a person
no model saw; and the chapter's demo model on a real street (it should say "uncertain", not raise alerts).

Run by hand, not in CI, on an otherwise idle machine:

    .venv/bin/python benchmarks/own_footage.py              # 12 people x 30 s, a 13th person's 40 s video
    .venv/bin/python benchmarks/own_footage.py --street     # plus the demo's model on opencv-doc's vtest.avi

Twelve generated 30-second dashboard videos, each of another driver doing the chapter's ten classes for 3 s each
in another order, labelled by time range (video,start,end,label: the schedule each clip comes with) go through
`frames --segments` (a frame every 0.5 s, 0.25 s clear of each change) and `train --split group` (the demo's
recipe: ImageNet MobileNetV2 at 96x72, 4 folds by video). `watch` then sees a 40-second video of a thirteenth
driver; printed: the share of its seconds whose majority label is the true one, away from the changes (the
acceptance figure: >= 85%), the uncertain share, and the seconds each step took (the acceptance: the whole path
in under 10 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

import tamgu
from tamgu.recipes.demo import read_recipe
from tamgu.runtime import processor

CLASSES = [f"c{i}" for i in range(10)]


def per_second(timeline: pd.DataFrame, truth: pd.DataFrame, clear: float = 0.5) -> tuple[float, float]:
    """(share of seconds whose majority label is the truth, share uncertain), over the seconds that lie at least
    `clear` seconds from a change of the true label."""
    t = timeline.copy()
    t["second"] = t["time_s"].astype(int)
    changes = truth["start_s"].to_numpy()[1:]
    keep = [all(abs(s + 0.5 - c) >= 0.5 + clear for c in changes) for s in t["second"]]
    t = t[keep]
    t["truth"] = [truth.loc[(truth["start_s"] <= x) & (x < truth["end_s"]), "label"].iloc[0] for x in t["time_s"]]
    g = t.groupby("second").agg(label=("label", lambda s: s.mode()[0]), truth=("truth", "first"))
    return float((g["label"] == g["truth"]).mean()), float((t["label"] == "uncertain").mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--people", type=int, default=12)
    ap.add_argument("--street", action="store_true", help="also the demo's model on vtest.avi")
    ap.add_argument("--keep", help="keep the videos, data and runs here")
    args = ap.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="tamgu-own-"))
    seconds: dict[str, float] = {}
    try:
        started = time.perf_counter()
        rows = []
        for k in range(args.people):
            order = [CLASSES[(3 * k + 7 * i) % 10] for i in range(10)]
            clip = tamgu.synth_clip(work / "videos" / f"person{k:02d}.mp4", schedule=",".join(f"{c}:3" for c in order),
                                    size="640x480", fps=15, seed=200 + k)
            truth = pd.read_csv(str(clip) + ".schedule.csv")
            rows += [(clip.name, r.start_s, r.end_s, r.label) for r in truth.itertuples()]
        pd.DataFrame(rows, columns=["video", "start", "end", "label"]).to_csv(work / "labels.csv", index=False)
        seconds["videos (generated)"] = time.perf_counter() - started

        path_start = time.perf_counter()
        tamgu.frames(work / "videos", work / "data", every="0.5s", segments=work / "labels.csv", progress=False)
        seconds["frames --segments"] = time.perf_counter() - path_start
        _, run_options = read_recipe()
        step = time.perf_counter()
        summary = tamgu.train(work / "data", out=work / "run", workers=0, **{**run_options, "split": "group"})
        seconds["train --split group"] = time.perf_counter() - step
        new = tamgu.synth_clip(work / "new.mp4", schedule="c0:4,c1:4,c2:4,c3:4,c4:4,c5:4,c6:4,c7:4,c8:4,c9:4",
                               size="640x480", fps=15, seed=999)
        step = time.perf_counter()
        watched = tamgu.watch(work / "run", str(new), work / "watch", progress=False).wait()
        seconds["watch (40 s, 640x480)"] = time.perf_counter() - step
        seconds["the path: frames + train + watch"] = time.perf_counter() - path_start
        right, uncertain = per_second(pd.read_csv(work / "watch" / "timeline.csv"),
                                      pd.read_csv(str(new) + ".schedule.csv"))
        print(f"{processor()}, {len(os.sched_getaffinity(0))} cores")
        print(f"frames: {summary['oof']['images']} of {args.people} videos; OOF log loss {summary['oof']['log_loss']:.4f},"
              f" accuracy {summary['oof']['accuracy']:.3f}")
        print(f"new person (40 s): right in {right:.1%} of the seconds away from changes; uncertain {uncertain:.1%} "
              f"of those frames ({watched['uncertain_share']:.1%} overall); {watched['achieved_fps']} fps")
        for k, v in seconds.items():
            print(f"  {k:<36} {v:7.1f} s")
        if args.street:
            demo = tamgu.demo(work / "demo")
            street = tamgu.watch(work / "demo" / "run", "/usr/share/doc/opencv-doc/examples/data/vtest.avi",
                                 work / "street", alert="c1,c2,c3,c4>=2s", progress=False).wait()
            alerts = pd.read_csv(work / "street" / "alerts.csv")
            t = pd.read_csv(work / "street" / "timeline.csv")
            t["second"] = t["time_s"].astype(int)
            mostly = (t.groupby("second")["label"].agg(lambda s: (s == "uncertain").mean()) > 0.5).mean()
            print(f"demo model (OOF {demo['oof']['accuracy']:.3f}) on vtest.avi: uncertain {street['uncertain_share']:.1%}"
                  f" of frames, {mostly:.1%} of seconds mostly uncertain; {len(alerts)} alerts "
                  f"(why: {t.loc[t['label'] == 'uncertain', 'why'].value_counts().to_dict()})")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
