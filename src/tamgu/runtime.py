"""Small things every tool shares, light to import (no torch, Lightning or pandas at import time): threads,
the torch device an --accelerator means, resizing an image the way it reaches a model, image sizes, and how a
long training step shows its progress. The tools import these from here, not from the State Farm chain."""

from __future__ import annotations

import os

import cv2
import numpy as np

from .console import interactive, quiet_lightning, verbose
from .errors import ConfigError, InputError, SetupError
from .defaults import ACCELERATOR


def default_threads() -> int:
    """Threads for one tool's model: OMP_NUM_THREADS when it is set (a machine shared with other jobs), else all
    cores, at most 4. Torch, OpenCV and LiteRT each get this many (not each their own default), which keeps a
    busy 2-core machine from being oversubscribed."""
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, min(4, os.cpu_count() or 1))


def set_threads(threads: int | None) -> int:
    """Give torch and OpenCV `threads` threads (None: the default); returns the number."""
    n = int(threads or default_threads())
    if n < 1:
        raise InputError(f"--threads {threads}: use 1 or more.")
    cv2.setNumThreads(n)
    try:
        import torch

        torch.set_num_threads(n)
    except ImportError:
        pass
    return n


def processor() -> str:
    """The processor's name as benchmarks print it beside their numbers ("AMD EPYC 7B13"): Linux's
    /proc/cpuinfo, where `platform.processor()` says only "x86_64"."""
    import platform

    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_for(accelerator: str = ACCELERATOR):
    """The torch device an accelerator name means: cpu, gpu/cuda, mps, or auto (a GPU when there is one)."""
    import torch

    a = str(accelerator or "auto").lower()
    if a in ("gpu", "cuda") or (a == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise SetupError(f"--accelerator {accelerator}: no CUDA GPU is visible here; use cpu or auto.")
        return torch.device("cuda")
    if a == "mps" or (a == "auto" and getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        return torch.device("mps")
    return torch.device("cpu")


def resize(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """An image at `size` (width, height) the way every image reaches a model: area interpolation."""
    w, h = size
    if (img.shape[1], img.shape[0]) != (w, h):
        img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(img)


def parse_image_size(value: str | int | tuple[int, int] | list[int]) -> tuple[int, int]:
    """`224` -> (224, 224); `"160x120"` -> (160, 120): always (width, height)."""
    if isinstance(value, (tuple, list)):
        w, h = value
    elif isinstance(value, int):
        w = h = value
    else:
        text = str(value).lower().strip()
        try:
            if "x" in text:
                w, h = (int(v) for v in text.split("x"))
            else:
                w = h = int(text)
        except ValueError:
            raise ConfigError(f"image size {value!r} is not a size: give one number (224) or WxH (160x120).") from None
    if w < 8 or h < 8:
        raise ConfigError(f"image size {value!r} is too small: use at least 8 pixels a side.")
    return int(w), int(h)


def _epoch_lines(label: str):
    import lightning as L

    class EpochLines(L.Callback):
        """One plain line per epoch, for logs and CI where a redrawn progress bar would be noise."""

        def __init__(self, label: str):
            self.label = label

        def on_train_epoch_end(self, trainer, pl_module) -> None:
            # here, after the epoch's validation, the epoch's own training mean is in callback_metrics; at
            # validation end it still held the previous epoch's (every line showed train_loss one epoch late)
            if not trainer.is_global_zero:
                return
            m = trainer.callback_metrics
            keys = ("train_loss_epoch", "val_loss", "val_acc", "val_psnr")
            parts = [f"{k} {float(m[k]):.4f}" for k in keys if k in m]
            print(f"{self.label} epoch {trainer.current_epoch}: " + ", ".join(p.replace("_epoch", "") for p in parts),
                  flush=True)

    return EpochLines(label)


def trainer_display(label: str) -> dict:
    """Trainer keyword arguments and callbacks for a long training step labelled `label`."""
    quiet_lightning()
    if interactive():
        return {"enable_progress_bar": True, "enable_model_summary": verbose(), "callbacks": []}
    return {"enable_progress_bar": False, "enable_model_summary": verbose(), "callbacks": [_epoch_lines(label)]}
