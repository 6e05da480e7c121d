"""The panel drawn over each frame of a watched video: the class (with its Korean name for State Farm's),
a probability bar per class, how long the current segment has lasted, and the alert when it is on.

Drawn with Pillow (OpenCV cannot draw Hangul) on a small panel that is blended into the frame; the panel
is redrawn only when the result changes, so frames between two model results cost one blend.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..statefarm import CLASS_DESCRIPTIONS

FONTS = ("/usr/share/fonts/truetype/nanum/NanumGothic.ttf", "/usr/share/fonts/truetype/nanum/NanumBarunGothic.ttf",
         "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
ALERT_RED = (220, 30, 30)


@functools.lru_cache(maxsize=8)
def font(size: int):
    for path in FONTS:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default()


def has_hangul() -> bool:
    return "Nanum" in str(getattr(font(12), "path", ""))


def describe(cls: str) -> str:
    """`c3 왼손으로 문자` for State Farm's classes (English where no Korean font is installed), else the name."""
    if cls == "uncertain":
        return "uncertain 불확실" if has_hangul() else "uncertain"
    if cls not in CLASS_DESCRIPTIONS:
        return cls
    en, ko = CLASS_DESCRIPTIONS[cls]
    return f"{cls} {ko if has_hangul() else en}"


def panel(classes: list[str], probs: np.ndarray, label: str, since: float, now: float, alarm: str | None,
          height: int) -> np.ndarray:
    """An RGBA panel (height x width x 4) for the left edge of a frame `height` pixels high."""
    scale = max(0.6, height / 480)
    width = int(250 * scale)
    row = max(12, int(min(21 * scale, (height - 90 * scale) / max(1, len(classes)))))
    top = int((40 if alarm else 0) * scale) + int(54 * scale)
    height = min(height, top + row * len(classes) + int(8 * scale))
    im = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    d.rectangle([0, 0, width, height], fill=(0, 0, 0, 150))
    y = int(6 * scale)
    if alarm:
        d.rectangle([0, 0, width, int(34 * scale)], fill=ALERT_RED + (235,))
        d.text((int(8 * scale), int(7 * scale)), f"ALERT {alarm}", font=font(int(16 * scale)), fill="white")
        y = int(40 * scale)
    sure = label in classes  # "uncertain": the top probability is shown, in grey
    k = classes.index(label) if sure else int(np.argmax(probs))
    d.text((int(8 * scale), y), describe(label), font=font(int(17 * scale)), fill="white" if sure else (170, 170, 170))
    y += int(24 * scale)
    d.text((int(8 * scale), y), f"p {probs[k]:.2f} · {now - since:4.1f} s", font=font(int(13 * scale)),
           fill=(220, 220, 220))
    y += int(24 * scale)
    small = font(max(9, int(row * 0.62)))
    bar_x, bar_w = int(150 * scale), width - int(158 * scale)
    for c, p in zip(classes, probs):
        name = describe(c)
        while len(name) > 3 and d.textlength(name, font=small) > bar_x - int(10 * scale):
            name = name[:-1]
        d.text((int(6 * scale), y), name, font=small, fill="white")
        colour = (255, 190, 40) if c == label else (90, 170, 255)
        d.rectangle([bar_x, y + 2, bar_x + bar_w, y + row - 3], outline=(120, 120, 120))
        d.rectangle([bar_x, y + 2, bar_x + int(bar_w * float(p)), y + row - 3], fill=colour)
        y += row
    return np.asarray(im)


def blend(frame: np.ndarray, overlay: np.ndarray) -> np.ndarray:
    """`overlay` (RGBA) laid over the left edge of `frame` (RGB), in place; returns the frame."""
    h, w = overlay.shape[:2]
    h, w = min(h, frame.shape[0]), min(w, frame.shape[1])
    a = overlay[:h, :w, 3:4].astype(np.float32) / 255
    region = frame[:h, :w].astype(np.float32)
    frame[:h, :w] = (region * (1 - a) + overlay[:h, :w, :3] * a).astype(np.uint8)
    return frame


def border(frame: np.ndarray, colour=ALERT_RED, thickness: int = 6) -> np.ndarray:
    """A coloured frame around the picture (the alert is on)."""
    frame[:thickness], frame[-thickness:] = colour, colour
    frame[:, :thickness], frame[:, -thickness:] = colour, colour
    return frame
