"""`tamgu watch RUN SOURCE --out DIR`: a trained run on a video file, a folder of videos, a camera or a stream:
what the driver does, second by second.

    DIR/timeline.csv    time_s, frame, one probability per class, label (after temporal smoothing; "uncertain"
                        when the smoothed top probability is under --floor or the frame is unlike the training
                        images: --familiar), top, distance, why (low or far), alarm
    DIR/segments.csv    start_s, end_s, label, mean_prob
    DIR/alerts.csv      start_s, alarm_s, end_s, classes, seconds (with --alert "c1,c2>=2s")
    DIR/annotated.mp4   H.264: every frame of a file at its own rate (labels held between sampled frames);
                        on a live source, every frame the model saw, at the time it was captured
    DIR/segments/       the first frame of each segment (the report's samples and Grad-CAM)
    DIR/summary.json    frames read, processed and dropped, achieved fps, latency, what was written

Watching is one tool inside the one frame loop (`video.stream.frame_loop`): the loop reads files, folders,
cameras and streams, writes the annotated video, counts frames, fps and latency and says why a source ended;
`Watcher` is the per-frame hook (model, smoothing, alerts, the live page) and writes the tables when an input
ends. On a live source a reader thread keeps only the newest frame, so a slow model drops frames (counted)
instead of falling behind; on a file every sampled frame (`every`) is processed as fast as the machine allows.
Ctrl-C ends cleanly with every output written. A folder of videos writes one such folder per video under DIR,
and one that cannot be read is reported while the others are watched.
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..console import in_notebook
from ..errors import InputError, MissingInput, check_range
from ..pipeline.familiar import FAMILIAR
from ..files import write_csv, write_json
from ..video.reader import VideoError
from ..video.stream import FrameRun, LoopResult, Media, Output, frame_loop, frame_options, media_inputs, options_doc
from . import timeline
from .annotate import blend, border, describe, panel

log = logging.getLogger(__name__)

EVERY = 0.2    # seconds between the frames the model sees on a file: 5 a second, far finer than an action
SMOOTH = 0.6   # seconds of probabilities averaged: chosen on generated dashboard clips (benchmarks/watch_smoothing.py)


def watch(run: str | Path, source: str, out: str | Path, every: float = EVERY, smooth: float = SMOOTH,
          alert: str | None = None, floor: float = timeline.FLOOR, familiar: float = FAMILIAR,
          serve: int | None = None, engine: Literal["auto", "torch", "onnx"] = "auto",
          fold: int | None = None, **options) -> FrameRun:
    """Watch SOURCE with the run's models. Returns a FrameRun: iterate it for one result per processed frame
    (time_s, frame, label, probabilities, smoothed); when the source ends (or you stop), `.summary` holds the
    summary (also DIR/summary.json), so `list(tamgu.watch(...))` loses nothing; `.wait()` runs it to the end.

    Args:
        run: run folder written by tamgu train
        source: a video file, a folder of videos, a camera (0, /dev/video0) or a stream URL (rtsp://, http://)
        out: output folder
        every: seconds between the frames the model sees on a file (a live source: as fast as it can)
        smooth: seconds of probabilities averaged before the label is taken (0: none)
        alert: CLASSES>=DURATION, e.g. "c1,c2,c3,c4>=2s": any of these classes held that long (never on an
            uncertain moment)
        floor: a moment whose smoothed top probability is under this is "uncertain" (0: never)
        familiar: share of the run's held-out images that count as familiar: a frame farther from the training
            images than they are is "uncertain" (0: off)
        serve: show the annotated stream on a page at http://127.0.0.1:PORT/
        engine: auto (onnxruntime on a CPU, PyTorch on a GPU), torch or onnx
        fold: only this fold's model (default: the mean of every fold)
    """
    from ..runtime import set_threads
    from ..pipeline.familiar import Familiarity
    from ..pipeline.weights import WeightsError
    from ..pipeline.inference import Predictor

    opts = frame_options(options, "watch", "watch")
    if every <= 0:
        raise InputError(f"--every {every}: the time between frames the model sees must be positive.")
    if smooth < 0:
        raise InputError(f"--smooth {smooth}: a smoothing window is 0 seconds or more.")
    check_range("floor", floor, 0, 1, "a probability")
    if not 0 <= familiar < 1:
        raise InputError(f"--familiar {familiar}: a share of held-out images from 0 (off) to under 1, e.g. {FAMILIAR}.")
    out = Path(out)
    items = media_inputs(source, "a video file, a folder of videos, a camera (0, /dev/video0) or a stream URL")
    videos = [i for i in items if i.is_video]
    if not videos:
        raise VideoError(f"{source} holds no videos: watch reads video files (any container FFmpeg opens), "
                         "cameras and streams")
    several = len(videos) > 1 or Path(str(source)).is_dir()
    set_threads(opts.threads)
    predictor = Predictor(run, engine=engine, fold=fold, accelerator=opts.accelerator)
    known = None
    if familiar > 0:
        try:
            known = Familiarity(run, familiar, accelerator=opts.accelerator)
        except (MissingInput, WeightsError) as e:  # the run travelled without its data, or ImageNet's weights are
            log.warning("familiarity off: %s", e)      # not installed: the probability floor still holds
    rule = timeline.parse_alert(alert, predictor.classes) if alert else None
    view = None
    if serve is not None:
        from .serve import LiveView

        view = LiveView(int(serve), str(source))
        print(f"live view: {view.url}", flush=True)
    folder = (lambda item: item.stem) if several else (lambda item: ".")
    tool = Watcher(predictor, out, folder, every, smooth, rule, view, floor, known)
    state = LoopResult()
    frames = frame_loop(videos, tool, out, "watch", opts.model_copy(update={"frame_step": 1}),
                        video_name=lambda item: f"{folder(item)}/annotated.mp4", summary_file=None, state=state)

    def done() -> dict:
        if view is not None:
            view.close()
        summaries = state.summaries
        if in_notebook():  # the timeline under the cell (a figure left open shows inline)
            for x in summaries:
                if x.get("out"):
                    w = read_watch(x["out"])
                    timeline.timeline_figure(w["timeline"], w["segments"], x["classes"], w.get("alerts"))
        if not several and summaries:
            return summaries[0]
        overall = {"videos": len(summaries), "out": str(out), "per_video": summaries,
                   "frames_processed": sum(x["frames_processed"] for x in summaries),
                   "interrupted": state.interrupted, "errors": state.errors}
        write_json(overall, out / "summary.json")
        return overall

    return FrameRun(frames, done)


watch.__doc__ += options_doc("watch")

SHOWN_HEIGHT = 240  # a smaller video is drawn larger in the annotated video, so the panel fits beside the scene


class Watcher:
    """The per-frame hook of `watch` in the frame loop: the model every `every` seconds of a file (every frame
    it can of a live source), smoothing, alerts, the panel and the live page; `finish` writes the input's
    timeline, segments, alerts and summary.json into its folder."""

    def __init__(self, predictor, out: Path, folder, every: float, smooth: float, rule, view,
                 floor: float = timeline.FLOOR, known=None):
        self.predictor, self.out, self.folder, self.every, self.smooth = predictor, out, folder, every, smooth
        self.rule, self.view, self.floor, self.known = rule, view, floor, known
        self.classes = predictor.classes

    def start(self, item: Media) -> None:
        (self.out / self.folder(item)).mkdir(parents=True, exist_ok=True)
        self.smoother, self.alarms = timeline.Smoother(self.smooth), timeline.AlertState(self.rule)
        self.far_smoother = timeline.Smoother(self.smooth)
        self.rows, self.seg_start, self.seg_label, self.seg_n = [], 0.0, None, 0
        self.overlay, self.alarm, self.next_t, self.last_t = None, False, 0.0, 0.0
        self.t0 = time.perf_counter()

    def __call__(self, item: Media, fr) -> Output:
        from ..runtime import resize

        rgb, classes = np.ascontiguousarray(fr.image[..., ::-1]), self.classes
        self.last_t = fr.time
        res = Output(analysed=item.live or fr.time + 1e-6 >= self.next_t)
        if res.analysed:
            small = resize(rgb, self.predictor.size)[None]
            p = self.predictor(small)[0]
            sp = self.smoother.add(fr.time, p)
            dist = float(self.known(small)[0]) if self.known is not None else float("nan")
            far = self.known is not None and self.far_smoother.add(fr.time, [dist])[0] > self.known.threshold
            label, why = timeline.decide(sp, classes, self.floor, far)
            self.alarm = self.alarms.update(fr.time, label)
            if label != self.seg_label:
                self.seg_label, self.seg_start = label, fr.time
                res.files[f"{self.folder(item)}/segments/seg_{self.seg_n:03d}_{label}.jpg"] = fr.image
                self.seg_n += 1
            row = {"time_s": round(float(fr.time), 3), "frame": fr.index, **{c: float(v) for c, v in zip(classes, p)},
                   "label": label, "top": round(float(sp.max()), 4), "distance": round(dist, 4), "why": why,
                   "alarm": bool(self.alarm)}
            self.rows.append(row)
            shown_h = larger(rgb.shape[0])[0]
            self.overlay = panel(classes, sp, label, self.seg_start, fr.time, self.rule.text if self.alarm else None,
                                 shown_h)
            while self.next_t <= fr.time + 1e-6:
                self.next_t += self.every
            res.status = f"{describe(label)[:24]} {sp.max():.2f}" + (" ALERT" if self.alarm else "")
            res.result = {"source": item.spec, **row, "smoothed": dict(zip(classes, map(float, sp)))}
        if self.overlay is not None:
            shown = blend(enlarge(rgb), self.overlay)
            if self.alarm:
                border(shown)
            res.shown = shown[..., ::-1]  # the loop writes BGR pictures
            if self.view is not None:
                last = self.rows[-1]
                self.view.publish(shown, label=self.seg_label, label_text=describe(self.seg_label),
                                  prob=float(max(last[c] for c in classes)), processed=len(self.rows),
                                  fps=len(self.rows) / max(1e-9, time.perf_counter() - self.t0),
                                  alarm=bool(self.alarm))
        return res

    def finish(self, item: Media, summary: dict) -> dict:
        """The input's tables and summary.json (also after Ctrl-C or a broken stream); its keys join the loop's."""
        out, classes, rule = self.out / self.folder(item), self.classes, self.rule
        table = pd.DataFrame(getattr(self, "rows", []),
                             columns=["time_s", "frame", *classes, "label", "top", "distance", "why", "alarm"])
        last_t = getattr(self, "last_t", 0.0)
        smoothed = timeline.smooth(table["time_s"].to_numpy(), table[classes].to_numpy(), self.smooth) \
            if len(table) else np.zeros((0, len(classes)))
        write_csv(table, out / "timeline.csv")
        segs = timeline.segments(table["time_s"].to_numpy(), table["label"].tolist(), smoothed, classes, end=last_t)
        write_csv(segs, out / "segments.csv")
        alerts = timeline.alerts(table["time_s"].to_numpy(), table["label"].tolist(), rule, end=last_t) \
            if rule is not None else None
        if alerts is not None:
            write_csv(alerts, out / "alerts.csv")
        wall, read = summary["wall_seconds"], summary["frames_read"]
        p = self.predictor
        extra: dict[str, Any] = {
            "source": item.spec, "out": str(out), "run": str(p.run), "classes": classes, "engine": p.engine,
            "folds": p.folds, "image_size": list(p.size), "every_s": None if item.live else self.every,
            "smooth_s": self.smooth, "alert": rule.text if rule else None, "floor": self.floor,
            "familiar_distance": round(self.known.threshold, 4) if self.known is not None else None,
            "uncertain_share": round(float((table["label"] == timeline.UNCERTAIN).mean()), 4) if len(table) else None,
            "read_fps": round(read / wall, 2) if wall > 0 else None,
            "realtime_factor": round(last_t / wall, 2) if wall > 0 and last_t else None,
            "segments": int(len(segs)), "alerts": int(len(alerts)) if alerts is not None else None,
            "files": {"timeline": "timeline.csv", "segments": "segments.csv", **({"alerts": "alerts.csv"} if rule else {}),
                      **({"video": "annotated.mp4"} if summary.get("video") else {})}}
        write_json({**summary, **extra}, out / "summary.json")
        if self.view is not None:
            self.view.status["alerts"] = [f"{a.start_s:.1f}–{a.end_s:.1f} s: {a.classes}"
                                          for a in alerts.itertuples()] if alerts is not None else []
        return extra


def larger(height: int) -> tuple[int, int]:
    """(height drawn, factor): a frame under SHOWN_HEIGHT pixels is drawn `factor` times larger."""
    k = max(1, math.ceil(SHOWN_HEIGHT / max(1, height)))
    return height * k, k


def enlarge(rgb: np.ndarray) -> np.ndarray:
    """The frame at the size it is drawn at (a copy: the panel is blended into it)."""
    import cv2

    _, k = larger(rgb.shape[0])
    return cv2.resize(rgb, None, fx=k, fy=k, interpolation=cv2.INTER_NEAREST) if k > 1 else rgb.copy()


def run_watch(results: FrameRun) -> dict:
    """Run a `watch` to its end and return its summary; Ctrl-C ends it cleanly (outputs written)."""
    return results.wait()


def read_watch(folder: str | Path) -> dict:
    """A watch folder's tables and summary (for reports and notebooks)."""
    folder = Path(folder)
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    out = {"summary": summary, "timeline": pd.read_csv(folder / "timeline.csv"),
           "segments": pd.read_csv(folder / "segments.csv")}
    if (folder / "alerts.csv").is_file():
        out["alerts"] = pd.read_csv(folder / "alerts.csv")
    return out
