"""Generated concrete surfaces with cracks and true masks, for building and judging crack detectors offline.

No real crack photograph ships offline, so these are honestly generated: real textures from scikit-image
(brick, gravel, grass, the moon's surface) and a fractal plaster, tinted as concrete and lit unevenly; cracks
are branching random walks whose width tapers to a hairline; and the things a crack detector must ignore are
drawn too: straight construction joints, faint formwork seams, round holes and bolts, stains and streaks.
A share of the surfaces has no crack at all. The layout is that of the public crack sets (CRACK500,
DeepCrack): `images/` and `masks/` with the same file stems, masks 255 = crack.

    synth_cracks(out, n=200)   OUT/images/*.png, OUT/masks/*.png, OUT/surfaces.csv (what each one holds)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from ..errors import InputError
from ..files import write_csv, write_image
from ..defaults import PROGRESS

log = logging.getLogger(__name__)

TEXTURES = ("gravel", "grass", "plaster", "brick", "moon")  # scikit-image's photographs and a fractal
TRAIN_TEXTURES = ("gravel", "grass", "plaster")           # what `tamgu cracks train` draws by default
HELD_OUT_TEXTURES = ("brick", "moon")                      # the judge: textures no training surface used
NO_CRACK_SHARE = 0.2    # surfaces without a crack (false alarms are counted on them)
SUPERSAMPLE = 4         # cracks are drawn at 4x and reduced: widths below a pixel come out as faint lines
MASK_COVERAGE = 0.3     # a pixel is crack in the true mask when the crack covers this share of it


@dataclass(frozen=True)
class Surface:
    image: np.ndarray   # BGR uint8
    mask: np.ndarray    # uint8, 255 = crack
    facts: dict         # texture, cracks, joints, holes, stains


def _texture(name: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """A grey texture in 0..1, a random crop of the photograph at a random scale (or a new fractal)."""
    if name == "plaster":  # fractal noise: octaves of smoothed white noise, coarse ones stronger
        out = np.zeros((size, size), np.float32)
        for octave in range(6):
            cell = max(1, size >> (6 - octave))
            small = rng.standard_normal((size // cell + 2, size // cell + 2)).astype(np.float32)
            out += cv2.resize(small, (size + 2 * cell, size + 2 * cell), interpolation=cv2.INTER_CUBIC)[
                cell:cell + size, cell:cell + size] * 0.6 ** (5 - octave)
        return (out - out.min()) / max(1e-6, np.ptp(out))
    import skimage.data

    if name not in TEXTURES:
        raise InputError(f"unknown texture {name!r}: use {', '.join(TEXTURES)}")
    photo = getattr(skimage.data, name)().astype(np.float32) / 255.0
    if photo.ndim == 3:
        photo = photo.mean(axis=2)
    crop = int(rng.uniform(0.45, 1.0) * min(photo.shape))
    y, x = (int(rng.integers(0, s - crop + 1)) for s in photo.shape[:2])
    tex = cv2.resize(photo[y:y + crop, x:x + crop], (size, size), interpolation=cv2.INTER_AREA)
    return np.rot90(tex, int(rng.integers(4))).copy()


def _concrete(tex: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Texture as a concrete surface: low contrast around a grey, a warm or cool tint, uneven light (BGR float)."""
    h, w = tex.shape
    grey = rng.uniform(110, 190) + (tex - tex.mean()) * rng.uniform(40, 110)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) / max(h, w)
    angle = rng.uniform(0, 2 * np.pi)
    light = 1 + rng.uniform(0.05, 0.3) * ((xx - 0.5) * np.cos(angle) + (yy - 0.5) * np.sin(angle))
    cx, cy = rng.uniform(0.2, 0.8, 2)
    light *= 1 - rng.uniform(0.0, 0.35) * ((xx - cx) ** 2 + (yy - cy) ** 2)  # a lamp's falloff
    tint = np.array([rng.uniform(0.9, 1.0), rng.uniform(0.95, 1.0), rng.uniform(0.95, 1.05)], np.float32)
    return grey[..., None] * light[..., None] * tint


def _walk(rng: np.random.Generator, size: int, start, angle: float, length: float, width: float,
          depth: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """One crack as polylines with a width per vertex: a random walk that keeps its heading loosely, tapers,
    and sometimes branches (each branch thinner and shorter)."""
    step = 2.0
    n = max(2, int(length / step))
    heading, drift = angle, 0.0
    pts, widths = [np.asarray(start, np.float32)], [width]
    branches = []
    for i in range(1, n):
        drift = 0.85 * drift + rng.normal(0, 0.18)       # wanders, but returns towards its heading
        heading = angle + drift + rng.normal(0, 0.12)
        p = pts[-1] + step * np.array([np.cos(heading), np.sin(heading)], np.float32)
        pts.append(p)
        w = width * (1 - 0.8 * i / n)                      # tapers to a hairline at the tip
        widths.append(max(0.4, w))
        if depth < 2 and i > 5 and rng.random() < 0.012:
            side = rng.choice([-1, 1]) * rng.uniform(0.35, 1.0)
            branches += _walk(rng, size, p, heading + side, length * rng.uniform(0.2, 0.5) * (1 - i / n),
                              widths[-1] * 0.7, depth + 1)
        if not (-20 <= p[0] <= size + 20 and -20 <= p[1] <= size + 20):
            break
    return [(np.asarray(pts), np.asarray(widths))] + branches


def _draw_polyline(canvas: np.ndarray, shade: np.ndarray, pts: np.ndarray, widths: np.ndarray, scale: int,
                   rng: np.random.Generator) -> None:
    """Into `canvas` the crack's cover (the true mask comes from it), into `shade` how dark it looks: the width
    jitters along the crack and the depth fades where dust or filler sits in it."""
    n = len(pts)
    jitter = np.exp(cv2.GaussianBlur(rng.normal(0, 0.35, (n, 1)), (0, 0), 2).ravel())
    fade = np.clip(0.55 + cv2.GaussianBlur(rng.normal(0, 1.2, (n, 1)), (0, 0), 6).ravel(), 0.25, 1.0)
    for i in range(1, n):
        pa, pb = tuple(int(v) for v in pts[i - 1] * scale), tuple(int(v) for v in pts[i] * scale)
        t = max(1, int(round(widths[i] * jitter[i] * scale)))
        cv2.line(canvas, pa, pb, 1.0, t, cv2.LINE_AA)
        cv2.line(shade, pa, pb, float(fade[i]), t, cv2.LINE_AA)


def surface(size: int = 256, seed: int = 0, texture: str | None = None, cracks: int | None = None,
            textures: Sequence[str] = TRAIN_TEXTURES, crack_free: float = NO_CRACK_SHARE) -> Surface:
    """One generated surface (BGR) with its true crack mask; `cracks` None draws 0 (with chance `crack_free`)
    to 3."""
    rng = np.random.default_rng(seed)
    texture = texture or str(rng.choice(list(textures)))
    img = _concrete(_texture(texture, size, rng), rng)
    if cracks is None:
        cracks = 0 if rng.random() < crack_free else int(rng.integers(1, 4))
    facts = {"texture": texture, "cracks": cracks, "joints": 0, "seams": 0, "holes": 0, "stains": 0, "pores": 0}

    # distractors first: stains and streaks (wide, soft), joints (long, straight), holes and bolts (round)
    for _ in range(int(rng.integers(0, 3))):
        blob = np.zeros((size, size), np.float32)
        c = tuple(int(v) for v in rng.integers(0, size, 2))
        axes = (int(rng.uniform(8, 50)), int(rng.uniform(8, 50)))
        cv2.ellipse(blob, c, axes, rng.uniform(0, 180), 0, 360, 1.0, -1)
        blob = cv2.GaussianBlur(blob, (0, 0), rng.uniform(6, 16))
        img *= 1 - rng.uniform(0.1, 0.3) * blob[..., None]
        facts["stains"] += 1
    for _ in range(int(rng.choice([0, 0, 1, 1, 2]))):
        groove = np.zeros((size, size), np.float32)
        vertical, tilt = rng.random() < 0.5, rng.uniform(-0.05, 0.05)
        at = rng.uniform(0.15, 0.85) * size
        a, b = (at, -5.0), (at + tilt * size, size + 5.0)
        if not vertical:
            a, b = a[::-1], b[::-1]
        cv2.line(groove, tuple(int(v) for v in a), tuple(int(v) for v in b), 1.0, int(rng.integers(2, 6)), cv2.LINE_AA)
        img *= 1 - rng.uniform(0.3, 0.55) * cv2.GaussianBlur(groove, (0, 0), 0.8)[..., None]
        facts["joints"] += 1
    seams = np.random.default_rng([seed, 1])  # their own stream: the rest of a seed's surface is unchanged
    for _ in range(int(seams.integers(0, 4))):  # formwork seams and tie lines: thin, faint, straight, part-length
        line = np.zeros((size, size), np.float32)
        angle = np.radians(seams.choice([0.0, 90.0]) + seams.uniform(-15, 15))
        half = seams.uniform(0.1, 0.5) * size
        c = seams.uniform(0.1, 0.9, 2) * size
        d = half * np.array([np.cos(angle), np.sin(angle)])
        cv2.line(line, tuple(int(v) for v in c - d), tuple(int(v) for v in c + d), 1.0, 1, cv2.LINE_AA)
        img *= 1 - seams.uniform(0.15, 0.4) * cv2.GaussianBlur(line, (0, 0), seams.uniform(0.4, 0.9))[..., None]
        facts["seams"] += 1
    for _ in range(int(rng.integers(0, 4))):
        c = tuple(int(v) for v in rng.integers(10, size - 10, 2))
        r = int(rng.uniform(3, 11))
        hole = np.zeros((size, size), np.float32)
        cv2.circle(hole, c, r, 1.0, -1, cv2.LINE_AA)
        if rng.random() < 0.5:  # a bolt: a lighter head inside a dark ring
            head = np.zeros_like(hole)
            cv2.circle(head, c, max(1, r - 2), 1.0, -1, cv2.LINE_AA)
            img *= (1 - 0.5 * hole + 0.35 * head)[..., None]
        else:
            img *= (1 - rng.uniform(0.4, 0.65) * cv2.GaussianBlur(hole, (0, 0), 0.7))[..., None]
        facts["holes"] += 1

    pits = int(rng.integers(0, 60))  # concrete's pores: many small dark dots
    for _ in range(pits):
        c = tuple(int(v) for v in rng.integers(0, size, 2))
        pore = np.zeros((size, size), np.float32)
        cv2.circle(pore, c, int(rng.integers(1, 3)), 1.0, -1, cv2.LINE_AA)
        img *= (1 - rng.uniform(0.2, 0.5) * pore)[..., None]
    facts["pores"] = pits

    big = size * SUPERSAMPLE
    canvas, shade = np.zeros((big, big), np.float32), np.zeros((big, big), np.float32)
    for _ in range(cracks):
        start = rng.uniform(0.1, 0.9, 2) * size
        for pts, widths in _walk(rng, size, start, rng.uniform(0, 2 * np.pi), rng.uniform(0.4, 1.1) * size,
                                 rng.uniform(0.8, 4.5)):
            _draw_polyline(canvas, shade, pts, widths, SUPERSAMPLE, rng)
    cover = cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA)
    if cracks:
        dark = cv2.resize(shade, (size, size), interpolation=cv2.INTER_AREA)
        depth = rng.uniform(0.3, 0.7)
        img *= 1 - depth * np.clip(cv2.GaussianBlur(dark, (0, 0), 0.5) * 1.3, 0, 1)[..., None]
    img += rng.normal(0, rng.uniform(1.5, 5), img.shape)  # the camera's noise
    mask = np.where(cover >= MASK_COVERAGE, 255, 0).astype(np.uint8)
    return Surface(np.clip(img, 0, 255).astype(np.uint8), mask, facts)


def synth_cracks(out: str | Path, n: int = 200, size: int = 256, seed: int = 0,
                 textures: Sequence[str] = TRAIN_TEXTURES, crack_free: float = NO_CRACK_SHARE,
                 progress: bool = PROGRESS) -> Path:
    """`tamgu synth-cracks OUT`: generated concrete surfaces with cracks and their true masks, in the layout
    of the public crack sets (OUT/images, OUT/masks, same stems; 255 = crack), and OUT/surfaces.csv saying
    what each holds. About a fifth have no crack (`crack_free`). Generated, not photographed: judge a model on
    a real set too.

    Args:
        out: output folder
        n: surfaces
        size: side in pixels
        seed: the same seed gives the same surfaces
        textures: comma-separated, of gravel, grass, plaster, brick, moon (brick and moon are held out of
            the default training surfaces, to judge on)
        crack_free: share of surfaces drawn without a crack, 0 to 1 (1: a set to count false alarms on)
    """
    from tqdm.auto import tqdm

    from ..files import no_bar

    textures = [textures] if isinstance(textures, str) else list(textures)
    for t in textures:
        if t not in TEXTURES:
            raise InputError(f"unknown texture {t!r}: use {', '.join(TEXTURES)}")
    if int(n) < 1:
        raise InputError(f"--n {n}: give 1 or more surfaces")
    if not 0 <= crack_free <= 1:
        raise InputError(f"--crack-free {crack_free}: give a share from 0 to 1")
    out = Path(out)
    rows = []
    for i in tqdm(range(int(n)), desc="surfaces", disable=no_bar(progress)):
        s = surface(size, seed * 100_003 + i, textures=textures, crack_free=crack_free)
        name = f"s{seed:03d}_{i:04d}.png"
        write_image(s.image, out / "images" / name)
        write_image(s.mask, out / "masks" / name)
        rows.append({"image": name, **s.facts, "crack_pixels": int((s.mask > 0).sum()), "generated": True})
    write_csv(pd.DataFrame(rows), out / "surfaces.csv")
    return out


WALL = (1280, 480)   # the generated wall a clip pans along (w, h); the camera sees 640x480 of it


def synth_wall_clip(out: str | Path, seconds: float = 10.0, fps: int = 10, seed: int = 0, texture: str = "plaster",
                    cracks: int = 6) -> Path:
    """A 640x480 H.264 clip of a camera moving along a generated wall (left to right over the first 60% of
    the time, then holding still), for `tamgu cracks --every` and near-duplicate skipping. The wall's true
    crack mask is written beside it as OUT.mask.png (the whole wall, 1280x480)."""
    from ..video.writer import VideoOut

    out = Path(out)
    if seconds <= 0 or fps < 1:
        raise InputError(f"seconds {seconds}, fps {fps}: give a positive length and at least 1 frame per second")
    w, h = WALL
    s = surface(w, seed, texture=texture, cracks=cracks)
    top = (w - h) // 2
    wall, mask = s.image[top:top + h], s.mask[top:top + h]
    frames = int(round(seconds * fps))
    moving = max(1, int(frames * 0.6))
    v = VideoOut(out, fps)
    try:
        for i in range(frames):
            x = int(round(min(i, moving - 1) / max(1, moving - 1) * (w - 640)))
            v.write(np.ascontiguousarray(wall[:, x:x + 640, ::-1]))
    finally:
        v.close()
    write_image(mask, out.with_name(out.name + ".mask.png"))
    return out
