"""The LightningModule: a timm (or book-headed) network trained with cross-entropy, and how a fold's best
checkpoint rebuilds it. The fold loop is in `training`, prediction in `inference`."""

from __future__ import annotations

import math
from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F

from .config import TrainConfig
from .models import build_model, classifier_parameters

KERAS_DECAY = 1e-6  # the book's SGD(decay=1e-6): lr / (1 + decay * step)


class Classifier(L.LightningModule):
    """A timm model trained with cross-entropy; `meta` holds what rebuilds it from a checkpoint."""

    def __init__(self, meta: dict, classes: list[str], optim: dict, tta: int = 1, net: torch.nn.Module | None = None):
        super().__init__()
        self.save_hyperparameters(ignore=["net"])
        if net is None:  # rebuilt from a checkpoint: its weights come from the checkpoint's state dict
            net, _ = build_model(meta["model"], len(classes), meta["head"], "none", tuple(meta["image_size"]),
                                 tuple(meta["mean"]), tuple(meta["std"]))
        self.net = net
        self.classes = classes
        self.optim = optim
        self.tta = tta
        self.channels_last = False  # NHWC on a GPU (set by the fold loop; not part of what the checkpoint rebuilds)

    @property
    def lr(self) -> float:
        """The base learning rate (what Lightning's learning-rate finder sweeps)."""
        return self.optim["lr"]

    @lr.setter
    def lr(self, value: float) -> None:
        self.optim["lr"] = float(value)

    def on_fit_start(self) -> None:
        if self.channels_last:
            self.net.to(memory_format=torch.channels_last)

    @classmethod
    def from_config(cls, cfg: TrainConfig, classes: list[str]) -> "Classifier":
        net, meta = build_model(cfg.model, len(classes), cfg.head, cfg.weights, cfg.image_size, head_init=cfg.head_init)
        optim = {"optimizer": cfg.optimizer, "lr": cfg.learning_rate, "weight_decay": cfg.weight_decay,
                 "schedule": cfg.schedule, "warmup_epochs": cfg.warmup_epochs, "backbone_lr": cfg.backbone_lr,
                 "freeze_epochs": cfg.freeze_epochs, "label_smoothing": cfg.label_smoothing}
        return cls(meta, classes, optim, cfg.tta, net=net)

    def on_train_epoch_start(self) -> None:
        # --freeze-epochs: only the classifier learns at first, so random head gradients do not wreck
        # the pretrained features; then everything trains. Frozen weights get no gradient, so the
        # optimiser leaves them alone (AdamW skips parameters whose grad is None).
        frozen = self.current_epoch < self.optim.get("freeze_epochs", 0)
        head = {id(p) for p in classifier_parameters(self.net)}
        for p in self.net.parameters():
            if id(p) not in head:
                p.requires_grad_(not frozen)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def _step(self, batch, stage: str) -> torch.Tensor | None:
        x, y, _ = batch
        if len(y) == 0:  # every image of the batch was unreadable
            return None
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        logits = self(x)
        # y: class indices, or (B, C) distributions with soft pseudo-labels; smoothing only while training
        smoothing = self.optim.get("label_smoothing", 0.0) if stage == "train" else 0.0
        loss = F.cross_entropy(logits, y, label_smoothing=smoothing)
        acc = (logits.argmax(1) == (y.argmax(1) if y.ndim == 2 else y)).float().mean()
        on_step = stage == "train"
        self.log(f"{stage}_loss", loss, prog_bar=True, on_step=on_step, on_epoch=True, batch_size=len(y), sync_dist=not on_step)
        self.log(f"{stage}_acc", acc, prog_bar=True, on_step=False, on_epoch=True, batch_size=len(y), sync_dist=not on_step)
        return loss

    def training_step(self, batch, batch_idx):
        return self._step(batch, "train")

    def validation_step(self, batch, batch_idx):
        self._step(batch, "val")

    def configure_optimizers(self):
        o = self.optim
        head = {id(p) for p in classifier_parameters(self.net)}
        groups = [{"params": [p for p in self.net.parameters() if id(p) in head], "lr": o["lr"]},
                  {"params": [p for p in self.net.parameters() if id(p) not in head],
                   "lr": o["lr"] * o.get("backbone_lr", 1.0)}]
        groups = [g for g in groups if g["params"]]
        if o["optimizer"] == "sgd":
            opt = torch.optim.SGD(groups, lr=o["lr"], momentum=0.9, nesterov=True)
        else:
            opt = torch.optim.AdamW(groups, lr=o["lr"], weight_decay=o["weight_decay"])
        total = max(1, int(self.trainer.estimated_stepping_batches))
        per_epoch = max(1, total // max(1, self.trainer.max_epochs or 1))
        warm = int(o["warmup_epochs"] * per_epoch)
        fn = lr_factor_fn(o["schedule"], warm, total, keras_decay=KERAS_DECAY if o["optimizer"] == "sgd" else 0.0)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, fn)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def lr_factor_fn(schedule: str, warmup_steps: int, total_steps: int, keras_decay: float = 0.0):
    """Multiplier of the base learning rate at optimiser step `it` (a pure function, like nanoGPT's get_lr)."""

    def factor(it: int) -> float:
        f = 1.0
        if it < warmup_steps:
            f = (it + 1) / warmup_steps
        elif schedule == "cosine":
            progress = min(1.0, (it - warmup_steps) / max(1, total_steps - warmup_steps))
            f = 0.5 * (1 + math.cos(math.pi * progress))
        return f / (1 + keras_decay * it)

    return factor




def load_checkpoint(path: str | Path) -> Classifier:
    """Rebuild a model from a fold's best.ckpt alone (it holds model name, classes, size, mean/std)."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    hp = ckpt["hyper_parameters"]
    module = Classifier(hp["meta"], hp["classes"], hp["optim"], hp.get("tta", 1))
    module.load_state_dict(ckpt["state_dict"])
    return module.eval()
