"""The one video reader: every tool that decodes a video opens it here (PyAV/FFmpeg), so damage, rotation,
timing and errors are handled once.

    open_video(path)      the container, or VideoError naming the file and the fix
    timing(c, stream)     frame rate and duration
    iter_frames(path)     (index, time_s, image) for every `step`-th frame, display rotation applied

`video.frames` builds its sampled, seeking, parallel decoding on the same functions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

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


# ------------------------------------------------------------------------------------------ live sources
STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "udp", "tcp", "srt", "rtp")


@dataclass(frozen=True)
class Source:
    spec: str                 # as the user wrote it
    url: str                  # what FFmpeg opens (a camera index becomes /dev/videoN)
    kind: str                 # file | camera | stream
    format: str | None = None  # FFmpeg input format (v4l2 for cameras)

    @property
    def live(self) -> bool:
        return self.kind != "file"


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


def backoff(attempt: int) -> float:
    """Seconds to wait before reconnection attempt 1, 2, 3...: 0.5, 1, 2, 4, then 8 at most."""
    return min(8.0, 0.25 * 2 ** attempt)


class LiveFrames:
    """The newest frame of a live source, read by a thread of its own: a slow consumer gets the latest frame and
    the count of frames it never saw (dropped), never a queue that grows. A stream that stalls for `timeout`
    seconds or ends is reopened, `reconnect` times in all, then the frames end (`error` says why)."""

    def __init__(self, src: Source, fmt: str = "rgb24", timeout: float = 5.0, reconnect: int = 0):
        import threading

        self.src, self.fmt, self.timeout, self.reconnect = src, fmt, timeout, reconnect
        self._cond = threading.Condition()
        self._latest: Frame | None = None
        self._taken = -1
        self._done = False
        self._stop = threading.Event()
        self.read = 0           # frames decoded from the source
        self.dropped = 0        # frames overwritten before anyone took them
        self.reconnects = 0
        self.error: str | None = None
        self.rate: float | None = None
        self._thread = threading.Thread(target=self._run, name="tamgu-live-reader", daemon=True)
        self._container = open_source(src, timeout)  # fail at once, before work starts, on a bad address
        self._thread.start()

    def _run(self) -> None:
        import time as _time

        import av

        container, t0 = self._container, _time.monotonic()
        while not self._stop.is_set():
            try:
                stream = container.streams.video[0]
                stream.thread_type = "AUTO"
                self.rate = float(stream.average_rate or stream.guessed_rate or 0) or None
                for f in container.decode(stream):
                    if self._stop.is_set():
                        break
                    # a live frame's time is when it arrived: what the model's latency is measured against
                    now = _time.monotonic()
                    frame = Frame(self.read, now - t0, to_image(f, self.fmt), now)
                    with self._cond:
                        if self._latest is not None and self._latest.index != self._taken:
                            self.dropped += 1
                        self._latest = frame
                        self.read += 1
                        self._cond.notify_all()
                why = "the stream ended"
            except (av.error.FFmpegError, OSError) as e:
                why = f"the stream stopped ({e})"
            container.close()
            container = None
            # `reconnect` tries in all, each after a longer wait (0.5 s, 1 s, 2 s ... 8 s): a server that is
            # restarting refuses the first tries, and a refused try counts as one
            while container is None and not self._stop.is_set() and self.reconnects < self.reconnect:
                self.reconnects += 1
                if self._stop.wait(backoff(self.reconnects)):
                    break
                try:
                    container = open_source(self.src, self.timeout)
                except VideoError as e:
                    why = str(e)
            if container is None:
                self.error = None if self._stop.is_set() else why
                break
        with self._cond:
            self._done = True
            self._cond.notify_all()

    def next(self) -> Frame | None:
        """The newest frame not yet taken (waits for one); None when the source has ended."""
        with self._cond:
            while not self._done and (self._latest is None or self._latest.index == self._taken):
                self._cond.wait(0.5)
            if self._latest is None or self._latest.index == self._taken:
                return None
            self._taken = self._latest.index
            return self._latest

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.timeout + 2)

    def __iter__(self) -> Iterator[Frame]:
        while (frame := self.next()) is not None:
            yield frame


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
