"""Real-time video denoising from the frames before: motion-compensated recursive averaging.

Each new frame is compared with the running estimate of the clean picture, moved onto it by dense optical flow
(OpenCV's DIS, on a blurred half-size grey copy, which noise does not fool); where the two agree, the pixel
joins the running average (up to `frames` frames, so noise falls by up to sqrt(frames)); where they do not
(something moved that the flow missed, a cut, an uncovered background), the average restarts from the new
frame. A light spatial filter then smooths what little averaging a restarted pixel has had. Speckle
(multiplicative) noise is averaged the same way, in the logarithm of the picture.

One frame costs a flow at half size, a remap and a few array operations: about 15 ms at 640x480 on 2 cores,
so a camera's 30 frames a second are kept up with (docs/benchmarks.md, benchmarks/video_denoise.py).
"""

from __future__ import annotations

import cv2
from ..errors import InputError
import numpy as np

FRAMES = 12        # longest running average: noise down by up to sqrt(12) ~ 3.5x
SPATIAL_LEVEL = 30.0  # noise (grey levels) left after averaging at which the light blur is applied in full

# A pixel joins the average while the 5x5 mean absolute difference between the frame and the moved estimate is
# below AGREE sigmas: noise alone gives about 0.8 sigma (the mean of |N(0, sigma)|) with little spread over 75
# values; a moved edge the flow missed gives far more.
AGREE = 1.2
CAP = 2.0
TYPICAL = 1.6  # x the median 5x5 difference: noise alone, on a 4:2:0 video: 29.3 dB at 1.6, 25.7 at 1.2


class TemporalDenoiser:
    """Feed frames in order (`denoiser(frame)` -> the denoised frame, uint8 BGR/RGB or grey, any size)."""

    def __init__(self, sigma: float | None = None, frames: int = FRAMES, speckle: bool = False, spatial: bool = True):
        if frames < 1:
            raise InputError(f"frames {frames}: average over 1 frame or more")
        self.sigma, self.frames, self.speckle, self.spatial = sigma, frames, speckle, spatial
        self.flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        self.reset()

    def reset(self) -> None:
        self.estimate = self.count = self.guide = self.sigma_used = None
        self.grid = None

    def _sigma(self, img: np.ndarray) -> float:
        """The noise sigma of the values averaged: 0..255 units, or for speckle the logarithm's."""
        if self.sigma_used is None:
            from .noise import estimate_sigma

            given = self.sigma
            s = float(given) if given is not None else estimate_sigma(img)
            s = s if np.isfinite(s) and s > 0 else 1.0  # a black frame: nothing to measure
            if self.speckle:  # x (1 + n): log x + n, so the logarithm's sigma is the relative one
                s = s / 255.0 if given is not None else s / max(1.0, float(img.mean()))
            self.sigma_used = s
        return self.sigma_used

    def _small_grey(self, img: np.ndarray) -> np.ndarray:
        g = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        g = cv2.resize(g, (g.shape[1] // 2, g.shape[0] // 2), interpolation=cv2.INTER_AREA)
        return cv2.GaussianBlur(g, (5, 5), 1.2)

    def __call__(self, img: np.ndarray) -> np.ndarray:
        f = img.astype(np.float32)
        if self.speckle:  # x * (1 + n): additive in the logarithm
            f = np.log1p(f)
        sigma = max(1e-3, self._sigma(img))
        grey = self._small_grey(img)
        h, w = f.shape[:2]
        if self.estimate is None or self.estimate.shape != f.shape:
            self.estimate, self.count, self.guide = f.copy(), np.ones((h, w), np.float32), grey
            ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
            self.grid = (xs, ys)
            return self._finish(self.estimate, sigma, img.dtype, self.count)
        # flow from this frame to the estimate, at half size: where each pixel was a frame ago
        flow = self.flow.calc(grey, self.guide, None)
        flow = cv2.GaussianBlur(flow, (0, 0), 3)  # motion is smooth; the flow's own noise would blur the average
        flow = cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR)
        mx = cv2.scaleAdd(flow[..., 0], 2.0, self.grid[0])
        my = cv2.scaleAdd(flow[..., 1], 2.0, self.grid[1])
        # cubic: a linear remap, repeated frame after frame, would blur the running average
        moved = cv2.remap(self.estimate, mx, my, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
        count = cv2.remap(self.count, mx, my, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        delta = cv2.subtract(f, moved)
        diff = cv2.absdiff(f, moved)
        if diff.ndim == 3:
            diff = cv2.transform(diff, np.full((1, 3), 1 / 3, np.float32))
        # mean over a 5x5 window: a pixel's noise alone must not break its average, a real change must
        diff = cv2.blur(diff, (5, 5))
        # the threshold: AGREE sigmas, or, where the noise is not white (a video's 4:2:0 chroma, compression), a
        # little above the frame's typical difference, which is what noise alone gives where the scene agrees
        # (capped at CAP sigmas). A cut: when the typical pixel differs by more than CAP sigmas, everything restarts
        typical = float(np.median(diff))
        if typical > CAP * sigma:
            self.estimate, self.count = f.copy(), np.ones((h, w), np.float32)
            self.guide = grey
            return self._finish(self.estimate, sigma, img.dtype, self.count)
        limit = max(AGREE * sigma, min(TYPICAL * typical, CAP * sigma))
        count = np.where(diff < limit, np.minimum(count + 1, self.frames), 1).astype(np.float32)
        k = 1.0 / count
        self.estimate = cv2.add(moved, cv2.multiply(delta, cv2.merge([k] * 3) if f.ndim == 3 else k))
        self.count = count
        # the next flow is measured against the estimate (little noise left), not against this noisy frame
        self.guide = self._small_grey(cv2.convertScaleAbs(self._plain(self.estimate)))
        return self._finish(self.estimate, sigma, img.dtype, count)

    def _plain(self, est: np.ndarray) -> np.ndarray:
        return np.expm1(est) if self.speckle else est

    def _finish(self, est: np.ndarray, sigma: float, dtype, count: np.ndarray) -> np.ndarray:
        out = self._plain(est)  # the spatial stage works on the picture itself (for speckle: not on its logarithm)
        if self.spatial:
            # what remains of the noise is sigma / sqrt(count): a light blur, strongest where the average has
            # just restarted (count 1: the frame alone) and almost none where many frames were averaged
            level = sigma * (float(out.mean()) if self.speckle else 1.0)  # the noise in grey levels
            mix = np.clip(level / np.sqrt(count) / SPATIAL_LEVEL, 0.0, 1.0).astype(np.float32)
            blurred = cv2.GaussianBlur(out, (0, 0), 1.1)
            out = cv2.add(out, cv2.multiply(cv2.subtract(blurred, out), cv2.merge([mix] * 3) if out.ndim == 3 else mix))
        return cv2.convertScaleAbs(out) if dtype == np.uint8 else out


def pan(images: list[np.ndarray], size: tuple[int, int] = (640, 480), frames: int = 60, step: int = 2) -> list[np.ndarray]:
    """A slow camera pan across photos laid side by side (each resized to `size`): `frames` frames, `step` pixels
    a frame. The clean clip that video denoising is measured on (tests, benchmarks/video_denoise.py)."""
    w, h = size
    strip = np.hstack([cv2.resize(im, (w, h), interpolation=cv2.INTER_AREA) for im in images])
    if step * (frames - 1) + w > strip.shape[1]:
        raise InputError(f"{len(images)} photos are too few for {frames} frames at {step} px a frame")
    return [np.ascontiguousarray(strip[:, step * i:step * i + w]) for i in range(frames)]
