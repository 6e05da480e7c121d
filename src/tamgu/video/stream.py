"""The frame loop every image tool runs (detect, find, background, denoise): photos, folders, video files,
cameras and streams go in; per-frame rows, files and an annotated video come out, with how fast it went.

    media_inputs(specs)   what each input is (photo, video file, camera, stream), checked before work starts;
                          "is it a video" is one rule: a known extension, else the container is probed
    frames(item)          its frames: a photo is one frame; a file every `step`-th frame; a live source the
                          newest frame each time (a slow tool drops frames, it never queues them)
    run_frames(...)       the loop: calls the tool on each frame, writes what it returns, an H.264 video for
                          video sources, and a summary per input (frames read/processed/dropped, fps, latency);
                          Ctrl-C ends it with everything written so far
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..io import IMAGE_EXTS, VIDEO_EXTS, no_bar, write_image, write_json
from .reader import Frame, LiveFrames, Source, VideoError, iter_frames, parse_source, video_info
from .writer import VideoOut

log = logging.getLogger(__name__)

# suffixes never probed as videos in a folder scan (tables, text, code, archives)
NOT_MEDIA = {".csv", ".json", ".txt", ".md", ".yaml", ".yml", ".py", ".ipynb", ".html", ".zip", ".npy", ".npz",
             ".pt", ".ckpt", ".onnx", ".tflite", ".xml", ".pbtxt", ".pb", ".log", ".srt", ".wav", ".mp3"}
# FFmpeg demuxers that read single pictures: a file they open is a photo, not a video
IMAGE_DEMUXERS = ("image2", "_pipe", "gif", "ico", "apng")


def is_video(path: str | Path) -> bool:
    """A file holding a video stream: a known video extension, else the container is probed (.mts, .vob, no
    extension...). Photos and files FFmpeg cannot open are not videos."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in VIDEO_EXTS:
        return True
    if suffix in IMAGE_EXTS or suffix in NOT_MEDIA:
        return False
    import av

    try:
        with av.open(str(path)) as c:
            name = c.format.name or ""
            return bool(c.streams.video) and not any(d in name for d in IMAGE_DEMUXERS)
    except (av.error.FFmpegError, OSError, ValueError):
        return False


@dataclass(frozen=True)
class Media:
    spec: str                  # as given
    kind: str                  # photo | video | camera | stream
    path: Path | None = None   # photos and video files
    source: Source | None = None  # video files, cameras and streams

    @property
    def live(self) -> bool:
        return self.kind in ("camera", "stream")

    @property
    def is_video(self) -> bool:
        return self.kind != "photo"

    @property
    def name(self) -> str:
        """The file name (photos, videos), else a name made from the address (`rtsp_192.168.0.10_554_cam`)."""
        if self.path is not None:
            return self.path.name
        text = self.spec.split("://", 1)[-1]
        return "".join(c if c.isalnum() or c in "-_." else "_" for c in text).strip("_") or "live"

    @property
    def stem(self) -> str:
        return self.path.stem if self.path is not None else self.name


def media_inputs(specs, what: str = "photos, folders, videos, a camera (0, /dev/video0) or a stream URL") -> list[Media]:
    """Every input named, folders scanned (sorted; files whose extension says nothing are probed), each checked
    before any work: a missing file, a camera that is not there or a bad URL is one clear error."""
    items: list[Media] = []
    for spec in [specs] if isinstance(specs, (str, Path)) else list(specs):
        text = str(spec)
        if ":/" in text or text.isdigit() or text.startswith("/dev/video"):
            src = parse_source(text)  # VideoError naming the address and the fix
            items.append(Media(text, src.kind, source=src))
            continue
        p = Path(text)
        if p.is_dir():
            for f in sorted(x for x in p.rglob("*") if x.is_file() and not x.name.startswith(".")):
                if f.suffix.lower() in IMAGE_EXTS:
                    items.append(Media(str(f), "photo", f))
                elif is_video(f):
                    items.append(Media(str(f), "video", f, parse_source(f)))
        elif p.exists():
            items.append(Media(text, "video", p, parse_source(p)) if is_video(p) else Media(text, "photo", p))
        else:
            raise FileNotFoundError(f"{p} does not exist: give {what}")
    return items


def read_photo(path: Path) -> np.ndarray:
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError("not a readable image (corrupt, empty or another format)")
    return img


class Meter:
    """Frames read, processed and dropped, wall time and latency (arrival of a live frame, or the start of its
    processing, to the end of it) for one input."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.read = self.processed = 0
        self.latency: list[float] = []
        self.last_time = 0.0

    def done(self, frame: Frame, started: float, live: bool) -> None:
        self.processed += 1
        self.last_time = frame.time
        self.latency.append(time.monotonic() - frame.captured if live and frame.captured else
                            time.perf_counter() - started)

    def fps(self) -> float:
        return self.processed / max(1e-9, time.perf_counter() - self.t0)

    def summary(self, dropped: int = 0, read: int | None = None) -> dict:
        wall = time.perf_counter() - self.t0
        lat = np.asarray(self.latency) * 1000
        return {"frames_read": int(self.read if read is None else read), "frames_processed": self.processed,
                "frames_dropped": int(dropped), "wall_seconds": round(wall, 3),
                "achieved_fps": round(self.processed / wall, 2) if wall > 0 else None,
                "video_seconds": round(float(self.last_time), 3),
                "latency_ms": {"mean": round(float(lat.mean()), 2), "p95": round(float(np.percentile(lat, 95)), 2)}
                if len(lat) else None}


def frames(item: Media, step: int = 1, timeout: float = 5.0, reconnect: int = 0,
           live_reader: list | None = None) -> Iterator[Frame]:
    """The frames of one input (BGR). For a live source the reader is appended to `live_reader` (its counts of
    frames read and dropped go into the summary)."""
    if item.kind == "photo":
        yield Frame(0, 0.0, read_photo(item.path))
        return
    if item.live:
        reader = LiveFrames(item.source, fmt="bgr24", timeout=timeout, reconnect=reconnect)
        if live_reader is not None:
            live_reader.append(reader)
        try:
            yield from reader
        finally:
            reader.close()
        return
    yield from iter_frames(item.path, step)


@dataclass
class Output:
    """What a tool makes of one frame: table rows, files to write (relative path -> BGR/BGRA/grey image), and the
    picture for the input's video (None: the frame itself is not shown)."""

    rows: list[dict] = field(default_factory=list)
    files: dict[str, np.ndarray] = field(default_factory=dict)
    shown: np.ndarray | None = None


def frame_file(item: Media, frame: Frame, tag: str = "", ext: str = ".jpg") -> str:
    """`vtest_f000300_mask.png`: a per-frame file's name (a photo keeps its own name, with the tag)."""
    if item.kind == "photo":
        return f"{item.path.stem}{'_' + tag if tag else ''}{ext if tag else item.path.suffix}"
    return f"{item.stem}_f{frame.index:06d}{'_' + tag if tag else ''}{ext}"


def run_frames(items: list[Media], tool: Callable[[Media, Frame], Output], out: Path | None, label: str,
               step: int = 1, video: bool = True, video_name: str = "{stem}_annotated.mp4",
               timeout: float = 5.0, reconnect: int = 0, seconds: float | None = None,
               progress: bool = True) -> tuple[list[dict], list[dict], list[str], bool]:
    """Run `tool` on every frame of every input. Returns (rows, summaries, errors, interrupted); each row gains
    `img`, `frame` and `time_s`. A failing input is reported and skipped; Ctrl-C stops, keeping what was done.
    With `out`, writes the files the tool returns and, for video sources (with `video`), an H.264 video of the
    pictures it shows; `out/summary.json` holds every input's counts, fps and latency."""
    from tqdm.auto import tqdm

    if int(step) < 1:
        raise ValueError(f"--frame-step {step}: use 1 (every frame) or more (every Nth frame).")
    rows: list[dict] = []
    summaries: list[dict] = []
    errors: list[str] = []
    interrupted = False
    outer = tqdm(items, desc=label, unit="input", disable=no_bar(progress) or len(items) < 2)
    for item in outer:
        meter, readers, writer, error = Meter(), [], None, None
        total = None
        if item.kind == "video":
            try:
                info = video_info(item.path)
                total = int(info["duration"] * info["fps"] / step) if info["duration"] else None
                rate = info["rate"] / step
            except VideoError:
                rate = None
        else:
            rate = None
        if out is not None and video and item.is_video:
            writer = VideoOut(out / video_name.format(stem=item.stem), rate)
        bar = tqdm(total=total, desc=item.name[:30], unit="frame", leave=False, disable=no_bar(progress))
        try:
            for fr in frames(item, step, timeout, reconnect, readers):
                meter.read += 1
                if seconds is not None and fr.time > seconds:
                    break
                started = time.perf_counter()
                result = tool(item, fr)
                for r in result.rows:
                    rows.append({"img": item.name, "frame": fr.index, "time_s": round(float(fr.time), 3), **r})
                if out is not None:
                    for rel, img in result.files.items():
                        write_image(img, out / rel)
                    if writer is not None and result.shown is not None:
                        writer.write(np.ascontiguousarray(result.shown[..., 2::-1]), fr.time if item.live else None)
                meter.done(fr, started, item.live)
                bar.update(1)
                if item.live:  # the live status line
                    bar.set_postfix_str(f"{meter.fps():.1f} fps, dropped {readers[0].dropped if readers else 0}",
                                        refresh=False)
        except KeyboardInterrupt:
            interrupted = True
        except Exception as e:  # noqa: BLE001 - one bad input must not stop the rest; it is reported
            error = str(e)
        finally:
            bar.close()
            if writer is not None:
                writer.close()
        live = readers[0] if readers else None
        if live is not None and live.error and not error:
            error = live.error if meter.processed == 0 else None  # a stream that ends after frames is a normal end
        summary = {"input": item.spec, "kind": item.kind, **meter.summary(live.dropped if live else 0,
                                                                         live.read if live else None),
                   "reconnects": int(live.reconnects) if live else 0, "stream_end": live.error if live else None,
                   "video": str(writer.path.name) if writer is not None and writer.frames else None,
                   "interrupted": interrupted, "error": error}
        if meter.processed == 0 and not error and not interrupted:
            error = summary["error"] = "no frame could be decoded"
        if error:
            errors.append(error if error.startswith(item.spec) else f"{item.spec}: {error}")
        summaries.append(summary)
        if interrupted:
            break
    if out is not None:
        write_json({"inputs": summaries, "interrupted": interrupted}, out / "summary.json")
    return rows, summaries, errors, interrupted


def speed_line(summaries: list[dict]) -> str:
    """`1,234 frames of 3 input(s) at 41.2 fps, latency 23.1 ms (p95 30.2), 17 dropped` for the printed summary."""
    frames_done = sum(s["frames_processed"] for s in summaries)
    wall = sum(s["wall_seconds"] for s in summaries)
    lat = [s["latency_ms"] for s in summaries if s["latency_ms"]]
    dropped = sum(s["frames_dropped"] for s in summaries)
    parts = [f"{frames_done:,} frame(s) of {len(summaries)} input(s)"]
    if wall > 0 and frames_done:
        parts.append(f"at {frames_done / wall:.1f} fps")
    if lat:
        mean = sum(x["mean"] for x in lat) / len(lat)
        parts.append(f"latency {mean:.1f} ms (p95 {max(x['p95'] for x in lat):.1f})")
    if dropped:
        parts.append(f"{dropped:,} dropped (the tool was slower than the source)")
    return ", ".join(parts)


__all__ = ["Media", "Output", "media_inputs", "is_video", "frames", "run_frames", "frame_file", "speed_line",
           "read_photo", "Meter"]
