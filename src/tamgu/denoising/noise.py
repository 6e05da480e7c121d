"""Noise models and measurements shared by denoising, training and evaluation.

Images are float arrays in 0..1, (H, W) or (H, W, 3). Noise levels are written as on the command line:
`gaussian:25` (sigma in 0..255 units), `gaussian:5-50` (a range, for training), `poisson:30` (photons at
white: fewer is noisier), `speckle:25` (multiplicative: x * (1 + n), sigma in 0..255 units),
`saltpepper:0.05` (fraction of pixels).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence
from ..errors import InputError

import numpy as np

KINDS = ("gaussian", "poisson", "speckle", "saltpepper")


@dataclass(frozen=True)
class NoiseSpec:
    kind: str
    low: float
    high: float

    @classmethod
    def parse(cls, text: str) -> "NoiseSpec":
        kind, _, level = str(text).partition(":")
        kind = kind.strip().lower()
        if kind not in KINDS:
            raise InputError(f"noise {text!r}: the kind must be one of {', '.join(KINDS)} (e.g. gaussian:25)")
        default = {"gaussian": "25", "poisson": "30", "speckle": "25", "saltpepper": "0.05"}[kind]
        try:
            parts = [float(v) for v in (level or default).split("-")]
        except ValueError:
            raise InputError(f"noise {text!r}: the level must be a number or a range like 5-50") from None
        low, high = (parts[0], parts[0]) if len(parts) == 1 else (parts[0], parts[1])
        if low <= 0 or high < low:
            raise InputError(f"noise {text!r}: levels must be positive and a range must go low-high")
        return cls(kind, low, high)

    def __str__(self) -> str:
        level = f"{self.low:g}" if self.low == self.high else f"{self.low:g}-{self.high:g}"
        return f"{self.kind}:{level}"

    @property
    def loss(self) -> str:
        # Noise2Noise needs a loss whose minimiser is the clean value: the mean (L2) for zero-mean noise,
        # the median (L1) for impulse noise.
        return "l1" if self.kind == "saltpepper" else "l2"

    def add(self, img: np.ndarray, rng: np.random.Generator, clip: bool = True) -> np.ndarray:
        """A noisy copy of `img` (float 0..1), clipped to 0..1 as a camera would store it.

        `clip=False` keeps the zero-mean noise whole (values beyond 0..1): a Noise2Noise target must average to
        the clean image, and clipping moves that average near black and white (a clipped target teaches the
        network to brighten blacks and darken whites, which costs most on saturated colours)."""
        level = rng.uniform(self.low, self.high)
        if self.kind == "gaussian":
            out = img + rng.normal(0, level / 255, img.shape)
        elif self.kind == "speckle":
            out = img * (1 + rng.normal(0, level / 255, img.shape))
        elif self.kind == "poisson":
            out = rng.poisson(np.clip(img, 0, 1) * level) / level
        else:
            out = img.copy()
            mask = rng.random(img.shape[:2]) < level
            salt = rng.random(img.shape[:2]) < 0.5
            out[mask & salt] = 1.0
            out[mask & ~salt] = 0.0
        return (np.clip(out, 0, 1) if clip else out).astype(np.float32)


def to_float(img: np.ndarray) -> np.ndarray:
    if img.dtype == np.uint8:
        return img.astype(np.float32) / 255
    if img.dtype == bool:
        return img.astype(np.float32)
    return np.clip(img.astype(np.float32), 0, 1)


def to_uint8(img: np.ndarray) -> np.ndarray:
    return np.clip(np.round(img * 255), 0, 255).astype(np.uint8)


def estimate_sigma(img: np.ndarray) -> float:
    """Gaussian noise sigma in 0..255 units (wavelet median estimator, scikit-image); 0 for a flat frame."""
    from skimage.restoration import estimate_sigma as _est

    import warnings

    f = to_float(img)
    if float(f.max() - f.min()) < 1e-6:  # a flat (e.g. all-black) frame holds no noise to measure
        return 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        s = float(_est(f, channel_axis=-1 if f.ndim == 3 else None, average_sigmas=True)) * 255
    return s if np.isfinite(s) else 0.0


def psnr(clean: np.ndarray, test: np.ndarray) -> float:
    from skimage.metrics import peak_signal_noise_ratio

    return float(peak_signal_noise_ratio(to_float(clean), to_float(test), data_range=1.0))


def ssim(clean: np.ndarray, test: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    a, b = to_float(clean), to_float(test)
    return float(structural_similarity(a, b, data_range=1.0, channel_axis=-1 if a.ndim == 3 else None))


def skimage_images(names: Sequence[str]) -> dict[str, np.ndarray]:
    import skimage.data

    out = {}
    for n in names:
        img = getattr(skimage.data, n)()
        out[n] = to_float(img[..., :3] if img.ndim == 3 else img)
    return out
