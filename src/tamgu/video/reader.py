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

from ..errors import TamguError


class VideoError(TamguError, RuntimeError):
    """A video that cannot be (fully) read; the frames before the damage are kept."""


@dataclass(frozen=True)
class Frame:
    index: int          # decoded frame number (0-based)
    time: float         # presentation time, seconds
    image: np.ndarray   # (H, W, 3) uint8, BGR (OpenCV's order) unless asked for rgb24


def open_video(path: str | Path):
    """The PyAV container of a file with a video stream; VideoError otherwise."""
    import av

    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as e:
        raise VideoError(f"{path}: cannot open ({e}); is it a video? re-download or re-encode it") from None
    if not container.streams.video:
        container.close()
        raise VideoError(f"{path}: has no video stream")
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
        raise ValueError(f"step {step}: use 1 (every frame) or more")
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
