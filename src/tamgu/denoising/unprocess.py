"""A RAW camera in software: real photos turned back into sensor data, dark and noisy, for learning without one.

After Brooks et al., "Unprocessing Images for Learned Raw Denoising" (CVPR 2019): an sRGB photo is undone step
by step (tone curve, gamma, camera colours, white balance, exposure), sampled through an RGGB mosaic, and given
the sensor's two noises: shot noise, whose variance grows with the light (variance = shot x), and read noise,
the same everywhere (variance = read). Darkness is a fraction of a normal exposure (`light` 1/16 = four stops
under): the signal shrinks and the camera's gain multiplies the noise back up when it develops.

A burst is several such captures of one scene held by a hand: each frame moved by a small random shift and
turn (`shake`, in pixels), optionally with something moving through it (`moving`). The first frame is the
reference; the truth is the clean reference developed the same way.

    tamgu denoise simulate --out bursts/ --light 1/16 --frames 8        # DNG files LibRaw reads, and truth.png
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
import pandas as pd

from ..errors import InputError
from .raw import XYZ_FROM_SRGB, RawMeta, develop, srgb_linear, untone, unpack

# The simulated camera: its colours (camera RGB from linear sRGB: each sensor colour sees some of the others),
# its white balance gains under daylight, 14-bit levels, and its noise at base ISO, in normalised units
CAM_FROM_SRGB = np.array([[0.78, 0.18, 0.04], [0.12, 0.80, 0.08], [0.04, 0.20, 0.76]])
WB = (2.0, 1.0, 1.6)
BLACK, WHITE = 512, 16383
SHOT, READ = 2e-4, 4e-7  # variance = SHOT x + READ: a full well near 5,000 electrons and 3 electrons of read noise
OPTICS = 0.8  # the lens and anti-aliasing filter's blur (Gaussian sigma, pixels): without it a shaken mosaic aliases
LIGHTS = ("1/8", "1/32", "1/128")  # the benchmark's light levels: three, five and seven stops under
SIM_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry")  # N2N's training photos
# photos no tamgu model trains on, for judging (Debian's opencv-doc, `make test-assets`)
JUDGE_PHOTOS = tuple(f"/usr/share/doc/opencv-doc/examples/data/{n}.jpg" for n in
                     ("fruits", "baboon", "building", "butterfly", "home"))


def parse_light(text: str | float) -> float:
    """'1/16', '0.0625' or 0.0625 -> 0.0625, the fraction of a normal exposure."""
    try:
        v = float(Fraction(str(text).strip()))
    except (ValueError, ZeroDivisionError):
        v = -1.0
    if not 0 < v <= 1:
        raise InputError(f"--light {text}: give the fraction of a normal exposure, like 1/16 (four stops under) "
                         "or 1 (a normal exposure)")
    return v


def camera_meta(light: float) -> RawMeta:
    srgb_from_cam = np.linalg.inv(CAM_FROM_SRGB)
    return RawMeta((float(BLACK),) * 4, float(WHITE), "RGGB", WB, tuple(map(tuple, srgb_from_cam.tolist())),
                   gain=1.0 / light, noise=(SHOT, READ))


def unprocess(rgb: np.ndarray, light: float) -> np.ndarray:
    """An sRGB photo (H, W, 3, 0..1) -> the linear camera RGB the simulated sensor would have recorded."""
    lin = srgb_linear(untone(rgb)) @ CAM_FROM_SRGB.T.astype(np.float32)
    return (lin / np.asarray(WB, np.float32) * light).astype(np.float32)


def mosaic_planes(cam: np.ndarray) -> np.ndarray:
    """Linear camera RGB (H, W, 3) -> packed RGGB planes (H/2, W/2, 4), as the mosaic samples them."""
    h, w = cam.shape[0] // 2 * 2, cam.shape[1] // 2 * 2
    c = cam[:h, :w]
    return np.stack([c[0::2, 0::2, 0], c[0::2, 1::2, 1], c[1::2, 0::2, 1], c[1::2, 1::2, 2]], -1)


def expose(planes: np.ndarray, rng: np.random.Generator, shot: float = SHOT, read: float = READ) -> np.ndarray:
    """Clean linear planes -> what the sensor stores: shot and read noise, 14-bit counts (black kept below)."""
    x = np.clip(planes, 0, None)
    noisy = rng.poisson(x / shot) * shot + rng.normal(0, np.sqrt(read), x.shape)
    counts = np.clip(np.round(noisy * (WHITE - BLACK) + BLACK), 0, WHITE)
    return ((counts - BLACK) / (WHITE - BLACK)).astype(np.float32)


@dataclass
class Burst:
    frames: list[np.ndarray]  # packed planes, normalised (noise below black kept)
    meta: RawMeta
    truth: np.ndarray         # the clean reference developed: sRGB (H, W, 3) 0..1
    clean: np.ndarray         # the clean reference planes
    name: str = ""


def _shake(rng: np.random.Generator, shake: float, centre: tuple[float, float]) -> np.ndarray:
    angle = rng.normal(0, 0.1 * shake)  # degrees: a hand turns a little as it moves
    m = cv2.getRotationMatrix2D(centre, angle, 1.0)
    m[:, 2] += rng.normal(0, shake, 2)
    return m


def simulate_burst(photo: np.ndarray, frames: int = 8, light: float = 1 / 32, shake: float = 1.5,
                   moving: bool = False, seed: int = 0, name: str = "") -> Burst:
    """A burst of `frames` noisy RAW captures of `photo` (sRGB 0..1) at `light`, moved by a hand's `shake`."""
    rng = np.random.default_rng(seed)
    rgb = photo[..., :3] if photo.ndim == 3 else np.repeat(photo[..., None], 3, -1)
    margin = int(np.ceil(4 * shake)) + 2
    h, w = (rgb.shape[0] - 2 * margin) // 2 * 2, (rgb.shape[1] - 2 * margin) // 2 * 2
    if min(h, w) < 32:
        raise InputError(f"{name or 'photo'}: {rgb.shape[1]}x{rgb.shape[0]} is too small for a burst with shake "
                         f"{shake} (at least {32 + 2 * margin} px a side)")
    cam = cv2.GaussianBlur(unprocess(rgb.astype(np.float32), light), (0, 0), OPTICS)
    patch = None
    if moving:  # a square of another part of the scene crosses the frame, 4% of the width per frame
        s = max(8, min(h, w) // 5)
        patch = np.ascontiguousarray(cam[margin:margin + s, margin:margin + s][::-1, ::-1])
        step = max(2, w // 25)
    meta = camera_meta(light)
    out, clean = [], None
    for k in range(frames):
        scene = cam
        if patch is not None:
            scene = cam.copy()
            x0, y0 = margin + w // 4 + k * step, margin + h // 3
            x1 = min(x0 + patch.shape[1], scene.shape[1])
            scene[y0:y0 + patch.shape[0], x0:x1] = patch[:, :x1 - x0]
        if k:
            m = _shake(rng, shake, (scene.shape[1] / 2, scene.shape[0] / 2))
            scene = cv2.warpAffine(scene, m, (scene.shape[1], scene.shape[0]), flags=cv2.INTER_CUBIC,
                                   borderMode=cv2.BORDER_REFLECT)
        planes = mosaic_planes(scene[margin:margin + h, margin:margin + w])
        if k == 0:
            clean = planes
        out.append(expose(planes, rng))
    return Burst(out, meta, develop(clean, meta), clean, name)


def photos(names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Colour photos by scikit-image name or by file path, as float sRGB 0..1."""
    from ..files import read_image
    from .noise import skimage_images, to_float

    out = {}
    for n in names or SIM_PHOTOS:
        if Path(str(n)).suffix:
            img = read_image(str(n))
            if img is None:
                raise InputError(f"{n}: not a readable photo (for the judge photos: make test-assets)")
            out[Path(str(n)).stem] = to_float(np.ascontiguousarray(img[..., ::-1]) if img.ndim == 3 else img)
        else:
            out.update(skimage_images([n]))
    return out


def write_dng(path: Path, planes: np.ndarray, meta: RawMeta) -> Path:
    """A DNG LibRaw reads: the mosaic as 16-bit counts with its levels, pattern, white balance, colour matrix
    (XYZ to camera) and noise profile."""
    import tifffile

    from ..files import atomic_path

    counts = np.clip(np.round(unpack(planes, meta.pattern) * (meta.white - BLACK) + BLACK), 0, meta.white)

    def rat(vals, den=10000):
        return [v for x in vals for v in (int(round(x * den)), den)]

    cam_from_xyz = CAM_FROM_SRGB @ np.linalg.inv(XYZ_FROM_SRGB)
    tags = [(50706, "B", 4, (1, 4, 0, 0), True), (50708, "s", 0, "tamgu simulated camera", True),
            (271, "s", 0, "tamgu", True), (272, "s", 0, "simulated camera", True),
            (33421, "H", 2, (2, 2), True), (33422, "B", 4, tuple("RGB".index(c) for c in meta.pattern), True),
            (50714, "H", 1, (BLACK,), True), (50717, "H", 1, (int(meta.white),), True),
            (50721, "2i", 9, rat(cam_from_xyz.flatten()), True),
            (50728, "2I", 3, rat([1 / v for v in meta.wb]), True), (50778, "H", 1, (21,), True)]
    if meta.noise:
        tags.append((51041, "d", 2, tuple(meta.noise), True))
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            tifffile.imwrite(f, counts.astype(np.uint16), photometric=32803, extratags=tags, metadata=None)
    return Path(path)


def write_burst(burst: Burst, folder: str | Path) -> Path:
    """frame_000.dng ... and truth.png (the clean reference developed) and burst.json (how it was made)."""
    from ..files import write_image, write_json
    from .noise import to_uint8

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for k, planes in enumerate(burst.frames):
        write_dng(folder / f"frame_{k:03d}.dng", planes, burst.meta)
    write_image(to_uint8(burst.truth)[..., ::-1].copy(), folder / "truth.png")
    write_json({"light": 1 / burst.meta.gain, "gain": burst.meta.gain, "frames": len(burst.frames),
                "noise": list(burst.meta.noise or ())}, folder / "burst.json")
    return folder


def simulate_bursts(out: str | Path, light: str = "1/32", frames: int = 8, shake: float = 1.5, moving: bool = False,
                    names: Sequence[str] | None = None, size: int = 0, seed: int = 0) -> pd.DataFrame:
    """Write simulated low-light RAW bursts of offline photos: OUT/<photo>/frame_000.dng ..., truth.png.

    Each folder is a burst `tamgu denoise OUT/<photo> --method burst` merges; truth.png is what a clean
    capture develops to, for judging. Returns a table: burst, frames, light, size.

    Args:
        out: folder for one sub-folder per photo
        light: fraction of a normal exposure, e.g. 1/32 (five stops under)
        frames: captures per burst
        shake: the hand's movement between captures (pixels, one standard deviation)
        moving: something crosses the scene during the burst
        names: scikit-image photos to use (default: astronaut, coffee, chelsea, rocket, immunohistochemistry)
        size: crop each photo's centre to this many pixels a side first (0 = whole)
        seed: random seed: the same seed gives the same bursts
    """
    if frames < 2:
        raise InputError(f"--frames {frames}: a burst has at least two captures")
    lv = parse_light(light)
    rows = []
    for i, (name, img) in enumerate(photos(names).items()):
        if size:
            y, x = max(0, (img.shape[0] - size) // 2), max(0, (img.shape[1] - size) // 2)
            img = img[y:y + size, x:x + size]
        burst = simulate_burst(img, frames, lv, shake, moving, seed + i, name)
        folder = write_burst(burst, Path(out) / name)
        rows.append({"burst": str(folder), "frames": frames, "light": light,
                     "size": f"{burst.truth.shape[1]}x{burst.truth.shape[0]}"})
    from ..files import write_csv

    table = pd.DataFrame(rows)
    write_csv(table, Path(out) / "bursts.csv")
    return table
