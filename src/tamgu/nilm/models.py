"""The two networks of the comparison, scaled down for a CPU, and their Lightning module.

- **seq2point** (Zhang et al., AAAI 2018): a window of the aggregate in, each appliance's power at the window's
  middle out; five 1-D convolutions and a dense layer (the paper's 30-30-40-50-50 filters and 1024 units,
  here `WIDTH` times fewer so a fold trains in minutes on two cores).
- **gated** (Shin et al., "Subtask Gated Networks for Non-Intrusive Load Monitoring", AAAI 2019): the same
  regression tower multiplied by an on/off tower's probability, trained on the paper's combined loss: the error
  of the gated output plus the on/off classification loss. When the appliance is off, the gate says so and the
  regression is not asked to predict the noise around zero.

Both are multi-output: one network per fold estimates every appliance at once (the paper trains one per
appliance; `appliances=[name]` does that).
"""

from __future__ import annotations

import lightning as L
import torch
from torch import nn
from torch.nn import functional as F

METHODS = ("seq2point", "gated")
FILTERS = ((30, 10), (30, 8), (40, 6), (50, 5), (50, 5))  # the paper's (channels, kernel) per convolution
DENSE = 1024
WIDTH = 4  # channels and dense units divided by this (1: the paper's size)


class Tower(nn.Module):
    """Window (B, W) -> (B, K): the seq2point convolution stack and its dense head."""

    def __init__(self, window: int, outputs: int, width: int = WIDTH):
        super().__init__()
        layers, channels = [], 1
        for c, k in FILTERS:
            c = max(4, c // width)
            layers += [nn.Conv1d(channels, c, k, padding="same"), nn.ReLU()]
            channels = c
        self.conv = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool1d(min(window, 64))  # keeps the dense layer small for long windows
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(channels * min(window, 64), DENSE // width), nn.ReLU(),
                                  nn.Linear(DENSE // width, outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.conv(x.unsqueeze(1))))  # (B, W) -> (B, 1, W) -> (B, K)


class Disaggregator(L.LightningModule):
    """seq2point or the gated network; targets are each appliance's watts divided by its scale."""

    def __init__(self, method: str, window: int, appliances: int, lr: float = 1e-3, width: int = WIDTH):
        super().__init__()
        self.save_hyperparameters()
        self.method = method
        self.regress = Tower(window, appliances, width)
        self.gate = Tower(window, appliances, width) if method == "gated" else None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(power, on-logit): power in scale units, already gated for the gated network."""
        power = self.regress(x)
        if self.gate is None:
            return power, None
        logit = self.gate(x)
        return power * torch.sigmoid(logit), logit

    def loss(self, batch) -> torch.Tensor:
        x, y, on = batch
        power, logit = self(x)
        loss = F.mse_loss(power, y)
        if logit is not None:
            loss = loss + F.binary_cross_entropy_with_logits(logit, on)  # the subtask: is it on?
        return loss

    def training_step(self, batch, _):
        loss = self.loss(batch)
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, on_step=True)
        return loss

    def validation_step(self, batch, _):
        self.log("val_loss", self.loss(batch), prog_bar=True, on_epoch=True, on_step=False)

    def predict_step(self, batch, _):
        power, logit = self(batch[0])
        return power, (torch.sigmoid(logit) if logit is not None else None)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)
