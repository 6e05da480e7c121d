"""RAW sensor data: reading it, packing the Bayer mosaic, and developing it to sRGB once.

A RAW frame is the sensor's linear count before the camera's processing. tamgu reads

* DNG and camera RAW files (CR2, NEF, ARW, RAF, ORF, RW2, ...) through `rawpy` (LibRaw);
* 16-bit mosaic TIFF or PNG files, with the levels LibRaw would read from a DNG written beside them in
  `raw.json` (black, white, pattern, white balance; optional colour matrix and noise profile);

and a burst is a folder of such files, all one size. Values are kept linear and normalised:
(count - black) / (white - black), with the noise below black kept (negative), which an 8-bit JPEG loses.

    frame = read_raw("IMG_0001.dng")   # RawFrame: .planes (H/2, W/2, 4: R, G, G, B), .meta
    rgb = develop(frame.planes, frame.meta)   # white balance, demosaic, colour, gamma, tone curve
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError, MissingInput

RAW_SUFFIXES = {".dng", ".cr2", ".cr3", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".raf", ".orf", ".rw2", ".pef",
                ".srw", ".3fr", ".iiq", ".rwl", ".x3f", ".erf", ".kdc", ".mrw"}
MOSAIC_SUFFIXES = {".tif", ".tiff", ".png"}
SIDECAR = "raw.json"
PATTERNS = ("RGGB", "BGGR", "GRBG", "GBRG")
# OpenCV names a Bayer pattern by its second row's second and third pixels: its "BG" is an RGGB sensor
_CV_DEMOSAIC = {"RGGB": cv2.COLOR_BayerBG2RGB, "BGGR": cv2.COLOR_BayerRG2RGB,
                "GRBG": cv2.COLOR_BayerGB2RGB, "GBRG": cv2.COLOR_BayerGR2RGB}
# XYZ (D65) from linear sRGB: turns a camera's XYZ->camera matrix into a camera->sRGB one (as dcraw does)
XYZ_FROM_SRGB = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                          [0.0193339, 0.1191920, 0.9503041]])


@dataclass(frozen=True)
class RawMeta:
    """What developing needs, from the file: levels, mosaic layout, white balance and the camera's colours."""

    black: tuple[float, float, float, float]  # per packed channel R, G, G, B (sensor counts)
    white: float                               # saturation (sensor counts)
    pattern: str                               # the 2x2 mosaic from the top-left: RGGB, BGGR, GRBG or GBRG
    wb: tuple[float, float, float]             # gains for R, G, B (G = 1): multiply the camera's R and B
    ccm: tuple[tuple[float, ...], ...] = ((1.0, 0, 0), (0, 1.0, 0), (0, 0, 1.0))  # linear sRGB from camera RGB
    gain: float = 1.0                          # exposure to apply when developing (1 = as shot)
    noise: tuple[float, float] | None = None   # (shot, read): variance = shot * x + read, x normalised 0..1
    source: str = ""

    def to_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "source"}

    @classmethod
    def from_json(cls, d: dict, source: str = "") -> "RawMeta":
        missing = [k for k in ("black", "white", "pattern", "wb") if d.get(k) is None]
        if missing:
            raise InputError(f"{source}: {', '.join(missing)} missing. A RAW mosaic needs its black and white levels, "
                             "its Bayer pattern and white balance: write them in raw.json as "
                             '{"black": 512, "white": 16383, "pattern": "RGGB", "wb": [2.0, 1.0, 1.6]} '
                             "(the camera's values; `exiftool -BlackLevel -WhiteLevel -CFAPattern` shows them).")
        black = d["black"]
        black = tuple(float(b) for b in (black if isinstance(black, (list, tuple)) else [black] * 4))
        pattern = str(d["pattern"]).upper()
        if pattern not in PATTERNS or len(black) != 4:
            raise InputError(f"{source}: pattern {d['pattern']!r} / black {d['black']!r}: the pattern is one of "
                             f"{', '.join(PATTERNS)} and black is one number or four")
        if not float(d["white"]) > max(black):
            raise InputError(f"{source}: white level {d['white']} is not above the black level {max(black):g}: "
                             "the levels are wrong (check the camera's metadata)")
        wb = tuple(float(v) for v in d["wb"])[:3]
        wb = tuple(v / wb[1] for v in wb)
        ccm = tuple(tuple(float(v) for v in row) for row in d.get("ccm") or np.eye(3))
        noise = tuple(float(v) for v in d["noise"]) if d.get("noise") else None
        return cls(black, float(d["white"]), pattern, wb, ccm, float(d.get("gain", 1.0)), noise, source)


@dataclass
class RawFrame:
    planes: np.ndarray  # (H/2, W/2, 4) float32: R, G, G, B, normalised, noise below black kept
    meta: RawMeta
    path: str = ""


# ------------------------------------------------------------------------------------------------ reading
def is_raw(path: str | Path) -> bool:
    path = Path(path)
    return path.suffix.lower() in RAW_SUFFIXES or (path.suffix.lower() in MOSAIC_SUFFIXES
                                                   and (path.parent / SIDECAR).is_file())


def _sites(pattern: str) -> list[tuple[int, int]]:
    """The 2x2 positions of R, the two Gs (raster order) and B."""
    cells = [(0, 0), (0, 1), (1, 0), (1, 1)]
    return ([cells[pattern.index("R")]] + [c for c, p in zip(cells, pattern) if p == "G"]
            + [cells[pattern.index("B")]])


def pack(mosaic: np.ndarray, pattern: str) -> np.ndarray:
    """(H, W) Bayer mosaic -> (H/2, W/2, 4) planes in the order R, G, G, B (odd edges dropped)."""
    h, w = mosaic.shape[0] // 2 * 2, mosaic.shape[1] // 2 * 2
    m = mosaic[:h, :w]
    return np.stack([m[y::2, x::2] for y, x in _sites(pattern)], -1)


def unpack(planes: np.ndarray, pattern: str) -> np.ndarray:
    """The inverse of `pack`: (H/2, W/2, 4) R, G, G, B -> (H, W) mosaic."""
    h, w = planes.shape[:2]
    out = np.empty((h * 2, w * 2), planes.dtype)
    for c, (y, x) in enumerate(_sites(pattern)):
        out[y::2, x::2] = planes[..., c]
    return out


def normalise(counts: np.ndarray, meta: RawMeta) -> np.ndarray:
    """Packed sensor counts -> linear 0..1 (black 0, white 1); noise below black stays negative."""
    black = np.asarray(meta.black, np.float32)
    return (counts.astype(np.float32) - black) / (meta.white - black)


def _dng_tags(path: Path) -> dict:
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            return {tag.code: tag.value for tag in tif.pages[0].tags.values()}
    except Exception:  # not a TIFF-based file (CR3, RAF...): LibRaw's values stand
        return {}


def read_raw(path: str | Path) -> RawFrame:
    """One RAW frame: a DNG or camera RAW file (rawpy/LibRaw), or a 16-bit mosaic TIFF/PNG with raw.json beside it."""
    path = Path(path)
    if not path.is_file():
        raise MissingInput(f"{path}: no such RAW file")
    if path.suffix.lower() in MOSAIC_SUFFIXES:
        side = path.parent / SIDECAR
        if not side.is_file():
            raise InputError(f"{path}: a 16-bit TIFF/PNG mosaic carries no black or white level: write {side} "
                             '(e.g. {"black": 512, "white": 16383, "pattern": "RGGB", "wb": [2.0, 1.0, 1.6]}) '
                             "or give the camera's DNG")
        meta = RawMeta.from_json(json.loads(side.read_text()), str(side))
        mosaic = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if mosaic is None or mosaic.ndim != 2 or mosaic.dtype != np.uint16:
            raise InputError(f"{path}: not a one-channel 16-bit mosaic (a developed RGB image is not RAW; "
                             "use --space srgb for developed frames)")
        return RawFrame(normalise(pack(mosaic, meta.pattern), meta), meta, str(path))
    try:
        import rawpy
    except ImportError:  # pragma: no cover - a declared dependency
        from ..errors import SetupError
        raise SetupError("reading RAW files needs rawpy: pip install rawpy") from None
    tags = _dng_tags(path) if path.suffix.lower() == ".dng" else {}
    if path.suffix.lower() == ".dng" and (50714 not in tags or 50717 not in tags):
        raise InputError(f"{path}: this DNG has no {'BlackLevel' if 50714 not in tags else 'WhiteLevel'} tag, so "
                         "its sensor counts cannot be put on a scale. Re-export it from the camera's software, or "
                         "add the levels (exiftool -BlackLevel=512 -WhiteLevel=16383 FILE)")
    try:
        with rawpy.imread(str(path)) as r:
            if r.raw_type != rawpy.RawType.Flat or r.raw_pattern is None or r.raw_pattern.shape != (2, 2):
                raise InputError(f"{path}: not a 2x2 Bayer mosaic (Foveon, X-Trans or a linear DNG): "
                                 "develop it with the camera's software and use --space srgb")
            desc = r.color_desc.decode()
            pattern = "".join("G" if desc[i] in "G" else desc[i] for i in r.raw_pattern.flatten())
            mosaic = r.raw_image_visible.copy()
            black = tuple(float(b) for b in r.black_level_per_channel)
            white = float(r.white_level)
            wb = [float(v) for v in r.camera_whitebalance[:3]]
            if not all(v > 0 for v in wb):
                wb = [float(v) for v in r.daylight_whitebalance[:3]]
            cm = np.asarray(r.color_matrix)[:, :3]
            if not np.abs(cm).sum() > 0 or not np.isfinite(cm).all():
                xyz = np.asarray(r.rgb_xyz_matrix)[:3]
                cm = np.linalg.inv(_row_normalised(xyz @ XYZ_FROM_SRGB)) if np.abs(xyz).sum() > 0 else np.eye(3)
    except InputError:
        raise
    except Exception as e:
        raise InputError(f"{path}: LibRaw cannot read it ({e}); is it a camera RAW file?") from None
    # LibRaw's packed order follows the pattern; the per-channel blacks follow its 0..3 colour indices
    black4 = _per_packed(black, pattern)
    noise = None
    if 51041 in tags:  # DNG NoiseProfile: (S, O) per colour plane, variance = S x + O
        v = np.asarray(tags[51041], float).reshape(-1, 2).mean(0)
        noise = (float(v[0]), float(v[1]))
    meta = RawMeta.from_json({"black": black4, "white": white, "pattern": pattern, "wb": wb, "ccm": cm.tolist(),
                              "noise": noise}, str(path))
    return RawFrame(normalise(pack(mosaic, pattern), meta), meta, str(path))


def _row_normalised(m: np.ndarray) -> np.ndarray:
    return m / m.sum(1, keepdims=True)


def _per_packed(black: tuple[float, ...], pattern: str) -> list[float]:
    # LibRaw gives black per colour index R, G, B, G2; packed planes are R, G, G, B
    return [black[0], black[1], black[3] if black[3] else black[1], black[2]] if len(black) == 4 else [black[0]] * 4


# ---------------------------------------------------------------------------------------------- developing
def srgb_gamma(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0, 1)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055).astype(np.float32)


def srgb_linear(y: np.ndarray) -> np.ndarray:
    y = np.clip(y, 0, 1)
    return np.where(y <= 0.04045, y / 12.92, np.power((y + 0.055) / 1.055, 2.4)).astype(np.float32)


def tone(x: np.ndarray) -> np.ndarray:
    """The global tone curve of Brooks et al. (2019): a smoothstep, 3x^2 - 2x^3."""
    x = np.clip(x, 0, 1)
    return (3 * x ** 2 - 2 * x ** 3).astype(np.float32)


def untone(y: np.ndarray) -> np.ndarray:
    y = np.clip(y, 0, 1)
    return (0.5 - np.sin(np.arcsin(1 - 2 * y) / 3)).astype(np.float32)


def develop(planes: np.ndarray, meta: RawMeta, gain: float | None = None) -> np.ndarray:
    """Linear packed planes -> an sRGB image (H, W, 3) float 0..1, as a camera develops once: exposure gain,
    white balance, demosaic (OpenCV's edge-aware), camera colours to sRGB, gamma, tone curve.

    Values are clipped to 0..1 only here, after any merging: noise below black averages out before this."""
    g = meta.gain if gain is None else gain
    wb = np.array([meta.wb[0], meta.wb[1], meta.wb[1], meta.wb[2]], np.float32)
    lin = np.clip(planes * (wb * g), 0, 1)
    mosaic = np.round(unpack(lin, meta.pattern) * 65535).astype(np.uint16)
    rgb = cv2.cvtColor(mosaic, _CV_DEMOSAIC[meta.pattern] + (cv2.COLOR_BayerBG2RGB_EA - cv2.COLOR_BayerBG2RGB))
    rgb = rgb.astype(np.float32) / 65535
    rgb = np.clip(rgb @ np.asarray(meta.ccm, np.float32).T, 0, 1)
    return tone(srgb_gamma(rgb))


def auto_gain(planes: np.ndarray, meta: RawMeta, target: float = 0.18) -> float:
    """An exposure for a frame shot without one: the median green reaches `target` linear (an 18% grey),
    limited so that at most 1% of the green saturates."""
    green = planes[..., 1:3].mean(-1)
    med, hi = float(np.median(green)), float(np.percentile(green, 99))
    g = target / max(med, 1e-6)
    return float(max(1.0, min(g, 1.0 / max(hi, 1e-6)) if hi > 0 else g))


def with_gain(meta: RawMeta, gain: float) -> RawMeta:
    return replace(meta, gain=float(gain))
