"""The denoisers' network and its file: a small U-Net, saved with what it was trained on and loaded checked."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import MissingInput


class UNet(nn.Module):
    """A small U-Net (after the Noise2Noise paper's, narrower) predicting a residual: out = x - noise(x)."""

    def __init__(self, base: int = 32, depth: int = 3, cin: int = 1, cout: int = 1):
        super().__init__()
        self.depth, self.cout = depth, cout

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.LeakyReLU(0.1, inplace=True),
                                 nn.Conv2d(cout, cout, 3, padding=1), nn.LeakyReLU(0.1, inplace=True))

        chans = [base * 2 ** min(i, 2) for i in range(depth + 1)]  # widths stop growing at 4x: CPU-friendly
        self.down = nn.ModuleList([block(cin, chans[0])] + [block(chans[i], chans[i + 1]) for i in range(depth)])
        self.up = nn.ModuleList([nn.ConvTranspose2d(chans[i + 1], chans[i], 2, stride=2) for i in reversed(range(depth))])
        self.dec = nn.ModuleList([block(chans[i] * 2, chans[i]) for i in reversed(range(depth))])
        self.out = nn.Conv2d(chans[0], cout, 1)
        nn.init.zeros_(self.out.weight)  # start as the identity: training only ever removes noise
        nn.init.zeros_(self.out.bias)

    @property
    def multiple(self) -> int:
        return 2 ** self.depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, cin, H, W), H and W multiples of 2**depth
        skips = []
        h = x
        for i, blk in enumerate(self.down):
            h = blk(h if i == 0 else F.max_pool2d(h, 2))
            skips.append(h)
        h = skips.pop()
        for up, dec in zip(self.up, self.dec):
            h = dec(torch.cat([up(h), skips.pop()], dim=1))
        return x[:, :self.cout] - self.out(h)  # extra input channels (a noise map) only inform


def save_denoiser(net: UNet, path: Path, meta: dict) -> None:
    from ..files import atomic_path

    with atomic_path(path) as tmp:
        torch.save({"state_dict": net.state_dict(), "meta": meta}, tmp)


def load_denoiser(path: str | Path) -> UNet:
    path = Path(path)
    if not path.exists():
        raise MissingInput(f"denoiser {path} not found: train one with `tamgu denoise train --out {path}`")
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    meta = ckpt["meta"]
    net = UNet(meta["base"], meta["depth"], meta.get("cin", 1), meta.get("cout", 1))
    net.load_state_dict(ckpt["state_dict"])
    net.meta = ckpt["meta"]
    # channels-last convolutions: 1.6x faster on this machine's CPU (oneDNN), and the layout GPUs prefer
    return net.eval().to(memory_format=torch.channels_last)


def fit_best(module, train_loader, val_loader, out: Path, epochs: int, patience: int, accelerator: str,
             progress: bool, clip_grad: float = 1.0) -> tuple[float, int]:
    """Train with Lightning (early stop on val_loss), load the best epoch's weights back into `module`, remove the
    scratch checkpoints; returns (best val_loss, epochs run)."""
    import lightning as L
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

    from ..console import quiet_trainer_kwargs
    from ..runtime import trainer_display

    ckpt_dir = out.parent / f".{out.stem}_ckpt"
    best = ModelCheckpoint(dirpath=ckpt_dir, filename="best", monitor="val_loss", mode="min", save_top_k=1,
                           save_weights_only=True, enable_version_counter=False)
    # Lightning's banners muted as in every training step; a bar on a terminal, a line an epoch in a log
    display = trainer_display(out.stem) if progress else {**quiet_trainer_kwargs(), "callbacks": []}
    trainer = L.Trainer(max_epochs=epochs, accelerator=accelerator, devices=1, logger=False,
                        gradient_clip_val=clip_grad or None,
                        callbacks=[best, EarlyStopping("val_loss", patience=patience)] + display.pop("callbacks"),
                        num_sanity_val_steps=0, **display)
    trainer.fit(module, train_loader, val_loader)
    module.load_state_dict(torch.load(best.best_model_path, map_location="cpu", weights_only=True)["state_dict"])
    for f in ckpt_dir.glob("*"):
        f.unlink()
    ckpt_dir.rmdir()
    return float(best.best_model_score), int(trainer.current_epoch)
