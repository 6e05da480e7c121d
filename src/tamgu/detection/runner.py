"""`run_detector`: a detector (`core.Detector`) on photos, folders, videos, cameras and streams through the one
frame loop (`video.stream.frame_loop`). `Looker` is the frame tool: per video its tracks (`tracking.Tracks`), line
and zone counts (`counting.Counter`), the classifier's vote per track, and what the pre-label export needs (the
frames' sizes and, for COCO and YOLO, the frames themselves)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..files import write_csv
from ..video.reader import VideoError, video_info
from ..video.stream import Media, Output, frame_file, frame_options, media_inputs, run_tool, write_summary
from . import annotations, counting
from .core import COLUMNS, Detector, draw, merged_by_input, write_table
from .tracking import Tracks

CROSSING_COLUMNS = ["img", "time_s", "track", "label", "direction", "line"]
ZONE_COLUMNS = ["img", "track", "label", "zone", "enter_s", "exit_s", "seconds"]
TRACK_COLUMNS = ["img", "track", "label", "first_s", "last_s", "frames", "score", "class", "class_score"]


class Looker:
    def __init__(self, detector, out: Path | None, annotate: bool, frame_images: bool, video: bool, lines, zones,
                 export: str | None, classifier, opts):
        self.detector, self.out, self.annotate = detector, out, annotate
        self.frame_images, self.video, self.lines, self.zones, self.export = frame_images, video, lines, zones, export
        self.vote = None
        if classifier is not None:
            from .crops import TrackVote

            self.vote = TrackVote(classifier, accelerator=opts.accelerator, threads=opts.threads)
        self.tracks: dict[str, Tracks] = {}
        self.counters: dict[str, counting.Counter] = {}
        self.seen: dict[str, dict] = {}          # input -> track -> label, first, last, frames, score sum
        self.frames: list[dict] = []             # export: file, width, height, video, frame
        self.checked: set[str] = set()
        self.names: dict[str, str] = {}          # input -> its name in the tables

    def start(self, item: Media) -> None:
        if item.is_video:
            self.names[item.spec] = item.name
            self.tracks[item.spec] = Tracks()
            self.seen[item.spec] = {}
            if self.lines or self.zones:
                self.counters[item.spec] = counting.Counter(self.lines, self.zones)

    def __call__(self, item: Media, fr) -> Output:
        img = fr.image
        dets = self.detector(img)
        counter = self.counters.get(item.spec)
        if item.is_video:  # the same object across frames keeps its id: a video's table counts objects
            if counter is not None and item.spec not in self.checked:  # a camera's size is known at its first frame
                counting.check_inside(self.lines, self.zones, img.shape[1], img.shape[0], item.name)
                self.checked.add(item.spec)
            for d, k in zip(dets, self.tracks[item.spec].update(dets, fr.time)):
                d.track = k
            seen = self.seen[item.spec]
            for d in dets:
                if d.track is not None:
                    t = seen.setdefault(d.track, {"label": d.label, "first_s": fr.time, "frames": 0, "score": 0.0})
                    t["last_s"], t["frames"], t["score"] = fr.time, t["frames"] + 1, t["score"] + d.score
            if self.vote is not None:
                self.vote.add(item.spec, img, [d for d in dets if d.track is not None])
            if counter is not None:
                counter.update(dets, fr.time)
        res = Output([asdict(d) for d in dets])
        if self.export is not None:
            name = frame_file(item, fr)
            self.frames.append({"file": name, "width": img.shape[1], "height": img.shape[0],
                                "video": item.name if item.is_video else "", "frame": fr.index if item.is_video else -1})
            if self.export in ("coco", "yolo"):
                res.files[f"{self.export}/images/{name}"] = img
        if self.out is not None and self.annotate and (item.kind == "photo" or self.frame_images or self.video):
            shown = draw(img, dets, self.vote.names(item.spec) if self.vote is not None else None)
            if counter is not None:
                counter.draw(shown)
            if item.kind == "photo" or self.frame_images:
                res.files[f"annotated/{frame_file(item, fr)}"] = shown
            res.shown = shown
        if counter is not None:
            res.status = counter.status()
        return res

    def finish(self, item: Media, summary: dict) -> dict:
        if not item.is_video or item.spec not in self.tracks:
            return {}
        extra: dict = {"tracks": self.tracks[item.spec].counts()}
        if item.spec in self.counters:
            extra.update(self.counters[item.spec].finish())
        return extra

    def track_table(self) -> pd.DataFrame:
        rows = []
        for spec, seen in self.seen.items():
            name = self.names[spec]
            classes = self.vote.classes_of(spec) if self.vote is not None else {}
            for k, t in sorted(seen.items()):
                cls, p = classes.get(k, ("", np.nan))
                rows.append({"img": name, "track": k, "label": t["label"], "first_s": round(float(t["first_s"]), 3),
                             "last_s": round(float(t["last_s"]), 3), "frames": t["frames"],
                             "score": round(t["score"] / t["frames"], 4), "class": cls, "class_score": p})
        return pd.DataFrame(rows, columns=TRACK_COLUMNS)

    def write_tables(self, out: Path, inputs: list[str]) -> None:
        """tracks.csv (videos), crossings.csv (--line) and zones.csv (--zone), merged by input like detections."""
        if self.seen:
            write_csv(merged_by_input(self.track_table(), out / "tracks.csv", inputs), out / "tracks.csv")
        if self.lines:
            rows = [{"img": self.names[s], **c} for s, k in self.counters.items()
                    for c in sorted(k.crossings, key=lambda c: c["time_s"])]
            write_csv(merged_by_input(pd.DataFrame(rows, columns=CROSSING_COLUMNS), out / "crossings.csv", inputs),
                      out / "crossings.csv")
        if self.zones:
            rows = [{"img": self.names[s], **v} for s, k in self.counters.items() for v in k.visits]
            write_csv(merged_by_input(pd.DataFrame(rows, columns=ZONE_COLUMNS), out / "zones.csv", inputs),
                      out / "zones.csv")

    def write_export(self, table: pd.DataFrame) -> None:
        """This run's detections as pre-labels in out/<format>/ (`annotations`)."""
        frames = pd.DataFrame(self.frames, columns=annotations.IMAGE_COLUMNS)
        annotations.write_annotations(annotations.from_detections(table, frames), self.out / self.export, self.export)


def run_detector(detector: Detector, inputs, out: str | Path | None = None, annotate: bool = True,
                 lines: Sequence = (), zones: Sequence = (), export: str | None = None,
                 classifier: str | Path | None = None, **options) -> pd.DataFrame:
    """Run `detector` on photos, folders, videos, cameras and streams; returns (and writes to `out`) the
    detections table (img, frame, time_s, label, score, box, text, method, track).

    Photos get an annotated copy in `out/annotated/`; a video source an annotated H.264 video
    (`out/<name>_annotated.mp4`, with `video`) and, with `frame_images`, one annotated JPEG per processed
    frame. On video, objects get track ids (`tracking.Tracks`: confirmed tracks only) and `out/tracks.csv` one
    row per object; `lines` and `zones` count them (`counting`: crossings.csv, zones.csv); `export` writes the
    detections as pre-labels (`annotations`: coco, yolo or cvat, in `out/<format>/`); `classifier` (a tamgu
    train run) names each track by a vote over its crops. `out/summary.json` says per input how many frames
    were read, processed and dropped, at what fps and latency, with track and crossing totals. Unreadable
    inputs are reported and skipped; the others go on (the CLI then exits 1). A second run into the same
    `out` merges by input: its inputs' rows replace theirs, other inputs' rows stay. `options` are the frame
    options (`video.stream.FrameOptions`).
    """
    opts = frame_options(options, "run_detector", "faces")
    lines = [counting.parse_line(x) for x in lines or ()]
    zones = [counting.parse_zone(z) for z in zones or ()]
    if export is not None:
        annotations.check_format(export)
    items = media_inputs(inputs)
    out = Path(out) if out else None
    if (lines or zones or export) and out is None:
        raise InputError("--line, --zone and --export write files: give an output folder (--out DIR)")
    if (lines or zones) and not any(i.is_video for i in items):
        raise InputError("--line and --zone count objects moving on video: give a video, a camera or a stream")
    for item in items:  # refused before any frame is read
        if item.kind == "video" and (lines or zones):
            try:
                info = video_info(item.path)
            except VideoError:
                continue  # the loop reports an unreadable video
            counting.check_inside(lines, zones, info["width"], info["height"], item.name)
    video = opts.video and annotate
    tool = Looker(detector, out, annotate, opts.frame_images, video, lines, zones, export, classifier, opts)

    def done(state) -> pd.DataFrame:
        table = pd.DataFrame(state.rows, columns=COLUMNS)
        table["track"] = table["track"].astype("Int64")  # empty for photos
        if out is not None:
            names = [i.name for i in items]
            write_table(table, out, names)
            tool.write_tables(out, names)
            if export is not None:
                tool.write_export(table)
            write_summary(state.summaries, state.interrupted, out)
        table.attrs.update(errors=state.errors, files=len(items), summaries=state.summaries,
                           interrupted=state.interrupted)
        return table

    # summary.json is written once, in done(), with each video's track counts
    return run_tool(items, tool, out, "detect", opts.model_copy(update={"video": video}), done, summary_file=None)
