"""Noise2Noise on RAW: the U-Net learns from pairs of noisy sensor captures, with RawNeRF's tone-weighted loss.

The network sees the four Bayer planes brightened by the exposure gain, plus a fifth channel, the noise's
standard deviation at each pixel (from the camera's noise profile, or measured), so one model serves every
light level. Its loss follows RawNeRF (Mildenhall et al., CVPR 2022): squared errors in linear space, weighted
as the later tone curve will show them, so a mistake in the shadows counts as much as a larger one in the
highlights. RawNeRF weighs by 1/(sg(prediction) + eps)^2; trained here that way the model drifted 0.02 brighter
(0.09 median), so the weight is taken from the input's local brightness instead, 1/(x + eps), the square of a
gamma curve's slope. Weights that depend on neither the prediction nor the target keep Noise2Noise's promise:
the minimiser of the mean-square loss against a second noisy capture is the clean value.

`space="srgb"` trains the same network on the same captures developed (the comparison: Noise2Noise on the
frames a camera stores), with the plain mean-square loss, three channels in and out.

Pairs are simulated from scikit-image's photos (`unprocess`), never the judge's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ..errors import InputError
from . import unprocess as sim
from .raw import develop

EPS = 2e-2  # brightness (gained, 0..1) under which errors stop weighing more
LIGHT_RANGE = "1/4-1/256"  # training light levels, drawn log-uniform


def parse_light_range(text: str) -> tuple[float, float]:
    parts = str(text).split("-")
    lo, hi = sim.parse_light(parts[0]), sim.parse_light(parts[-1])
    return min(lo, hi), max(lo, hi)


def noise_std(planes: np.ndarray, noise: tuple[float, float], gain: float) -> np.ndarray:
    """The noise standard deviation per pixel of gained planes (the network's fifth channel)."""
    shot, read = noise
    level = np.clip(planes.mean(-1, keepdims=True), 0, None)
    return np.sqrt(shot * gain * level + read * gain ** 2).astype(np.float32)


def raw_input(planes: np.ndarray, noise: tuple[float, float], gain: float, frames_used: float = 1.0) -> np.ndarray:
    """(H, W, 4) linear planes -> the network's (H, W, 5) input: planes x gain and the noise map."""
    g = planes * gain
    return np.concatenate([g, noise_std(g, noise, gain) / np.sqrt(frames_used)], -1).astype(np.float32)


class SimulatedPairs(Dataset):
    """Two independent noisy captures of a random patch of a random photo at a random light level."""

    def __init__(self, photos: list[np.ndarray], space: str, patch: int, length: int, lights: tuple[float, float],
                 seed: int | None = None):
        self.photos = [p for p in photos if min(p.shape[:2]) >= 2 * patch]
        if not self.photos:
            raise InputError(f"no training photo is {2 * patch} px on each side: use a smaller --patch")
        self.space, self.patch, self.length, self.lights, self.seed = space, patch, length, lights, seed

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int):
        rng = np.random.default_rng(None if self.seed is None else (self.seed, i))
        img = self.photos[int(rng.integers(len(self.photos)))]
        size = 2 * self.patch
        y, x = (int(rng.integers(s - size + 1)) for s in img.shape[:2])
        crop = img[y:y + size, x:x + size]
        if self.seed is None:
            crop = np.rot90(crop, int(rng.integers(4)))
            crop = crop[:, ::-1] if rng.random() < 0.5 else crop
        light = float(np.exp(rng.uniform(np.log(self.lights[0]), np.log(self.lights[1]))))
        meta = sim.camera_meta(light)
        clean = sim.mosaic_planes(sim.unprocess(np.ascontiguousarray(crop[..., :3], dtype=np.float32), light))
        a, b = sim.expose(clean, rng), sim.expose(clean, rng)
        if self.space == "raw":
            inp, tgt, ref = raw_input(a, meta.noise, meta.gain), b * meta.gain, clean * meta.gain
        else:  # developed whole, then the centre patch x patch: the network sees as many pixels as in RAW
            m = self.patch // 2
            inp, tgt, ref = (np.round(develop(v, meta)[m:m + self.patch, m:m + self.patch] * 255) / 255
                             for v in (a, b, clean))
        t = lambda v: torch.from_numpy(np.ascontiguousarray(v.transpose(2, 0, 1), dtype=np.float32))  # noqa: E731
        return t(inp), t(tgt), t(ref)


class RawDenoiser(L.LightningModule):
    def __init__(self, space: str = "raw", base: int = 32, depth: int = 3, lr: float = 1e-3, epochs: int = 20):
        super().__init__()
        self.save_hyperparameters()
        from .unet import UNet

        self.net = UNet(base, depth, cin=5 if space == "raw" else 3, cout=4 if space == "raw" else 3)

    def forward(self, x):
        return self.net(x)

    def _loss(self, pred, tgt, inp):
        if self.hparams.space == "raw":
            # errors weighted by the square of the tone curve's slope at the pixel's brightness, ~1/(x + eps),
            # taken from the input's local mean: RawNeRF's weight, 1/(sg(prediction) + eps)^2, drifted the model
            # 0.02 brighter here, while weights that depend on neither the prediction nor the target keep
            # Noise2Noise unbiased
            level = torch.nn.functional.avg_pool2d(inp[:, :4].mean(1, keepdim=True), 5, 1, 2, count_include_pad=False)
            w = 1 / (level.clamp(min=0) + EPS)
            return (w * (pred - tgt) ** 2).mean() / w.mean()
        return torch.nn.functional.mse_loss(pred, tgt)

    def training_step(self, batch, batch_idx):
        inp, tgt, _ = batch
        loss = self._loss(self(inp), tgt, inp)
        self.log("train_loss", loss, prog_bar=True, on_step=True, on_epoch=True)
        return loss

    def validation_step(self, batch, batch_idx):
        inp, tgt, clean = batch
        pred = self(inp)
        self.log("val_loss", self._loss(pred, tgt, inp), prog_bar=True, on_epoch=True)
        if self.hparams.space == "raw":  # judged as the tone curve shows it
            from .raw import srgb_gamma

            pred, clean = (torch.from_numpy(srgb_gamma(v.float().cpu().numpy())) for v in (pred, clean))
        self.log("val_psnr", -10 * torch.log10(torch.nn.functional.mse_loss(pred.clamp(0, 1), clean)), on_epoch=True)

    def configure_optimizers(self):
        opt = torch.optim.Adam(self.parameters(), lr=self.hparams.lr, betas=(0.9, 0.99))  # as in n2n.py
        return [opt], [torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, self.hparams.epochs))]


def train_raw_denoiser(out: str | Path, space: Literal["raw", "srgb"], light: str, epochs: int, steps: int,
                       batch_size: int, patch: int, base: int, depth: int, lr: float, patience: int, seed: int,
                       accelerator: str, progress: bool, photos=None) -> dict:
    """Train the RAW (or, for comparison, developed-frame) Noise2Noise U-Net on simulated captures; save to `out`.

    `n2n.train_denoiser` holds the defaults. `patch` is the network's input, pixels a side, in both spaces: four
    Bayer planes of a 2*patch crop in RAW, the centre of the same crop developed in sRGB (equal compute a step)."""
    from .unet import fit_best, save_denoiser

    if space not in ("raw", "srgb"):
        raise InputError(f"--space {space}: raw (sensor captures) or srgb (the same captures developed)")
    lights = parse_light_range(light)
    L.seed_everything(seed, verbose=False)
    imgs = list(photos) if photos is not None else list(sim.photos(sim.SIM_PHOTOS).values())
    n_val = 1 if len(imgs) > 1 else 0
    train_ds = SimulatedPairs(imgs[n_val:] or imgs, space, patch, steps * batch_size, lights)
    val_ds = SimulatedPairs(imgs[:n_val] or imgs, space, patch, 4 * batch_size, lights, seed=seed)
    module = RawDenoiser(space, base, depth, lr, epochs)
    out = Path(out)
    score, ran = fit_best(module, DataLoader(train_ds, batch_size=batch_size, shuffle=True),
                          DataLoader(val_ds, batch_size=batch_size), out, epochs, patience, accelerator, progress)
    save_denoiser(module.net, out, {"base": base, "depth": depth, "cin": module.net.down[0][0].in_channels,
                                    "cout": module.net.cout, "space": space, "light": light,
                                    "loss": "tone-weighted" if space == "raw" else "l2", "epochs_run": ran})
    return {"model": str(out), "best_val_loss": score, "epochs": ran, "space": space}


@torch.inference_mode()
def apply_net(net, x: np.ndarray, tile: int = 256, overlap: int = 32) -> np.ndarray:
    """(H, W, cin) -> (H, W, cout) through the network, in overlapping tiles (memory bounded on any size)."""
    m = net.multiple
    h, w = x.shape[:2]
    margin, step = overlap // 2, tile - overlap
    pad = np.pad(x, ((margin, margin + tile), (margin, margin + tile), (0, 0)), mode="reflect")
    out = np.zeros((h, w, net.cout), np.float32)
    device = next(net.parameters()).device
    assert tile % m == 0
    for y in range(0, h, step):
        for x0 in range(0, w, step):
            t = torch.from_numpy(np.ascontiguousarray(pad[y:y + tile, x0:x0 + tile].transpose(2, 0, 1)))[None]
            pred = net(t.to(device).contiguous(memory_format=torch.channels_last))[0].float().cpu().numpy()
            hh, ww = min(step, h - y), min(step, w - x0)
            out[y:y + hh, x0:x0 + ww] = pred.transpose(1, 2, 0)[margin:margin + hh, margin:margin + ww]
    return out


def denoise_planes(net, planes: np.ndarray, noise: tuple[float, float], gain: float,
                   frames_used: float = 1.0) -> np.ndarray:
    """Linear RAW planes (one frame, or a merge of `frames_used`) -> denoised linear planes."""
    if getattr(net, "meta", {}).get("space") != "raw":
        raise InputError("this model was not trained on RAW: train one with `tamgu denoise train --space raw`")
    return apply_net(net, raw_input(planes, noise, gain, frames_used)) / gain
