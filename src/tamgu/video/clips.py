"""Generated video clips whose every frame shows its own index as a barcode: ground truth for frame sampling."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

BITS = 12  # frame indices up to 4095


def draw_frame(index: int, size: tuple[int, int], frozen: bool = False) -> np.ndarray:
    """RGB frame with `index` as BITS black/white blocks along the top and a moving square below."""
    w, h = size
    img = np.full((h, w, 3), 40, np.uint8)
    bw = w // BITS
    for b in range(BITS):
        if (index >> b) & 1:
            img[: h // 4, b * bw:(b + 1) * bw] = 255
    x = (index * 7) % max(1, w - h // 4)
    cv2.rectangle(img, (x, h // 2), (x + h // 4, h // 2 + h // 4), (30, 200, 60), -1)
    if frozen:
        img[h // 4:] = 90  # a static picture below the code: a frozen camera
    return img


def read_index(img_bgr: np.ndarray) -> int:
    """The frame index drawn by draw_frame, read back from a (possibly compressed, rotated back) image."""
    h, w = img_bgr.shape[:2]
    bw = w // BITS
    gray = cv2.cvtColor(img_bgr, cv2.COLOR_BGR2GRAY)
    bits = [gray[h // 16: h // 5, b * bw + bw // 4:(b + 1) * bw - bw // 4].mean() > 128 for b in range(BITS)]
    return sum(1 << b for b, on in enumerate(bits) if on)


def write_clip(path: str | Path, seconds: float = 4.0, fps: int = 25, size: tuple[int, int] = (192, 108),
               codec: str = "libx264", vfr: bool = False, rotate: int = 0, freeze: tuple[float, float] | None = None,
               gop: int | None = None, faststart: bool = False) -> list[float]:
    """Write a clip and return each frame's presentation time in seconds.

    `vfr`: frame durations alternate between 1x and 3x the nominal one (a variable-frame-rate file).
    `rotate`: display-rotation metadata (degrees counter-clockwise), as phones write it.
    `freeze`: (start, end) seconds during which the picture does not change (except the index code).
    `faststart`: MP4 with its index before the data (as web videos): a truncated copy still opens.
    """
    from .writer import VideoOut

    times, t, i = [], 0.0, 0
    with VideoOut(path, rate=fps, codec=codec, gop=gop, rotate=rotate, faststart=faststart, options={}) as out:
        while t < seconds - 1e-9:
            frozen = freeze is not None and freeze[0] <= t < freeze[1]
            img = draw_frame(i, size, frozen)
            if frozen:
                img = draw_frame(0, size, True)  # identical pictures, code included
            out.write(img, t)
            times.append(t)
            t += (1.0 if not vfr else (1.0 if i % 2 == 0 else 3.0)) / fps
            i += 1
    return times
