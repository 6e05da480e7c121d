"""`tamgu watch RUN SOURCE --out DIR`: a trained run on a video file, a folder of videos, a camera or a stream:
what the driver does, second by second.

    DIR/timeline.csv    time_s, frame, one probability per class, label (after temporal smoothing)
    DIR/segments.csv    start_s, end_s, label, mean_prob
    DIR/alerts.csv      start_s, alarm_s, end_s, classes, seconds (with --alert "c1,c2>=2s")
    DIR/annotated.mp4   H.264: every frame of a file at its own rate (labels held between sampled frames);
                        on a live source, every frame the model saw, at the time it was captured
    DIR/segments/       the first frame of each segment (the report's samples and Grad-CAM)
    DIR/summary.json    frames read, processed and dropped, achieved fps, latency, what was written

On a live source a reader thread keeps only the newest frame, so a slow model drops frames (counted) instead
of falling behind; on a file every sampled frame (`every`) is processed as fast as the machine allows. Ctrl-C
ends cleanly with every output written. A folder of videos writes one such folder per video under DIR.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import InputError
from ..console import in_notebook
from ..files import VIDEO_EXTS, no_bar, write_csv, write_image, write_json
from ..video.reader import LiveFrames, VideoError, iter_frames, parse_source, video_info
from ..video.writer import VideoOut
from . import timeline
from .annotate import blend, border, describe, panel

log = logging.getLogger(__name__)

EVERY = 0.2    # seconds between the frames the model sees on a file: 5 a second, far finer than an action
SMOOTH = 0.6   # seconds of probabilities averaged: chosen on generated dashboard clips (benchmarks/watch_smoothing.py)


def watch(run: str | Path, source: str, out: str | Path, every: float = EVERY, smooth: float = SMOOTH,
          alert: str | None = None, serve: int | None = None, reconnect: int = 0, timeout: float = 5.0,
          engine: Literal["auto", "torch", "onnx"] = "auto", fold: int | None = None, video: bool = True,
          accelerator: str = "auto", seconds: float | None = None, progress: bool = True) -> Iterator[dict]:
    """Watch SOURCE with the run's models; yields one result per processed frame (time_s, frame, label,
    probabilities) and returns the summary (also DIR/summary.json) when the source ends.

    Args:
        run: run folder written by tamgu train
        source: a video file, a folder of videos, a camera (0, /dev/video0) or a stream URL (rtsp://, http://)
        out: output folder
        every: seconds between the frames the model sees on a file (a live source: as fast as it can)
        smooth: seconds of probabilities averaged before the label is taken (0: none)
        alert: CLASSES>=DURATION, e.g. "c1,c2,c3,c4>=2s": any of these classes held that long
        serve: show the annotated stream on a page at http://127.0.0.1:PORT/
        reconnect: times a live stream that stalls or ends is reopened
        timeout: seconds without data before a live stream counts as stalled
        engine: auto (onnxruntime on a CPU, PyTorch on a GPU), torch or onnx
        fold: only this fold's model (default: the mean of every fold)
        video: write the annotated video (off: tables only)
        seconds: stop after this much of the source
    """
    from ..pipeline.inference import Predictor

    if every <= 0:
        raise InputError(f"--every {every}: the time between frames the model sees must be positive.")
    if smooth < 0:
        raise InputError(f"--smooth {smooth}: a smoothing window is 0 seconds or more.")
    out = Path(out)
    src = Path(str(source))
    if "://" not in str(source) and src.is_dir():
        files = sorted(f for f in src.rglob("*") if f.is_file() and f.suffix.lower() in VIDEO_EXTS)
        if not files:
            raise VideoError(f"{src} holds no videos ({', '.join(sorted(VIDEO_EXTS))}).")
        sources = [(parse_source(f), out / f.stem) for f in files]
    else:
        sources = [(parse_source(source), out)]
    predictor = Predictor(run, engine=engine, fold=fold, accelerator=accelerator)
    rule = timeline.parse_alert(alert, predictor.classes) if alert else None
    view = None
    if serve is not None:
        from .serve import LiveView

        view = LiveView(int(serve), str(source))
        print(f"live view: {view.url}", flush=True)
    summaries = []
    try:
        for s, folder in sources:
            summaries.append((yield from _watch_one(predictor, s, folder, every, smooth, rule, view, reconnect,
                                                     timeout, video, seconds, progress)))
            if summaries[-1].get("interrupted"):
                break
    finally:
        if view is not None:
            view.close()
    if in_notebook():  # the timeline under the cell
        from ..reports.figures import finish, timeline_figure

        for x in summaries:
            w = read_watch(x["out"])
            finish(timeline_figure(w["timeline"], w["segments"], x["classes"], w.get("alerts")))
    if len(summaries) == 1:
        return summaries[0]
    overall = {"videos": len(summaries), "out": str(out), "per_video": summaries,
               "frames_processed": sum(x["frames_processed"] for x in summaries)}
    write_json(overall, out / "summary.json")
    return overall


def _watch_one(predictor, src, out: Path, every: float, smooth: float, rule, view, reconnect: int, timeout: float,
               write_video: bool, seconds: float | None, progress: bool) -> Iterator[dict]:
    from tqdm.auto import tqdm

    from ..pipeline.cache import resize

    classes = predictor.classes
    out.mkdir(parents=True, exist_ok=True)
    live = None
    if src.live:
        live = LiveFrames(src, fmt="rgb24", timeout=timeout, reconnect=reconnect)
        frames, rate, total = iter(live), None, None
    else:
        info = video_info(src.url)
        rate, total = info["rate"], int(info["duration"] * info["fps"]) if info["duration"] else None
        frames = iter_frames(src.url, fmt="rgb24")
    bar = tqdm(total=total, desc=f"watch {Path(src.spec).name}", unit="frame", disable=no_bar(progress),
               leave=False)
    smoother, alarm_state = timeline.Smoother(smooth), timeline.AlertState(rule)
    rows, latency, seg_start, seg_label, seg_n = [], [], 0.0, None, 0
    writer = VideoOut(out / "annotated.mp4", rate) if write_video else None
    overlay, alarm, next_t, read, last_t = None, False, 0.0, 0, 0.0
    interrupted, error, t_start = False, None, time.perf_counter()
    try:
        for fr in frames:
            read += 1
            bar.update(1)
            last_t = fr.time
            if seconds is not None and fr.time > seconds:
                break
            due = src.live or fr.time + 1e-6 >= next_t
            result = None
            if due:
                t0 = time.perf_counter()
                p = predictor(resize(fr.image, predictor.size)[None])[0]
                sp = smoother.add(fr.time, p)
                label = classes[int(np.argmax(sp))]
                alarm = alarm_state.update(fr.time, label)
                done = time.perf_counter()
                # on a live source the frame waited in the reader's slot too: latency from its arrival
                latency.append((done - t0) if not src.live else time.monotonic() - fr.captured)
                if label != seg_label:
                    seg_label, seg_start = label, fr.time
                    write_image(fr.image[..., ::-1], out / "segments" / f"seg_{seg_n:03d}_{label}.jpg")
                    seg_n += 1
                row = {"time_s": round(float(fr.time), 3), "frame": fr.index,
                       **{c: float(v) for c, v in zip(classes, p)}, "label": label, "alarm": bool(alarm)}
                rows.append(row)
                overlay = panel(classes, sp, label, seg_start, fr.time, rule.text if alarm else None, fr.image.shape[0])
                while next_t <= fr.time + 1e-6:
                    next_t += every
                bar.set_postfix_str(f"{describe(label)[:24]} {sp.max():.2f}" + (" ALERT" if alarm else ""),
                                    refresh=False)
                result = {"source": src.spec, **row, "smoothed": dict(zip(classes, map(float, sp)))}
            if overlay is not None and (writer is not None or view is not None):
                shown = blend(fr.image.copy(), overlay)
                if alarm:
                    border(shown)
                if writer is not None:
                    writer.write(shown, fr.time if src.live else None)
                if view is not None:
                    view.publish(shown, label=seg_label, label_text=describe(seg_label),
                                 prob=float(max(rows[-1][c] for c in classes)), processed=len(rows),
                                 fps=len(rows) / max(1e-9, time.perf_counter() - t_start), alarm=bool(alarm))
            if result is not None:
                yield result  # after the frame is written: a caller that stops here loses nothing
    except (KeyboardInterrupt, GeneratorExit):  # Ctrl-C, or the caller stopped iterating: keep what was done
        interrupted = True
    except VideoError as e:  # damage mid-file: what was processed is kept
        error = str(e)
    finally:
        bar.close()
        wall = time.perf_counter() - t_start
        if live is not None:
            live.close()
            error = error or live.error
        if writer is not None:
            writer.close()
    summary = _finish(out, src, classes, rows, latency, rule, read, live, wall, last_t, every, smooth, predictor,
                      interrupted, error, writer)
    if view is not None:
        view.status["alerts"] = [f"{a.start_s:.1f}–{a.end_s:.1f} s: {a.classes}"
                                 for a in pd.read_csv(out / "alerts.csv").itertuples()] if rule else []
    return summary


def _finish(out, src, classes, rows, latency, rule, read, live, wall, last_t, every, smooth, predictor, interrupted,
            error, writer) -> dict:
    """Write the tables and the summary (also after Ctrl-C or a broken stream)."""
    cols = ["time_s", "frame", *classes, "label", "alarm"]
    table = pd.DataFrame(rows, columns=cols)
    smoothed = timeline.smooth(table["time_s"].to_numpy(), table[classes].to_numpy(), smooth) if len(table) else \
        np.zeros((0, len(classes)))
    write_csv(table, out / "timeline.csv")
    segs = timeline.segments(table["time_s"].to_numpy(), table["label"].tolist(), smoothed, classes, end=last_t)
    write_csv(segs, out / "segments.csv")
    alerts = timeline.alerts(table["time_s"].to_numpy(), table["label"].tolist(), rule, end=last_t) \
        if rule is not None else None
    if alerts is not None:
        write_csv(alerts, out / "alerts.csv")
    lat = np.asarray(latency, float) * 1000
    summary: dict[str, Any] = {
        "source": src.spec, "kind": src.kind, "out": str(out), "run": str(predictor.run), "classes": classes,
        "engine": predictor.engine,
        "folds": predictor.folds, "image_size": list(predictor.size), "every_s": None if src.live else every,
        "smooth_s": smooth, "alert": rule.text if rule else None,
        "frames_read": int(live.read if live is not None else read), "frames_processed": int(len(table)),
        "frames_dropped": int(live.dropped) if live is not None else 0,
        "reconnects": int(live.reconnects) if live is not None else 0,
        "video_seconds": round(float(last_t), 3), "wall_seconds": round(wall, 3),
        "achieved_fps": round(len(table) / wall, 2) if wall > 0 else None,
        "read_fps": round(read / wall, 2) if wall > 0 else None,
        "realtime_factor": round(last_t / wall, 2) if wall > 0 and last_t else None,
        "latency_ms": {"mean": round(float(lat.mean()), 2), "p95": round(float(np.percentile(lat, 95)), 2)}
        if len(lat) else None,
        "segments": int(len(segs)), "alerts": int(len(alerts)) if alerts is not None else None,
        "interrupted": interrupted, "error": error,
        "files": {"timeline": "timeline.csv", "segments": "segments.csv",
                  **({"alerts": "alerts.csv"} if rule else {}),
                  **({"video": "annotated.mp4"} if writer is not None and writer.frames else {})},
    }
    write_json(summary, out / "summary.json")
    return summary



def run_watch(results: Iterator[dict]) -> dict:
    """Consume a `watch` to its end and return its summary; Ctrl-C ends it cleanly (outputs written)."""
    while True:
        try:
            try:
                next(results)
            except KeyboardInterrupt:
                results.throw(KeyboardInterrupt)
        except StopIteration as stop:
            return stop.value


def read_watch(folder: str | Path) -> dict:
    """A watch folder's tables and summary (for reports and notebooks)."""
    folder = Path(folder)
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    out = {"summary": summary, "timeline": pd.read_csv(folder / "timeline.csv"),
           "segments": pd.read_csv(folder / "segments.csv")}
    if (folder / "alerts.csv").is_file():
        out["alerts"] = pd.read_csv(folder / "alerts.csv")
    return out
