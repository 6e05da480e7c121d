"""Noise2Noise: a U-Net that learns to denoise from pairs of noisy images, never seeing a clean one.

Pairs come from (a) two noisy captures of each scene (`DIR/a/NAME` and `DIR/b/NAME`), (b) consecutive
frames of a static video, or (c) clean images noised twice, independently. With `target="clean"` the same
network learns from clean targets instead (Noise2Clean), for comparison. The network works on one channel;
colour images are denoised channel by channel.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal, Sequence

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ..errors import InputError, MissingInput
from .noise import NoiseSpec, skimage_images, to_float  # noqa: F401 (skimage_images: kept importable here)
from .unet import UNet, fit_best, load_denoiser, save_denoiser  # noqa: F401 (the model file's owner; kept importable here)
from ..defaults import ACCELERATOR, PROGRESS
from .rawnet import LIGHT_RANGE

log = logging.getLogger(__name__)

# scikit-image's bundled photographs: training and evaluation never share an image.
TRAIN_IMAGES = ("astronaut", "coffee", "chelsea", "rocket", "brick", "grass", "gravel", "moon",
                "immunohistochemistry", "hubble_deep_field", "clock", "text")
EVAL_IMAGES = ("camera", "coins", "page", "cell", "colorwheel")


def _augment(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    k = int(rng.integers(4))
    a, b = np.rot90(a, k), np.rot90(b, k)
    if rng.random() < 0.5:
        a, b = a[:, ::-1], b[:, ::-1]
    return a, b


class SyntheticPairs(Dataset):
    """(c) Random patches of clean images, noised twice independently (or once, against the clean patch)."""

    def __init__(self, images: Sequence[np.ndarray], noise: NoiseSpec, patch: int, length: int, target: str,
                 seed: int | None = None):
        self.images = [im for im in images if min(im.shape[:2]) >= patch]
        if not self.images:
            raise InputError(f"no training image is at least {patch} px on each side: use a smaller --patch")
        self.noise, self.patch, self.length, self.target, self.seed = noise, patch, length, target, seed

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int):
        # a fixed seed gives a fixed validation set; training draws fresh patches and noise every time
        rng = np.random.default_rng(None if self.seed is None else (self.seed, i))
        img = self.images[int(rng.integers(len(self.images)))]
        y, x = (int(rng.integers(s - self.patch + 1)) for s in img.shape[:2])
        crop = img[y:y + self.patch, x:x + self.patch]
        if crop.ndim == 3:
            crop = crop[..., int(rng.integers(crop.shape[2]))]
        clean = crop.astype(np.float32)
        inp = self.noise.add(clean, rng)  # clipped, as stored photos are
        tgt = clean if self.target == "clean" else self.noise.add(clean, rng, clip=False)  # unbiased: see NoiseSpec.add
        if self.seed is None:
            inp, tgt2 = _augment(inp, np.stack([tgt, clean], -1), rng)
            tgt, clean = tgt2[..., 0], tgt2[..., 1]
        t = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))[None]  # noqa: E731
        return t(inp), t(tgt), t(clean)


class NoisyPairs(Dataset):
    """(a)/(b) Patches at the same place in two noisy images of one scene; which is input is random."""

    def __init__(self, pairs: Sequence[tuple[np.ndarray, np.ndarray]], patch: int, length: int, seed: int | None = None):
        self.pairs = [(a, b) for a, b in pairs if min(a.shape[:2]) >= patch]
        if not self.pairs:
            raise InputError(f"no image pair is at least {patch} px on each side: use a smaller --patch")
        self.patch, self.length, self.seed = patch, length, seed

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int):
        rng = np.random.default_rng(None if self.seed is None else (self.seed, i))
        a, b = self.pairs[int(rng.integers(len(self.pairs)))]
        if rng.random() < 0.5:
            a, b = b, a
        y, x = (int(rng.integers(s - self.patch + 1)) for s in a.shape[:2])
        c = int(rng.integers(a.shape[2])) if a.ndim == 3 else None
        pa, pb = (im[y:y + self.patch, x:x + self.patch] for im in (a, b))
        if c is not None:
            pa, pb = pa[..., c], pb[..., c]
        if self.seed is None:
            pa, pb = _augment(pa, pb, rng)
        t = lambda v: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32))[None]  # noqa: E731
        return t(pa), t(pb), torch.full_like(t(pa), float("nan"))  # no clean image exists


class DenoiserModule(L.LightningModule):
    def __init__(self, base: int = 32, depth: int = 3, loss: str = "l2", lr: float = 1e-3, noise: str = "",
                 target: str = "noisy", epochs: int = 30):
        super().__init__()
        self.save_hyperparameters()
        self.net = UNet(base, depth)

    def forward(self, x):
        return self.net(x)

    def _loss(self, pred, tgt):
        return F.l1_loss(pred, tgt) if self.hparams.loss == "l1" else F.mse_loss(pred, tgt)

    def training_step(self, batch, batch_idx):
        inp, tgt, _ = batch
        loss = self._loss(self(inp), tgt)
        self.log("train_loss", loss, prog_bar=True, on_step=True, on_epoch=True)
        return loss

    def validation_step(self, batch, batch_idx):
        inp, tgt, clean = batch
        pred = self(inp)
        # val_loss is measured against the same kind of target as training (noisy for N2N): no clean image needed
        self.log("val_loss", self._loss(pred, tgt), prog_bar=True, on_epoch=True)
        if not torch.isnan(clean).any():
            mse = F.mse_loss(pred.clamp(0, 1), clean)
            self.log("val_psnr", -10 * torch.log10(mse), prog_bar=True, on_epoch=True)

    def configure_optimizers(self):
        # beta2 0.99 as in the Noise2Noise paper: with the default 0.999 runs here spiked or blew up mid-training
        opt = torch.optim.Adam(self.parameters(), lr=self.hparams.lr, betas=(0.9, 0.99))
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, self.hparams.epochs))
        return [opt], [sched]


def load_pairs(data: str | Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """(a) DIR/a/NAME + DIR/b/NAME, or (b) a static video: consecutive frames."""
    import cv2

    data = Path(data)
    if data.is_dir() and (data / "a").is_dir() and (data / "b").is_dir():
        pairs = []
        for fa in sorted((data / "a").iterdir()):
            fb = data / "b" / fa.name
            if not fb.exists():
                raise MissingInput(f"{fa} has no partner {fb}: pairs need the same name in a/ and b/")
            ia, ib = cv2.imread(str(fa), cv2.IMREAD_UNCHANGED), cv2.imread(str(fb), cv2.IMREAD_UNCHANGED)
            if ia is None or ib is None or ia.shape != ib.shape:
                raise InputError(f"{fa.name}: both captures must be readable images of the same size")
            pairs.append((to_float(ia), to_float(ib)))
        return pairs
    if data.is_file():
        from ..video.reader import iter_frames

        frames = [to_float(p.image) for p in iter_frames(data, fmt="rgb24")]
        if len(frames) < 2:
            raise InputError(f"{data}: a static video with at least two frames is needed")
        return list(zip(frames[:-1], frames[1:]))
    raise MissingInput(f"{data}: give DIR with a/ and b/ (two noisy captures per scene), a static video, "
                            "or no --data (scikit-image photos with synthetic noise)")


def train_denoiser(out: str | Path, data: str | Path | None = None, noise: str = "gaussian:5-50",
                   target: Literal["noisy", "clean"] = "noisy", epochs: int = 30, steps: int = 200, batch_size: int = 16, patch: int = 64,
                   base: int = 32, depth: int = 3, lr: float = 1e-3, patience: int = 5, seed: int = 0,
                   accelerator: str = ACCELERATOR, workers: int = 0, progress: bool = PROGRESS,
                   images: Sequence[np.ndarray] | None = None, clip_grad: float = 1.0,
                   space: Literal["image", "raw", "srgb"] = "image", light: str = LIGHT_RANGE) -> dict:
    """Train a Noise2Noise (or, with target="clean", Noise2Clean) U-Net and save it to `out` (a .pt file).

    Without `data`, clean training images are scikit-image's photos (TRAIN_IMAGES) noised as `noise` says.
    Returns the best validation loss (and PSNR when clean images exist) and the epochs run.

    `clip_grad` (0 = off) clips the gradient norm; ordinary norms are about 0.03, so the default 1.0 only cuts
    spikes. Adam runs with beta2 = 0.99 (as in the Noise2Noise paper): with PyTorch's 0.999 three runs here
    spiked or blew up mid-training (loss 0.013 -> 14), clipped or not; with 0.99 the same run improved every
    epoch, 1.1 dB higher at the end.

    Args:
        out: model file to write (.pt)
        data: DIR with a/ and b/ (two noisy captures per scene) or a static video; default: scikit-image photos with
            synthetic noise
        noise: synthetic noise: gaussian:5-50, poisson:30, speckle:25, saltpepper:0.05
        target: noisy = Noise2Noise; clean = Noise2Clean, for comparison
        epochs: most epochs
        steps: batches per epoch
        batch_size: patches per batch
        patch: training patch size (raw/srgb: the network's input, pixels a side, equal in both spaces)
        base: U-Net width
        depth: U-Net levels
        lr: learning rate
        patience: epochs without a better validation loss before stopping
        clip_grad: clip the gradient norm (1: only spikes; 0 = off)
        space: image = photos with --noise; raw = simulated RAW captures (4 Bayer planes, tone-weighted loss);
            srgb = the same captures developed, for comparison (`denoising.rawnet`)
        light: raw/srgb: the training light levels, fractions of a normal exposure (low-high)
    """
    if space != "image":
        from .rawnet import train_raw_denoiser

        if data is not None:
            raise InputError("--space raw/srgb trains on simulated captures of scikit-image's photos; leave out --data")
        return train_raw_denoiser(out, space, light, epochs, steps, batch_size, patch, base, depth, lr, patience, seed,
                                  accelerator, progress, images)
    if target not in ("noisy", "clean"):
        raise InputError("target must be noisy (Noise2Noise) or clean (Noise2Clean)")
    spec = NoiseSpec.parse(noise)
    L.seed_everything(seed, verbose=False)
    if data is None:
        imgs = list(images) if images is not None else list(skimage_images(TRAIN_IMAGES).values())
        n_val = max(1, len(imgs) // 6)
        train_ds = SyntheticPairs(imgs[n_val:] if len(imgs) > 1 else imgs, spec, patch, steps * batch_size, target)
        val_ds = SyntheticPairs(imgs[:n_val], spec, patch, 8 * batch_size, target, seed=seed)
    else:
        if target == "clean":
            raise InputError("--target clean needs clean images: leave out --data to use scikit-image's photos")
        pairs = load_pairs(data)
        cut = max(1, len(pairs) // 6) if len(pairs) > 1 else 0
        train_ds = NoisyPairs(pairs[cut:] or pairs, patch, steps * batch_size)
        val_ds = NoisyPairs(pairs[:cut] or pairs, patch, 8 * batch_size, seed=seed)
    module = DenoiserModule(base, depth, spec.loss, lr, str(spec), target, epochs)
    out = Path(out)
    loader = lambda ds, shuffle: DataLoader(ds, batch_size=batch_size, shuffle=shuffle, num_workers=workers,  # noqa: E731
                                            persistent_workers=workers > 0)
    score, ran = fit_best(module, loader(train_ds, True), loader(val_ds, False), out, epochs, patience, accelerator,
                          progress, clip_grad)
    save_denoiser(module.net, out, {"base": base, "depth": depth, "noise": str(spec), "target": target,
                                    "loss": spec.loss, "epochs_run": ran})
    return {"model": str(out), "best_val_loss": score, "epochs": ran}


def _run(net: UNet, batch: np.ndarray) -> np.ndarray:
    """(B, H, W) float32 through the network on its device, in its memory layout."""
    device = next(net.parameters()).device
    x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))[:, None].to(device)
    return net(x.contiguous(memory_format=torch.channels_last))[:, 0].float().cpu().numpy()


WHOLE_MAX_PIXELS = 1024 * 1024  # larger images go in tiles: memory stays bounded


def apply(net: UNet, img: np.ndarray, max_pixels: int = WHOLE_MAX_PIXELS) -> np.ndarray:
    """Denoise a float image: in one pass when it has at most `max_pixels` (fastest), else in tiles."""
    h, w = img.shape[:2]
    return apply_whole(net, img) if h * w <= max_pixels else apply_tiled(net, img)


@torch.inference_mode()
def apply_tiled(net: UNet, img: np.ndarray, tile: int = 320, overlap: int = 64, batch: int = 8) -> np.ndarray:
    """Denoise a float image (H, W) or (H, W, C) in overlapping tiles, keeping each tile's centre.

    Memory stays bounded for any image size; away from the image borders the result matches
    whole-image inference (the discarded tile margins absorb the tiles' own border effects).
    """
    if img.ndim == 3:
        return np.stack([apply_tiled(net, img[..., c], tile, overlap, batch) for c in range(img.shape[2])], -1)
    m = net.multiple
    h, w = img.shape
    margin = overlap // 2
    step = tile - overlap
    if step <= 0 or tile % m:
        raise ValueError(f"tile must exceed overlap and be a multiple of {m}")
    out = np.zeros_like(img, dtype=np.float32)
    padded = np.pad(img, ((margin, margin + tile), (margin, margin + tile)), mode="reflect").astype(np.float32)
    corners = [(y, x) for y in range(0, h, step) for x in range(0, w, step)]
    for i in range(0, len(corners), batch):  # tiles go through the network a batch at a time
        chunk = corners[i:i + batch]
        preds = _run(net, np.stack([padded[y:y + tile, x:x + tile] for y, x in chunk]))
        for (y, x), pred in zip(chunk, preds):
            hh, ww = min(step, h - y), min(step, w - x)
            out[y:y + hh, x:x + ww] = pred[margin:margin + hh, margin:margin + ww]
    return np.clip(out, 0, 1)


@torch.inference_mode()
def apply_whole(net: UNet, img: np.ndarray) -> np.ndarray:
    """Denoise in one pass (reflect-padded to the network's multiple; colour channels as one batch)."""
    m = net.multiple
    h, w = img.shape[:2]
    planes = img.transpose(2, 0, 1) if img.ndim == 3 else img[None]
    padded = np.pad(planes, ((0, 0), (0, (-h) % m), (0, (-w) % m)), mode="reflect")
    pred = _run(net, padded)[:, :h, :w]
    return np.clip(pred.transpose(1, 2, 0) if img.ndim == 3 else pred[0], 0, 1)

