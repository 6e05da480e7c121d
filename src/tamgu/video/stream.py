"""The frame loop every image tool runs (detect, find, background, denoise): photos, folders, video files,
cameras and streams go in; per-frame rows, files and an annotated video come out, with how fast it went.

    media_inputs(specs)   what each input is (photo, video file, camera, stream), checked before work starts;
                          "is it a video" is one rule: a known extension, else the container is probed
    frames(item)          its frames: a photo is one frame; a file every `step`-th frame; a live source the
                          newest frame each time (a slow tool drops frames, it never queues them)
    FrameOptions          the options every frame tool shares (frame step, video out, threads, timeout,
                          reconnect, seconds, progress, accelerator): their defaults exist here only, and each
                          tool's command line is generated from it (`argspec`), checked before any input opens
    frame_loop(...)       the loop: calls the tool on each frame, writes what it returns, an H.264 video for
                          video sources, and a summary per input (frames read/processed/dropped, fps, latency);
                          Ctrl-C ends it with everything written so far
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..defaults import ACCELERATOR, PROGRESS, THREADS
from ..errors import InputError, MissingInput, did_you_mean
from ..files import IMAGE_EXTS, VIDEO_EXTS, no_bar, write_image, write_json
from .live import LiveFrames
from .reader import Frame, Source, VideoError, iter_frames, open_video, video_info
from .writer import VideoOut

log = logging.getLogger(__name__)

# suffixes never probed as videos in a folder scan (tables, text, code, archives)
NOT_MEDIA = {".csv", ".json", ".txt", ".md", ".yaml", ".yml", ".py", ".ipynb", ".html", ".zip", ".npy", ".npz",
             ".pt", ".ckpt", ".onnx", ".tflite", ".xml", ".pbtxt", ".pb", ".log", ".srt", ".wav", ".mp3"}


def is_video(path: str | Path) -> bool:
    """A file holding a video stream: a known video extension, else the container is probed (.mts, .vob, no
    extension...). Photos and files FFmpeg cannot open are not videos."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in VIDEO_EXTS:
        return True
    if suffix in IMAGE_EXTS or suffix in NOT_MEDIA:
        return False
    try:  # the reader opens it: pictures, empty files and what FFmpeg cannot read are refused there
        open_video(path).close()
        return True
    except (VideoError, ValueError):
        return False


STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "udp", "tcp", "srt", "rtp")


def parse_source(spec: str | Path) -> Source:
    """A video file, a camera (`0`, `/dev/video0`) or a stream URL (`rtsp://`, `http://`...), checked before
    work starts; a URL is kept as written (never read as a path, which loses a slash)."""
    text = str(spec)
    head = text.split(":/", 1)[0].lower()
    if "://" not in text and ":/" in text and head in STREAM_SCHEMES:  # a slash lost on the way (a path join)
        raise VideoError(f"{text}: a stream address needs two slashes after {head}: ({head}://{text.split(':/', 1)[1]})")
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in STREAM_SCHEMES:
        return Source(text, text, "stream")
    if scheme:
        raise VideoError(f"{text}: unknown stream scheme {scheme!r}; tamgu reads {', '.join(STREAM_SCHEMES)} "
                         "streams, cameras (0, /dev/video0) and video files")
    if text.isdigit():
        text = f"/dev/video{text}"
    if text.startswith("/dev/video"):
        if not Path(text).exists():
            raise VideoError(f"camera {spec} ({text}) does not exist: is it plugged in? `ls /dev/video*` lists "
                             "the cameras this machine sees")
        return Source(str(spec), text, "camera", "v4l2")
    if not Path(text).exists():
        raise VideoError(f"{text} does not exist: give a video file, a folder of videos, a camera (0) or a stream "
                         "URL (rtsp://..., http://...)")
    return Source(text, text, "file")


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
            raise MissingInput(f"{p} does not exist: give {what}")
    return items


class FrameOptions(BaseModel):
    """What every frame tool (detect, find, background, denoise, cracks, watch) shares. A tool takes the ones it
    uses as keyword arguments (`**options`); `frame_options` checks them once, before any input is opened."""

    model_config = ConfigDict(extra="forbid")

    frame_step: int = Field(1, ge=1, description="videos: every Nth frame (a live source: the newest frame each time)")
    video: bool = Field(True, description="write an annotated H.264 video of each video source")
    frame_images: bool = Field(False, description="also write every processed frame of a video as an image (heavy)")
    threads: int | None = Field(THREADS, ge=1, description="threads for the model, OpenCV and torch (default: the "
                                "cores, at most 4)")
    timeout: float = Field(5.0, gt=0, description="seconds without data before a live stream counts as stalled")
    reconnect: int = Field(0, ge=0, description="times a live stream that stalls, ends or refuses is reopened, "
                           "waiting longer each time (0.5 s, 1 s, 2 s ... at most 8 s)")
    seconds: float | None = Field(None, gt=0, description="stop each source after this many seconds of it")
    progress: bool = Field(PROGRESS, description="progress bars on a terminal or in a notebook (a status line on "
                           "live sources)")
    accelerator: str = Field(ACCELERATOR, description="deep models run with torch: cpu, gpu, mps or auto")
    stream: bool = Field(False, description="Python: return a FrameRun to iterate frame by frame as the sources "
                         "play (its .value is what the tool returns otherwise)")


PYTHON_ONLY = ("stream",)  # options with no command-line flag
ALL_OPTIONS = tuple(n for n in FrameOptions.model_fields if n not in PYTHON_ONLY)
# which of them each kind of tool takes (the detectors run no torch model of their own choosing; denoise always
# writes a video of a video source, so it has no --no-video)
TOOL_OPTIONS = {
    "detect": tuple(n for n in ALL_OPTIONS if n != "accelerator"),
    "faces": ALL_OPTIONS,  # MTCNN runs in torch
    "denoise": tuple(n for n in ALL_OPTIONS if n not in ("video", "accelerator")),
    "cracks": tuple(n for n in ALL_OPTIONS if n != "frame_images"),
    "watch": tuple(n for n in ALL_OPTIONS if n not in ("frame_step", "frame_images")),  # it has --every
}


def frame_options(options: dict, tool: str, allowed: tuple[str, ...] | str = ALL_OPTIONS) -> FrameOptions:
    """The tool's options checked once, before work starts: an unknown name or an out-of-range value is one
    InputError that names the option and what it takes."""
    allowed = TOOL_OPTIONS[allowed] if isinstance(allowed, str) else allowed
    if isinstance(options.get("opts"), FrameOptions):  # already checked by the caller
        return options["opts"]
    for name in options:
        if name not in allowed and name not in PYTHON_ONLY:
            raise InputError(f"{tool} has no option {name!r}{did_you_mean(name, allowed)}; its frame options are "
                             f"{', '.join(allowed)}")
    try:
        return FrameOptions(**{k: v for k, v in options.items() if v is not None or k in ("threads", "seconds")})
    except ValidationError as err:
        e = err.errors()[0]
        name, ctx = str(e["loc"][0]), e.get("ctx") or {}
        how = (f"use {ctx['ge']} or more" if e["type"] == "greater_than_equal" else
               f"use more than {ctx['gt']}" if e["type"] == "greater_than" else e["msg"].lower())
        raise InputError(f"--{name.replace('_', '-')} {e.get('input')}: {how} "
                         f"({FrameOptions.model_fields[name].description})") from None


def options_doc(allowed: tuple[str, ...] | str = ALL_OPTIONS) -> str:
    """The `Args:` lines of the frame options, for a tool's docstring."""
    allowed = (TOOL_OPTIONS[allowed] if isinstance(allowed, str) else allowed) + PYTHON_ONLY
    return "".join(f"\n        {n}: {FrameOptions.model_fields[n].description}" for n in allowed)


def read_photo(path: Path) -> np.ndarray:
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError("not a readable image (corrupt, empty or another format)")
    return img


def expected_frames(info: dict, step: int, seconds: float | None) -> int | None:
    """Frames the loop will process of a video file (its progress bar's total): --seconds cuts it short."""
    span = min(info["duration"], seconds) if info["duration"] and seconds else info["duration"]
    return int(span * info["fps"] / step) if span else None


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
    """What a tool makes of one frame: table rows, files to write (relative path -> BGR/BGRA/grey image), the
    picture for the input's video (None: the frame itself is not shown), whether the frame was analysed (a tool
    that looks at every Nth second shows the others but does not count them as processed), what a caller
    iterating the loop gets for this frame (`result`), and a few words for the live status line."""

    rows: list[dict] = field(default_factory=list)
    files: dict[str, np.ndarray] = field(default_factory=dict)
    shown: np.ndarray | None = None
    analysed: bool = True
    result: dict | None = None
    status: str = ""


@dataclass
class LoopResult:
    """What the loop did, filled in as it goes: kept when a caller stops iterating early."""

    rows: list[dict] = field(default_factory=list)
    summaries: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    interrupted: bool = False


class FrameRun:
    """What a frame tool returns with `stream=True` (and `watch` always): iterate it for one result per analysed
    frame, as the sources play; when they end, or the caller stops (break, Ctrl-C), every output is written and
    `.value` is what the tool returns without streaming, `.summary` each input's summary. So `list(run)`
    loses nothing: the summary stays on the object. `.wait()` runs it to the end and returns `.value`."""

    def __init__(self, frames: Iterator[dict], finish: Callable[[], Any]):
        self._frames, self._finish = frames, finish
        self._done, self.value = False, None

    def __iter__(self) -> Iterator[dict]:
        try:
            yield from self._frames
        except KeyboardInterrupt:  # the loop has written what it did
            pass
        finally:
            self._close()

    def _close(self) -> None:
        if not self._done:
            self._frames.close()  # stops the loop where it is; it writes its outputs
            self._done = True
            self.value = self._finish()

    def wait(self) -> Any:
        for _ in self:
            pass
        return self.value

    @property
    def summary(self) -> Any:
        """The tool's summary once the run has ended (None before)."""
        v = self.value
        return getattr(v, "attrs", {}).get("summaries", v) if v is not None else None


def frame_file(item: Media, frame: Frame, tag: str = "", ext: str = ".jpg") -> str:
    """`vtest_f000300_mask.png`: a per-frame file's name (a photo keeps its own name, with the tag)."""
    if item.kind == "photo":
        return f"{item.path.stem}{'_' + tag if tag else ''}{ext if tag else item.path.suffix}"
    return f"{item.stem}_f{frame.index:06d}{'_' + tag if tag else ''}{ext}"


def frame_loop(items: list[Media], tool: Callable[[Media, Frame], Output], out: Path | None, label: str,
               opts: FrameOptions | None = None, video_name: str | Callable[[Media], str] = "{stem}_annotated.mp4",
               step: int | None = None, summary_file: str | None = "summary.json",
               state: LoopResult | None = None) -> Iterator[dict]:
    """The one frame loop: `tool` on every frame of every input, yielding each analysed frame's `result`.

    A failing input is reported and skipped; Ctrl-C (or a caller that stops iterating) stops, keeping what was
    done. With `out`, writes the files the tool returns and, for video sources (with `opts.video`), an H.264
    video of the pictures it shows (`video_name`: a pattern of the input's stem, or a function of the input);
    `out/summary.json` holds every input's counts, fps, latency and why it ended. `step` overrides
    `opts.frame_step` for a tool that must see every frame (background subtraction). A tool may also have
    `start(item)`, called before an input's first frame, and `finish(item, summary) -> dict`, whose keys join
    that input's summary (watch writes its timeline there). `state` collects rows, summaries and errors."""
    from tqdm.auto import tqdm

    opts = opts or FrameOptions()
    state = state if state is not None else LoopResult()
    step = opts.frame_step if step is None else step
    video, timeout, reconnect, seconds, progress = opts.video, opts.timeout, opts.reconnect, opts.seconds, opts.progress
    start, finish = getattr(tool, "start", None), getattr(tool, "finish", None)
    outer = tqdm(items, desc=label, unit="input", disable=no_bar(progress) or len(items) < 2)
    try:
        for item in outer:
            meter, readers, writer, error = Meter(), [], None, None
            total = rate = None
            if item.kind == "video":
                try:
                    info = video_info(item.path)
                    total, rate = expected_frames(info, step, seconds), info["rate"] / step
                except VideoError:
                    pass
            if out is not None and video and item.is_video:
                name = video_name(item) if callable(video_name) else video_name.format(stem=item.stem)
                writer = VideoOut(out / name, rate)
            bar = tqdm(total=total, desc=item.name[:30], unit="frame", leave=False, disable=no_bar(progress))
            try:
                if start is not None:
                    start(item)
                for fr in frames(item, step, timeout, reconnect, readers):
                    meter.read += 1
                    if seconds is not None and fr.time > seconds:
                        break
                    started = time.perf_counter()
                    result = tool(item, fr)
                    for r in result.rows:
                        state.rows.append({"img": item.name, "frame": fr.index, "time_s": round(float(fr.time), 3),
                                           **r})
                    if out is not None:
                        for rel, img in result.files.items():
                            write_image(img, out / rel)
                        if writer is not None and result.shown is not None:
                            writer.write(np.ascontiguousarray(result.shown[..., 2::-1]), fr.time if item.live else None)
                    if result.analysed:
                        meter.done(fr, started, item.live)
                    bar.update(1)
                    if item.live or result.status:  # the live status line
                        bar.set_postfix_str(", ".join(x for x in (
                            result.status, f"{meter.fps():.1f} fps" if item.live else "",
                            f"dropped {readers[0].dropped}" if readers else "") if x), refresh=False)
                    if result.analysed:  # after the frame is written: a caller that stops here loses nothing
                        yield {"input": item.spec, "frame": fr.index, "time_s": round(float(fr.time), 3),
                               "rows": result.rows, **(result.result or {})}
            except (KeyboardInterrupt, GeneratorExit):
                state.interrupted = True
            except Exception as e:  # noqa: BLE001 - one bad input must not stop the rest; it is reported
                error = str(e)
            finally:
                bar.close()
                if writer is not None:
                    writer.close()
            live = readers[0] if readers else None
            if live is not None and live.error and not error:
                error = live.error if meter.processed == 0 else None  # a stream that ends after frames: a normal end
            summary = {"input": item.spec, "kind": item.kind, **meter.summary(live.dropped if live else 0,
                                                                             live.read if live else None),
                       "reconnects": int(live.reconnects) if live else 0, "stream_end": live.error if live else None,
                       "video": str(writer.path.relative_to(out)) if writer is not None and writer.frames else None,
                       "interrupted": state.interrupted, "error": error}
            if meter.read == 0 and not error and not state.interrupted:
                error = summary["error"] = "no frame could be decoded"
            if finish is not None:
                summary.update(finish(item, summary))
            if error:
                state.errors.append(error if error.startswith(item.spec) else f"{item.spec}: {error}")
            state.summaries.append(summary)
            if state.interrupted:
                break
    finally:
        outer.close()
        if out is not None and summary_file:
            write_summary(state.summaries, state.interrupted, out, summary_file)


def run_tool(items: list[Media], tool: Callable[[Media, Frame], Output], out: Path | None, label: str,
             opts: FrameOptions, finish: Callable[[LoopResult], Any], **loop) -> Any:
    """A frame tool's run: the loop, then `finish(state)` (its tables, its return value). With `opts.stream`,
    a FrameRun the caller iterates instead; `finish` runs when it ends."""
    state = LoopResult()
    frames_ = frame_loop(items, tool, out, label, opts, state=state, **loop)
    if opts.stream:
        return FrameRun(frames_, lambda: finish(state))
    for _ in frames_:
        pass
    return finish(state)


def write_summary(summaries: list[dict], interrupted: bool, out: Path, name: str = "summary.json") -> None:
    """summary.json in `out`: this run's inputs, and an earlier run's other inputs kept beside them."""
    path, inputs = out / name, {s["input"] for s in summaries}
    earlier = []
    if path.is_file():
        try:
            earlier = [s for s in json.loads(path.read_text()).get("inputs", []) if s.get("input") not in inputs]
        except (ValueError, AttributeError):
            earlier = []
    write_json({"inputs": earlier + summaries, "interrupted": interrupted}, path)


def end_lines(summaries: list[dict]) -> list[str]:
    """Why each live source ended, for the printed summary: `rtsp://...: the stream ended (after 2 reconnects)`."""
    out = []
    for s in summaries:
        if s.get("kind") not in ("camera", "stream"):
            continue
        why = ("stopped by Ctrl-C" if s.get("interrupted") else
               "stopped after --seconds" if s.get("stream_end") is None and not s.get("error") else
               s.get("error") or s.get("stream_end"))
        tries = s.get("reconnects", 0)
        out.append(f"  {s['input']}: {why}" + (f" (after {tries} reconnect{'s' * (tries != 1)})" if tries else ""))
    return out


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


__all__ = ["Media", "Output", "media_inputs", "is_video", "frames", "frame_file", "speed_line",
           "read_photo", "Meter", "end_lines", "frame_loop", "run_tool", "FrameRun", "LoopResult", "FrameOptions", "frame_options", "options_doc",
           "write_summary"]
