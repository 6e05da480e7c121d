"""A trained run as one ONNX file that runs anywhere onnxruntime does: `tamgu export RUN --out MODEL.onnx`.

The graph takes RGB uint8 images (B, H, W, 3) at the run's size (the batch is dynamic; the caller resizes, as
tamgu does before the model: the metadata's `image_size`, W x H), normalises inside, runs every fold's
network (or one with `fold`) with the run's test-time views, and returns the fold-mean probabilities (B, C).
The classes, image size, folds, TTA passes and tamgu version travel in the file's metadata.

The same graphs serve `tamgu predict --engine onnx` and `tamgu watch` (`inference.Predictor`). Elsewhere,
onnxruntime alone runs the file:

    sess = onnxruntime.InferenceSession("model.onnx")
    meta = {k: json.loads(v) for k, v in sess.get_modelmeta().custom_metadata_map.items()}
    probs = sess.run(None, {"images": images})[0]   # images: uint8 RGB (N, H, W, 3) at meta["image_size"]
"""

from __future__ import annotations

import io
import json
import logging
import warnings
from pathlib import Path

import torch
from torch import nn

from ..files import atomic_path
from . import runfolder
from .models import load_net
from .transforms import tta_views

log = logging.getLogger(__name__)

OPSET = 17


class FoldMean(nn.Module):
    """uint8 RGB images (B, H, W, 3) -> the mean over nets and test-time views of the softmax (B, C)."""

    def __init__(self, nets: list[nn.Module], tta: int = 1):
        super().__init__()
        self.nets = nn.ModuleList(nets)
        self.tta = tta

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.permute(0, 3, 1, 2).float() / 255  # (B, 3, H, W) in 0..1; each Net normalises itself
        probs = [torch.softmax(net(v), 1) for net in self.nets for v in tta_views(x, self.tta)]
        return torch.stack(probs).mean(0)


class Probabilities(nn.Module):
    """float images (B, 3, H, W) in 0..1 -> softmax averaged over test-time views: one fold, as predict runs it."""

    def __init__(self, net: nn.Module, tta: int = 1):
        super().__init__()
        self.net, self.tta = net, tta

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([torch.softmax(self.net(v), 1) for v in tta_views(x, self.tta)]).mean(0)


def onnx_bytes(graph: nn.Module, example: torch.Tensor, input_name: str = "images") -> bytes:
    """The graph traced into ONNX (batch dimension dynamic)."""
    graph = graph.eval()
    # the TTA maps are made (by torchvision) before tracing, so the graph holds them as constants
    tta_views(example.permute(0, 3, 1, 2).float() if example.dtype == torch.uint8 else example, 7)
    buf = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on constants (image size, TTA maps): intended
        torch.onnx.export(graph, (example,), buf, input_names=[input_name], output_names=["probs"],
                          dynamic_axes={input_name: {0: "batch"}, "probs": {0: "batch"}}, opset_version=OPSET,
                          dynamo=False)
    return buf.getvalue()


def session(model: bytes | str | Path, threads: int = 0):
    """An onnxruntime CPU session (`threads` 0: onnxruntime's own choice)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.log_severity_level = 3
    data = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(data, sess_options=opts, providers=["CPUExecutionProvider"])


def export(run: str | Path, out: str | Path, fold: int | None = None, tta: int | None = None) -> dict:
    """Write RUN's models as one ONNX file; returns its metadata (classes, image size, folds, ...).

    Args:
        run: run folder written by tamgu train
        out: the ONNX file to write (MODEL.onnx)
        fold: only this fold's model (default: every fold, averaged)
        tta: test-time passes, 1 to 7 (default: the run's)
    """
    import onnx

    from .. import __version__

    run = Path(run)
    cfg = runfolder.load_run_config(run, tta=tta)
    ckpts = runfolder.fold_checkpoints(run, fold)
    loaded = [load_net(c) for c in ckpts.values()]
    classes = loaded[0][1]
    w, h = cfg.image_size
    graph = FoldMean([net for net, _, _ in loaded], cfg.tta)
    example = torch.zeros(2, h, w, 3, dtype=torch.uint8)
    model = onnx.load_from_string(onnx_bytes(graph, example))
    # the run's folder name, never this machine's path: the model file is shared beyond it
    meta = {"classes": classes, "image_size": [w, h], "input": "images: uint8 RGB (batch, height, width, 3)",
            "output": "probs: fold-mean probabilities (batch, classes)", "folds": sorted(ckpts), "tta": cfg.tta,
            "model": cfg.model, "run": run.resolve().name, "tamgu_version": __version__}
    for key, value in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, json.dumps(value, ensure_ascii=False)
    model.producer_name, model.producer_version = "tamgu", __version__
    out = Path(out)
    with atomic_path(out) as tmp:
        onnx.save(model, str(tmp))
    log.info("exported %d fold(s) of %s to %s", len(ckpts), run, out)
    return {**meta, "path": str(out), "bytes": out.stat().st_size}
