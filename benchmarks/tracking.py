"""Objects in operation footage, measured (docs/benchmarks.md, "Objects, tracks and counts"):

1. COCO's SSD beside Objectron's on the photos that ship offline (scikit-image): the top label and its score.
2. ByteTrack (`tracking.Tracks`, the default) beside the greedy IoU tracker tamgu had, on the generated street
   (`tamgu synth crossing`: 6 objects, 6 known crossings) at two frame rates and three seeds: objects counted
   (confirmed tracks) against 6, crossings right (label, direction, within 0.7 s) and wrong, id switches and
   IDF1 (trackers.eval). One detection pass per clip, both trackers on the same detections.
3. People on a real street (opencv-doc's vtest.avi, 768x576): boxes a frame and speed of each people method,
   and how many tracks each tracker makes of them (fragments: tracks of 5 frames or fewer).
4. Real time: the whole process (decode, detect, track, count, annotated H.264 out) on the 640x480 street, fps
   and latency, COCO beside Objectron.

    .venv/bin/python benchmarks/tracking.py          # about 3 minutes on 2 cores
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import skimage.data

import tamgu
from tamgu.detection.annotations import read_annotations
from tamgu.detection.coco import coco_detector
from tamgu.detection.counting import Counter
from tamgu.detection.judge import tracking_scores
from tamgu.detection.objects import object_detector, ssdlite_people
from tamgu.detection.synth import crossing_clip
from tamgu.detection.tracking import IoUTracker, Tracks
from tamgu.video.reader import iter_frames
from tamgu.runtime import processor

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")


def photos() -> dict:
    pics = {}
    for name in ("astronaut", "chelsea", "coffee", "stereo_motorcycle"):
        img = getattr(skimage.data, name)()
        pics[name] = cv2.cvtColor(img[0] if isinstance(img, tuple) else img, cv2.COLOR_RGB2BGR)
    out = {}
    for method, det in (("coco", coco_detector(None, 0.4, 2)), ("objectron", object_detector(None, 0.4, 2))):
        for name, img in pics.items():
            det(img)
            t = time.perf_counter()
            found = det(img)
            ms = (time.perf_counter() - t) * 1000
            out.setdefault(method, {})[name] = {"top": f"{found[0].label} {found[0].score:.2f}" if found else "-",
                                               "all": sorted({d.label for d in found}), "ms": round(ms, 1)}
    return out


def street_trackers(work: Path) -> list[dict]:
    det = coco_detector(None, 0.4, 2)
    rows = []
    for fps in (15, 25):
        for seed in (0, 1, 2):
            clip = crossing_clip(work / f"s{fps}_{seed}", fps=fps, seed=seed)
            truth = pd.read_csv(clip["truth"])
            frames = [(f.index, f.time, det(f.image)) for f in iter_frames(clip["video"])]
            ann = read_annotations(clip["tracks"])
            for name, make in (("ByteTrack", Tracks), ("IoU (before)", IoUTracker)):
                tracker, counter, table = make(), Counter([clip["line"]]), []
                for index, t, dets in frames:
                    dets = [type(d)(**{**d.__dict__, "track": None}) for d in dets]
                    for d, k in zip(dets, tracker.update(dets, t)):
                        d.track = k
                    counter.update(dets, t)
                    table += [{"img": "crossing.mp4", "frame": index, "label": d.label, "score": d.score, "x": d.x,
                               "y": d.y, "w": d.w, "h": d.h, "track": d.track} for d in dets]
                got = pd.DataFrame(counter.crossings)
                right = sum(any((got["label"] == w.label) & (got["direction"] == w.direction)
                                & ((got["time_s"] - w.time_s).abs() <= 0.7)) for w in truth.itertuples()) if len(got) else 0
                table = pd.DataFrame(table)
                table["file"] = [f"crossing_f{f:06d}.jpg" for f in table["frame"]]
                table = table[table["track"].notna()]
                scores = tracking_scores(ann, table)["crossing.mp4"]
                rows.append({"fps": fps, "seed": seed, "tracker": name, "objects": sum(tracker.counts().values()),
                             "crossings_right": right, "crossings_extra": len(got) - right,
                             "id_switches": scores["id_switches"], "idf1": scores["idf1"], "mota": scores["mota"]})
                print(rows[-1], flush=True)
    return rows


def street_people() -> dict:
    if not VTEST.exists():
        return {}
    frames = [(f.time, f.image) for f in iter_frames(VTEST) if f.index < 300]
    out = {}
    for name, det in (("coco", coco_detector(["person"], 0.4, 2)), ("ssdlite", ssdlite_people(0.5, 2)),
                      ("ssd (Objectron)", object_detector(["person"], 0.4, 2))):
        det(frames[0][1])
        t0 = time.perf_counter()
        found = [(t, det(img)) for t, img in frames]
        fps = len(frames) / (time.perf_counter() - t0)
        row = {"boxes_per_frame": round(float(np.mean([len(d) for _, d in found])), 2), "detect_fps": round(fps, 1)}
        for tname, make in (("ByteTrack", Tracks), ("IoU", IoUTracker)):
            tracker, life = make(), {}
            for t, dets in found:
                for k in tracker.update(dets, t):
                    if k is not None:
                        life[k] = life.get(k, 0) + 1
            row[f"{tname} tracks"] = len(life)
            row[f"{tname} fragments (<=5 frames)"] = sum(v <= 5 for v in life.values())
        out[name] = row
        print(name, row, flush=True)
    return out


def whole_process(work: Path) -> dict:
    clip = crossing_clip(work / "rt")
    out = {}
    for model in ("coco", "objectron"):
        tamgu.detect_objects(clip["video"], work / f"rt_{model}", model=model, lines=[clip["line"]], progress=False)
        s = json.loads((work / f"rt_{model}" / "summary.json").read_text())["inputs"][0]
        out[model] = {"fps": s["achieved_fps"], "latency_ms": s["latency_ms"]["mean"], "p95_ms": s["latency_ms"]["p95"],
                      "crossings": len(pd.read_csv(work / f"rt_{model}" / "crossings.csv"))}
        print(model, out[model], flush=True)
    return out


def main() -> None:
    print(f"processor: {processor()}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        result = {"photos": photos()}
        print(json.dumps(result["photos"], indent=1))
        result["whole_process"] = whole_process(work)
        result["street_trackers"] = street_trackers(work)
        result["street_people"] = street_people()
    df = pd.DataFrame(result["street_trackers"])
    print(df.groupby("tracker")[["objects", "crossings_right", "crossings_extra", "id_switches", "idf1", "mota"]]
          .mean().round(3).to_string())
    print(json.dumps({k: v for k, v in result.items() if k != "street_trackers"}, indent=1))


if __name__ == "__main__":
    main()
