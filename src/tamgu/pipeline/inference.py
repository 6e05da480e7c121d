"""The one inference loop: models over image files, batch by batch, each image decoded once.

Behind `tamgu predict`, the per-fold OOF and test predictions inside `tamgu train`, smoothing's features and
the report's Grad-CAM samples. It owns the device, the batches, TTA, batch-norm folding and unreadable
images (the uniform guess for probabilities, zeros otherwise, and `readable` says which rows were read).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from ..errors import InputError
from ..runtime import device_for
from .models import fold_batchnorm
from .table import prob_frame
from .transforms import WORKER_START, ImageTable, collate_skip, tta_views
from ..defaults import ACCELERATOR

LONG_PREDICTION = 5000  # images: prediction gets its own progress bar from this many on
BATCH_SIZE = 64         # images per batch when the caller does not say (no gradients: twice training's 32)


@dataclass
class Outputs:
    values: dict[Hashable, np.ndarray]  # model key -> (N, ...) one row per path, in the order given
    readable: np.ndarray                # (N,) bool: False where the image could not be read


def run_models(nets: dict[Hashable, nn.Module], paths: list[str], image_size: tuple[int, int], *,
               output: str | Callable = "probs", tta: int | dict[Hashable, int] = 1, batch_size: int = BATCH_SIZE,
               workers: int = 0, accelerator: str = ACCELERATOR, fold_bn: bool = True,
               progress: bool | None = None, engine: str = "torch") -> Outputs:
    """Run every model in `nets` on each batch of `paths` (resized to `image_size`, W x H) before the next batch
    is read.

    `output`: "probs" (softmax, averaged over `tta` views), "features" (the pooled backbone features,
    `Net.embed`), or a function (net, x, row_indices) -> array computed with gradients (Grad-CAM).
    `engine`: "torch", or "onnx" (probabilities on the CPU through onnxruntime: the same numbers within
    1e-5, see `resolve_engine`).
    """
    from ..console import interactive

    device = device_for(accelerator)
    grad = callable(output)
    passes = tta if isinstance(tta, dict) else {k: tta for k in nets}
    onnx = resolve_engine(engine, device) == "onnx" and output == "probs"
    ready = {}
    for k, net in nets.items():
        if onnx:
            ready[k] = onnx_probabilities(net, tuple(image_size), passes[k])
            continue
        net = net.to(device).eval()
        # batch norms folded into their convolutions: the same outputs (checked), one memory pass fewer per layer
        ready[k] = fold_batchnorm(net, tuple(image_size)) if fold_bn and not grad else net
    table = ImageTable(paths, None, tuple(image_size))
    loader = DataLoader(table, batch_size=batch_size, num_workers=workers, collate_fn=collate_skip,
                        multiprocessing_context=WORKER_START if workers > 0 else None,
                        pin_memory=device.type == "cuda")
    values: dict[Hashable, np.ndarray] = {}
    readable = np.zeros(len(paths), bool)
    show = interactive() and len(paths) >= LONG_PREDICTION if progress is None else progress
    batches = loader
    if show:
        from tqdm.auto import tqdm

        batches = tqdm(loader, desc="predict", unit="batch", leave=False)
    with torch.set_grad_enabled(grad), torch.inference_mode(not grad):
        for x, _, idx in batches:
            if not len(idx):
                continue
            rows = idx.numpy()
            readable[rows] = True
            x = x.to(device, non_blocking=True)
            for k, net in ready.items():
                if onnx:
                    out = net.run(None, {"x": x.numpy()})[0]
                elif grad:
                    out = np.asarray(output(net, x, rows))
                elif output == "features":
                    out = net.embed(x).float().cpu().numpy()
                elif output == "probs":
                    out = torch.stack([F.softmax(net(v), 1) for v in tta_views(x, passes[k])]).mean(0).float()
                    out = out.cpu().numpy()
                else:
                    raise ValueError(f"unknown output {output!r}: probs, features or a function")
                if k not in values:
                    fill = 1.0 / out.shape[1] if output == "probs" else 0.0
                    values[k] = np.full((len(paths), *out.shape[1:]), fill, out.dtype)
                values[k][rows] = out
    for k in nets:  # nothing was readable: every row is the uniform guess (probabilities) or empty
        values.setdefault(k, np.zeros((len(paths), 0), np.float32))
    return Outputs(values, readable)


ENGINES = ("auto", "torch", "onnx")


ONNX_FROM = 2000  # images in one batch job from which onnxruntime's speed repays its export (docs/benchmarks.md)


def resolve_engine(engine: str, device: torch.device, images: int | None = None) -> str:
    """The one place `--engine auto` is decided: onnxruntime on a CPU, PyTorch on a GPU. A video or a stream
    (`images` None) runs for long, so the export (~1 s a fold) always pays; a batch of image files gains ~3%
    per image (docs/benchmarks.md), which repays the export only from ONNX_FROM images."""
    if engine not in ENGINES:
        raise InputError(f"--engine {engine!r}: use {', '.join(ENGINES)}.")
    if engine == "auto":
        return "onnx" if device.type == "cpu" and (images is None or images >= ONNX_FROM) else "torch"
    if engine == "onnx" and device.type != "cpu":
        raise InputError("--engine onnx runs on the CPU here: use --accelerator cpu, or --engine torch on a GPU.")
    return engine


def onnx_probabilities(net: nn.Module, image_size: tuple[int, int], tta: int):
    """One fold's network with its test-time views as an onnxruntime session: (B, 3, H, W) in 0..1 -> probs."""
    from .export import Probabilities, onnx_bytes, session

    w, h = image_size
    return session(onnx_bytes(Probabilities(net.cpu().eval(), tta), torch.zeros(2, 3, h, w), input_name="x"))


def predict_folds(modules: dict[int, nn.Module], paths: list[str], ids: list[str], cfg,
                  engine: str = "torch") -> pd.DataFrame:
    """Every fold model's probabilities (img, fold, classes...) for the images at `paths`; unreadable images
    get the uniform guess. `modules` are Classifiers (their `net`, `classes` and `tta`), `cfg` a TrainConfig
    (image size, batch size, workers, accelerator)."""
    first = next(iter(modules.values()))
    n = len(first.classes)
    out = run_models({k: m.net for k, m in modules.items()}, paths, cfg.image_size, output="probs",
                     tta={k: m.tta for k, m in modules.items()}, batch_size=cfg.batch_size * 2,
                     workers=cfg.workers, accelerator=cfg.accelerator, engine=engine)
    frames = []
    for k in modules:
        p = out.values[k] if out.values[k].shape[1] == n else np.full((len(paths), n), 1.0 / n)
        frames.append(prob_frame(p, ids, first.classes, k))
    return pd.concat(frames, ignore_index=True)


class Predictor:
    """A run's models as one function of uint8 RGB images (B, H, W, 3) at `size` -> fold-mean probabilities:
    the exported graph, run by onnxruntime ("onnx") or PyTorch ("torch", batch norms folded)."""

    def __init__(self, run: str | Path, engine: str = "auto", fold: int | None = None, tta: int | None = None,
                 accelerator: str = ACCELERATOR, threads: int = 0):
        from . import runfolder
        from .export import FoldMean, onnx_bytes, session
        from .models import fold_batchnorm, load_net

        run = self.run = Path(run).resolve()
        cfg = runfolder.load_run_config(run, tta=tta)
        ckpts = runfolder.fold_checkpoints(run, fold)
        loaded = [load_net(c) for c in ckpts.values()]  # no Lightning: a camera starts in seconds
        nets = [net for net, _, _ in loaded]
        self.classes, self.size, self.folds, self.tta = loaded[0][1], tuple(cfg.image_size), sorted(ckpts), cfg.tta
        self.device = device_for(accelerator)
        self.engine = resolve_engine(engine, self.device)
        w, h = self.size
        if self.engine == "onnx":
            graph = FoldMean(nets, cfg.tta)
            self._session = session(onnx_bytes(graph, torch.zeros(2, h, w, 3, dtype=torch.uint8)), threads)
        else:
            nets = [fold_batchnorm(n.to(self.device).eval(), self.size) for n in nets]
            self._graph = FoldMean(nets, cfg.tta).to(self.device).eval()

    def __call__(self, images: np.ndarray) -> np.ndarray:
        if self.engine == "onnx":
            return self._session.run(None, {"images": np.ascontiguousarray(images)})[0]
        with torch.inference_mode():
            return self._graph(torch.from_numpy(np.ascontiguousarray(images)).to(self.device)).float().cpu().numpy()
