"""The one video reader: every tool that decodes a video opens it here (PyAV/FFmpeg), so damage, rotation,
timing and errors are handled once.

    open_video(path)      the container, or VideoError naming the file and the fix
    timing(c, stream)     frame rate and duration
    iter_frames(path)     (index, time_s, image) for every `step`-th frame, display rotation applied

    plan / decode         `tamgu frames`' sampled decoding: parts cut at keyframes, decoded side by side
    is_video(path)        whether a file holds a video stream (a known extension, else the container is probed)
    open_source(source)   a file, camera or stream (`video.stream.parse_source` reads what the user wrote)
    (video.live.LiveFrames reads cameras and streams through open_source: the newest frame, by a thread)
    Scrubber(path)        the frame at any time, for a page that plays and seeks (decodes forward, seeks back)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from ..errors import InputError, TamguError


# FFmpeg demuxers that read single pictures: a file they open is a photo, not a video
IMAGE_DEMUXERS = ("image2", "_pipe", "gif", "ico", "apng")


class VideoError(TamguError, RuntimeError):
    """A video that cannot be (fully) read; the frames before the damage are kept."""


class NotAVideo(VideoError):
    """A file no decoder can make a video of (empty, or a picture under a video's name): no fallback is tried."""


@dataclass(frozen=True)
class Frame:
    index: int          # decoded frame number (0-based)
    time: float         # presentation time, seconds
    image: np.ndarray   # (H, W, 3) uint8, BGR (OpenCV's order) unless asked for rgb24
    captured: float = 0.0  # time.monotonic() when a live frame arrived (latency is measured from it)


def open_video(path: str | Path):
    """The PyAV container of a file with a video stream; VideoError otherwise."""
    import av

    if Path(path).is_file() and Path(path).stat().st_size == 0:
        raise NotAVideo(f"{path}: the file is empty (0 bytes): it was not copied or recorded completely; copy it "
                         "again")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as e:
        raise VideoError(f"{path}: cannot open ({e}); is it a video? re-download or re-encode it") from None
    if not container.streams.video:
        container.close()
        raise VideoError(f"{path}: has no video stream")
    demuxer = container.format.name or ""
    if any(d in demuxer for d in IMAGE_DEMUXERS):  # a photo with a video's name: FFmpeg reads it as 1 frame
        container.close()
        raise NotAVideo(f"{path}: is a picture ({demuxer.split(',')[0]}), not a video: rename it to the picture's "
                         "own extension (.png, .jpg) to use it as a photo")
    return container


def timing(container, stream) -> tuple[Fraction, float | None]:
    """Frame rate and duration (seconds; None when the file does not say)."""
    rate = stream.average_rate or stream.guessed_rate or Fraction(25)
    if stream.duration and stream.time_base:
        return rate, float(stream.duration * stream.time_base)
    return rate, (container.duration / 1e6 if container.duration else None)


def rotate(img: np.ndarray, degrees: float) -> np.ndarray:
    """Apply display rotation metadata (counter-clockwise degrees, as FFmpeg's display matrix)."""
    k = int(round(degrees / 90)) % 4
    return {0: img, 1: cv2.rotate(img, cv2.ROTATE_90_COUNTERCLOCKWISE), 2: cv2.rotate(img, cv2.ROTATE_180),
            3: cv2.rotate(img, cv2.ROTATE_90_CLOCKWISE)}[k]


def to_image(frame, fmt: str = "bgr24") -> np.ndarray:
    img = frame.to_ndarray(format=fmt)
    rot = getattr(frame, "rotation", 0) or 0
    return rotate(img, rot) if rot else img


def iter_frames(path: str | Path, step: int = 1, fmt: str = "bgr24", threads: int = 0) -> Iterator[Frame]:
    """Every `step`-th frame of a video, in order. Damage after some frames raises VideoError once those
    frames are yielded (the message says where); a file with no decodable frame raises it at once."""
    import av

    if step < 1:
        raise InputError(f"step {step}: use 1 (every frame) or more")
    with open_video(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame + slice threads
        stream.thread_count = threads
        i, t = -1, 0.0
        try:
            for i, f in enumerate(container.decode(stream)):
                t = float(f.time) if f.time is not None else t
                if i % step == 0:
                    yield Frame(i, t, to_image(f, fmt))
        except av.error.EOFError:
            pass
        except av.error.FFmpegError as e:
            raise VideoError(f"{path}: damaged after {t:.2f} s ({e}); the frames before were used") from None
        if i < 0:
            raise VideoError(f"{path}: no frame could be decoded (empty or truncated?); re-download or re-encode it")


def video_info(path: str | Path) -> dict:
    """Frame rate, duration, size and whether there is sound, without decoding."""
    with open_video(path) as container:
        stream = container.streams.video[0]
        rate, duration = timing(container, stream)
        return {"fps": float(rate), "rate": rate, "duration": duration, "width": stream.codec_context.width,
                "height": stream.codec_context.height, "audio": bool(container.streams.audio)}


# ------------------------------------------------------------------------------------- sampled decoding
# `tamgu frames`: frames that no other frame references are not decoded (skip_frame NONREF; `exact` decodes all),
# a far next sample is reached by seeking, and a keyframe index (MP4, Matroska, AVI) cuts the video into parts that
# decode side by side, each exactly as the one pass would. OpenCV is the fallback for what PyAV cannot open.
class Sampling(Protocol):
    """When to take frames (`video.frames.Sampling` is the one tamgu builds from --every, --count, ...): the
    target times, and the earliest and latest time a frame may have to stand for each."""
    keyframes: bool
    exact: bool

    def targets(self, duration: float | None, frame_dur: float = 0.0) -> np.ndarray: ...
    def bounds(self, targets: np.ndarray, duration: float | None, frame_dur: float) -> tuple[np.ndarray, ...]: ...


@dataclass
class Picked:
    time: float
    index: int
    image: np.ndarray  # BGR


@dataclass
class Part:
    """A stretch of a video decoded on its own, side by side with the others: from the keyframe at `start`
    (seconds; `seek` is its timestamp in the stream's time base) to the next part's keyframe at `end`."""
    targets: np.ndarray
    start: float | None = None     # None: the video's beginning
    seek: int | None = None
    end: float | None = None       # None: the end of the video


def _pick(frames: Iterator[tuple[float, object]], targets: np.ndarray, tolerance: float,
          bounds: tuple[np.ndarray, np.ndarray] | None = None) -> Iterator[tuple[float, object]]:
    """For each target time, the nearest of the frames given (time-ordered); each frame at most once. A frame
    outside `bounds` (earliest, latest time per target) never stands for that target: a variable-frame-rate
    file's frame at 9.8 s is not taken for --start 10s."""
    n = len(targets)
    lo, hi = bounds if bounds is not None else (np.full(n, -np.inf), np.full(n, np.inf))
    ti, prev, last = 0, None, None
    for t, f in frames:
        while ti < n and t >= targets[ti]:
            now = (t, f) if t <= hi[ti] + 1e-6 else None
            before = prev if prev is not None and prev[0] >= lo[ti] - 1e-6 else None
            choice = before if before and (now is None or targets[ti] - before[0] < t - targets[ti]) else now
            if choice is not None and choice[0] != last:
                last = choice[0]
                yield choice
            ti += 1
        if ti >= n:
            return
        prev = (t, f)
    # targets past the last frame: the last frame serves those within the tolerance
    if prev is not None and ti < n and targets[ti] - prev[0] <= tolerance and lo[ti] - 1e-6 <= prev[0] != last:
        yield prev


def _keyframe_cuts(container, stream, targets: np.ndarray, parts: int) -> list[tuple[float, int]]:
    """About `parts - 1` keyframes spread over the targets, as (presentation time, seek timestamp), read from
    the container's index (MP4, Matroska, AVI): no decoding. [] when the file has no usable index."""
    import av

    try:
        container.seek(0, stream=stream)  # Matroska reads its cues (the keyframe index) on the first seek
        keys = np.array([e.timestamp for e in stream.index_entries if e.is_keyframe], dtype=np.int64)
    except (av.error.FFmpegError, OSError):
        return []
    if len(keys) < 2:
        return []
    tb = stream.time_base
    key_times = keys * float(tb)
    cuts: list[tuple[float, int]] = []
    tried = {0}
    for want in np.linspace(targets[0], targets[-1], parts + 1)[1:-1]:
        i = int(np.argmin(np.abs(key_times - want)))  # the nearest keyframe: parts of even length
        if i in tried:
            continue
        tried.add(i)
        pts = _seek_point(container, stream, int(keys[i]))
        if pts is not None and float(pts * tb) > targets[0] and (not cuts or float(pts * tb) > cuts[-1][0]):
            cuts.append((float(pts * tb), pts))
    return cuts


def _seek_point(container, stream, key: int) -> int | None:
    """Presentation timestamp of the keyframe whose index timestamp is `key`, if seeking there lands on it exactly.

    Indexes may hold decoding times, and a seek to one can land a keyframe early: read the packets up to the
    keyframe to learn its presentation time, then check that seeking to that time lands on it."""
    import av

    try:
        container.seek(key, stream=stream, backward=True)
        packet = next((p for p in container.demux(stream) if p.is_keyframe and p.pts is not None
                       and (p.dts if p.dts is not None else p.pts) >= key), None)
        if packet is None:
            return None
        container.seek(packet.pts, stream=stream, backward=True)
        first = next((p for p in container.demux(stream) if p.pts is not None), None)
    except (av.error.FFmpegError, OSError):
        return None  # e.g. an index pointing past the end of a truncated file
    if first is None or not first.is_keyframe or first.pts != packet.pts:
        return None
    return int(packet.pts)


def plan(path: Path, sampling: Sampling, parts: int = 1) -> list[Part]:
    """The video's sample times, split at keyframes into at most `parts` stretches to decode side by side."""
    with open_video(path) as container:
        stream = container.streams.video[0]
        rate, duration = timing(container, stream)
        targets = sampling.targets(duration, 1 / float(rate))
        if parts < 2 or len(targets) < 2 or sampling.keyframes:
            return [Part(targets)]
        cuts = _keyframe_cuts(container, stream, targets, parts)
    starts = [(None, None)] + cuts
    ends = [t for t, _ in cuts] + [None]
    out = []
    for (start, seek), end in zip(starts, ends):
        lo, hi = -np.inf if start is None else start, np.inf if end is None else end
        inside = targets[(targets >= lo) & (targets < hi)]
        if len(inside):
            out.append(Part(inside, start, seek, end))
    return out


def decode(path: Path, sampling: Sampling, part: Part, errors: list[str], threads: int) -> Iterator[Picked]:
    """The frames nearest `part.targets`, decoded with PyAV. Problems (damage, truncation) go to `errors`;
    the frames before them are yielded. `threads` 0 lets FFmpeg use every core, 1 when parts run side by side."""
    import av

    with open_video(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame + slice threads
        stream.thread_count = threads
        if sampling.keyframes:
            stream.codec_context.skip_frame = "NONKEY"
        elif not sampling.exact:
            stream.codec_context.skip_frame = "NONREF"
        rate, duration = timing(container, stream)
        frame_dur = 1 / float(rate)
        targets = part.targets
        if not len(targets):
            return
        end = part.end if part.end is not None else duration
        tb = stream.time_base
        keyframes: list[float] = []  # times of the keyframes seen: their spacing tells when seeking pays

        def decoded() -> Iterator[tuple[float, object]]:
            ti, t = 0, part.start or 0.0
            seeked_from = float("-inf")
            if part.seek is not None:
                container.seek(part.seek, stream=stream, backward=True)
            elif targets[0] > 2.0:
                container.seek(int(targets[0] / tb), stream=stream, backward=True)
            while True:
                try:
                    for f in container.decode(stream):
                        # leading frames of an open GOP belong to the part before this one
                        if f.time is None or (part.start is not None and f.time < part.start - frame_dur / 2):
                            continue
                        t = float(f.time)
                        if f.key_frame and (not keyframes or t > keyframes[-1]):
                            keyframes.append(t)
                        yield t, f
                        while ti < len(targets) and targets[ti] <= t:
                            ti += 1
                        # far from the next sample: seek to it rather than decode the gap
                        gop = float(np.median(np.diff(keyframes))) if len(keyframes) > 1 else None
                        if ti < len(targets) and gop and targets[ti] - t > 3 * gop and not sampling.keyframes \
                                and t > seeked_from:  # never twice from the same place: a damaged index loops
                            seeked_from = t
                            container.seek(int((targets[ti] - frame_dur) / tb), stream=stream, backward=True)
                            break
                    else:
                        break
                except av.error.EOFError:
                    break
                except av.error.FFmpegError as e:
                    errors.append(f"{path}: damaged after {t:.2f} s ({e}); the other frames were kept")
                    return
            # the stream ended well before its declared length (or this part's end): a truncated download or copy
            if end and duration and not sampling.keyframes and t < end - max(0.5, 3 * frame_dur):
                errors.append(f"{path}: ends at {t:.2f} s of its {duration:.2f} s (truncated?); the frames before "
                              "were kept: re-download or re-copy it")

        tolerance = frame_dur * (3 if sampling.keyframes else 1.5)
        bounds = sampling.bounds(targets, duration, frame_dur)
        for t, f in _pick(decoded(), targets, tolerance, bounds):
            img = f.to_ndarray(format="bgr24")
            rot = getattr(f, "rotation", 0) or 0
            if rot:
                img = rotate(img, rot)
            yield Picked(t, int(round(t * float(rate))), img)


def opencv_frames(path: Path, sampling: Sampling, errors: list[str]) -> Iterator[Picked]:
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise VideoError(f"{path}: OpenCV cannot open it; is it a video? re-download or re-encode it")
    try:
        fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
        n = cap.get(cv2.CAP_PROP_FRAME_COUNT)
        targets = sampling.targets(n / fps if n > 0 else None, 1 / fps)

        def decoded():
            i = 0
            while True:  # the fallback decodes every frame: simple, and OpenCV cannot skip any
                ok, img = cap.read()
                if not ok:
                    return
                yield cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0, (i, img)  # the time of the frame just read
                i += 1

        bounds = sampling.bounds(targets, n / fps if n > 0 else None, 1 / fps)
        for t, (i, img) in _pick(decoded(), targets, 1.5 / fps, bounds):
            yield Picked(t, i, img)
    finally:
        cap.release()


# ------------------------------------------------------------------------------------------ live sources
@dataclass(frozen=True)
class Source:
    """A video file, a camera or a stream, as `video.stream.parse_source` read it from what the user wrote."""
    spec: str                 # as the user wrote it
    url: str                  # what FFmpeg opens (a camera index becomes /dev/videoN)
    kind: str                 # file | camera | stream
    format: str | None = None  # FFmpeg input format (v4l2 for cameras)

    @property
    def live(self) -> bool:
        return self.kind != "file"


def open_source(src: Source, timeout: float = 5.0):
    """The container of a source. Streams give up after `timeout` seconds without data (a stalled camera)."""
    import av

    options = {}
    if src.kind == "stream":
        micro = str(int(timeout * 1e6))
        options = {"rw_timeout": micro} if src.url.split(":", 1)[0].lower() in ("http", "https", "tcp") else \
            {"timeout": micro, "rtsp_transport": "tcp"} if src.url.lower().startswith("rtsp") else {"timeout": micro}
        # start within a second: FFmpeg would otherwise read 5 s of a live stream to learn its format
        options.update(analyzeduration="1000000", probesize="500000")
    try:
        container = av.open(src.url, format=src.format, options=options)
    except (av.error.FFmpegError, OSError) as e:
        raise VideoError(f"{src.spec}: cannot open ({e}); check the address, that the camera or server is on, and "
                         "that this machine may reach it") from None
    if not container.streams.video:
        container.close()
        raise VideoError(f"{src.spec}: has no video stream")
    return container


class Scrubber:
    """The frame shown at any time of one video, for a page that plays and seeks: decodes forward from the last
    frame it gave (playing costs one decode per frame), seeks back to a keyframe for an earlier time or a jump
    of more than `jump` seconds. One thread at a time (the caller locks)."""

    def __init__(self, path: str | Path, jump: float = 3.0):
        self.path, self.jump = Path(path), jump
        self.info = video_info(path)
        self._container = self._frames = self._pending = None
        self._last: tuple[float, object] | None = None  # (time, frame) of the frame decoded last

    def _open(self, t: float) -> None:
        if self._container is None:
            self._container = open_video(self.path)
        stream = self._container.streams.video[0]
        self._container.seek(max(0, int(t / stream.time_base)), stream=stream, backward=True)
        self._frames, self._last, self._pending = self._container.decode(stream), None, None

    def at(self, t: float, fmt: str = "rgb24") -> tuple[float, np.ndarray]:
        """(the shown frame's time, its image): the last frame whose time is at most `t` (the first, before it)."""
        import av

        last = self._last
        if self._frames is None or last is None or t < last[0] - 1e-6 or t - last[0] > self.jump:
            self._open(t)
        try:
            while True:
                f, self._pending = (self._pending, None) if self._pending is not None else \
                    (next(self._frames, None), None)
                if f is None:  # the end: the last frame stays on screen
                    break
                if f.time is None:
                    continue
                if float(f.time) > t + 1e-6 and self._last is not None:
                    self._pending = f  # shown at a later request
                    break
                self._last = (float(f.time), f)
        except av.error.FFmpegError as e:
            raise VideoError(f"{self.path}: damaged near {t:.2f} s ({e})") from None
        if self._last is None:
            raise VideoError(f"{self.path}: no frame at {t:.2f} s")
        return self._last[0], to_image(self._last[1], fmt)

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = self._frames = None


def frame_at(path: str | Path, seconds: float) -> np.ndarray:
    """The RGB frame of a video shown at `seconds` (the last one before it): a quick look inside a file."""
    last = None
    for fr in iter_frames(path, fmt="rgb24"):
        if fr.time > seconds + 1e-6 and last is not None:
            break
        last = fr.image
    if last is None:
        raise VideoError(f"{path}: no frame could be decoded")
    return last
