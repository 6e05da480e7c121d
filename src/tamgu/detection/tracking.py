"""Track ids across a video's frames, so that a table counts objects, not detections.

`Tracks` is ByteTrack (the `trackers` package, Apache-2.0: Kalman-predicted boxes, Hungarian matching, a second
pass that lets low-score detections keep a hidden object's track alive), one tracker per label so a person and
the motorcycle under them never trade ids. A track gets an id only once it is confirmed (seen in CONFIRM
consecutive frames): a detector's one-frame false alarm never becomes a counted object. A track that is lost
waits LOST_SECONDS before it is dropped, so an object hidden for a moment keeps its id. Time comes from the
frames' timestamps, so `--frame-step` and variable frame rates need no other setting.

`IoUTracker` is the greedy IoU tracker tamgu used before, kept for the benchmark that compares the two
(benchmarks/tracking.py): it joins each detection to the most-overlapping live track, and counts fragments.
"""

from __future__ import annotations

import warnings

import numpy as np

CONFIRM = 3          # frames in a row before a track gets an id (and can be counted)
LOST_SECONDS = 1.5   # how long a lost track waits for its object
MATCH_IOU = 0.1      # least IoU of a detection with a track's predicted box
HIGH_SCORE = 0.5     # detections at or above start tracks and are matched first; those below only keep tracks alive


class Tracks:
    """ByteTrack per label. `update(dets, time_s)` returns each detection's track id (None while unconfirmed);
    ids are unique across labels and start at 1."""

    def __init__(self, confirm: int = CONFIRM, lost_seconds: float = LOST_SECONDS, high_score: float = HIGH_SCORE):
        import supervision  # noqa: F401 - imported here (0.8 s), before a live source starts, not on its first frame
        import trackers  # noqa: F401

        self.confirm, self.lost, self.high = confirm, lost_seconds, high_score
        self.by_label: dict[str, object] = {}
        self.ids: dict[tuple[str, int], int] = {}   # (label, ByteTrack's id) -> our id
        self.labels: dict[int, str] = {}           # our id -> label

    def _tracker(self, label: str):
        if label not in self.by_label:
            from trackers import ByteTrackTracker

            self.by_label[label] = ByteTrackTracker(
                lost_track_buffer=int(round(self.lost * 30)), frame_rate=30.0, track_activation_threshold=self.high,
                minimum_consecutive_frames=self.confirm, minimum_iou_threshold=MATCH_IOU,
                high_conf_det_threshold=self.high)
        return self.by_label[label]

    def update(self, dets: list, time_s: float) -> list[int | None]:
        """Track ids for this frame's detections (objects with label, score, x, y, w, h), in their order. Every
        label's tracker sees every frame (an empty one too), so its clock and lost tracks age."""
        import supervision as sv

        out: list[int | None] = [None] * len(dets)
        for label in sorted({d.label for d in dets} | set(self.by_label)):  # ids in one order every run
            mine = [i for i, d in enumerate(dets) if d.label == label]
            boxes = np.array([[dets[i].x, dets[i].y, dets[i].x + dets[i].w, dets[i].y + dets[i].h] for i in mine],
                             float).reshape(-1, 4)
            found = sv.Detections(xyxy=boxes, confidence=np.array([dets[i].score for i in mine], float),
                                  data={"i": np.array(mine, int)})
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tracked = self._tracker(label).update(found, timestamp=float(time_s))
            if tracked.tracker_id is None:
                continue
            for i, k in zip(tracked.data.get("i", []), tracked.tracker_id):
                if k >= 0:
                    key = (label, int(k))
                    if key not in self.ids:
                        self.ids[key] = len(self.ids) + 1
                        self.labels[self.ids[key]] = label
                    out[int(i)] = self.ids[key]
        return out

    def counts(self) -> dict[str, int]:
        """Confirmed tracks per label so far: objects, not detections."""
        out: dict[str, int] = {}
        for label in self.labels.values():
            out[label] = out.get(label, 0) + 1
        return dict(sorted(out.items()))


def box_iou(a: tuple[int, int, int, int], b: np.ndarray) -> np.ndarray:
    """IoU of box a (x, y, w, h) with each row of b (N, 4)."""
    if not len(b):
        return np.zeros(0)
    x0, y0 = np.maximum(a[0], b[:, 0]), np.maximum(a[1], b[:, 1])
    x1, y1 = np.minimum(a[0] + a[2], b[:, 0] + b[:, 2]), np.minimum(a[1] + a[3], b[:, 1] + b[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    return inter / (a[2] * a[3] + b[:, 2] * b[:, 3] - inter + 1e-9)


class IoUTracker:
    """The greedy IoU tracker (for comparison only): same `update(dets, time_s)` and `counts()` as `Tracks`."""

    def __init__(self, iou: float = 0.2, max_age: int = 15):
        self.iou, self.max_age = iou, max_age
        self.tracks: dict[int, dict] = {}   # id -> label, box, last frame number (processed frames)
        self.step = 0

    def update(self, dets: list, time_s: float | None = None) -> list[int]:
        self.step += 1
        live = {k: t for k, t in self.tracks.items() if self.step - t["seen"] <= self.max_age}
        ids: list[int] = [0] * len(dets)
        taken: set[int] = set()
        for i in sorted(range(len(dets)), key=lambda i: -getattr(dets[i], "score", 0)):
            d = dets[i]
            cands = [k for k, t in live.items() if t["label"] == d.label and k not in taken]
            overlaps = box_iou((d.x, d.y, d.w, d.h), np.array([live[k]["box"] for k in cands], float).reshape(-1, 4))
            k = cands[int(overlaps.argmax())] if len(cands) and overlaps.max() >= self.iou else len(self.tracks) + 1
            taken.add(k)
            self.tracks[k] = {"label": d.label, "box": (d.x, d.y, d.w, d.h), "seen": self.step}
            ids[i] = k
        return ids

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for t in self.tracks.values():
            out[t["label"]] = out.get(t["label"], 0) + 1
        return dict(sorted(out.items()))
