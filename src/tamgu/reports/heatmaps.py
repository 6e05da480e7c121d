"""Grad-CAM heat maps through pytorch-grad-cam (jacobgil/pytorch-grad-cam): where in the picture the
evidence for a class lies, as seen by the last convolutional stage of a timm backbone."""

from __future__ import annotations

import cv2
import numpy as np
import torch
from torch import nn


MIN_CELLS = 4  # a heat map coarser than 4 cells on its short side says little: use an earlier stage


def target_layer(net: nn.Module, image_hw: tuple[int, int] | None = None) -> nn.Module:
    """The deepest feature stage of a tamgu `Net` (timm's feature_info names them: layer4, blocks.6, ...)
    whose map still has MIN_CELLS cells on the short side of an `image_hw` input (small images, as on a
    CPU, would otherwise get a 2x3 map)."""
    backbone = getattr(net, "backbone", net)
    info = getattr(backbone, "feature_info", None)
    if info:
        stages = info if isinstance(info, list) else [{"module": m, "reduction": r}
                                                     for m, r in zip(info.module_name(), info.reduction())]
        chosen = stages[-1]
        if image_hw is not None:
            fine = [st for st in stages if min(image_hw) / st["reduction"] >= MIN_CELLS]
            chosen = fine[-1] if fine else stages[0]
        return backbone.get_submodule(chosen["module"])
    convs = [m for m in backbone.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError(f"{type(backbone).__name__} has no convolution: Grad-CAM needs a CNN.")
    return convs[-1]


def gradcam(net: nn.Module, images: torch.Tensor, targets: list[int]) -> np.ndarray:
    """Heat maps (B, H, W) in 0..1 at the input's size, for class `targets[i]` of image i.

    `images`: (B, 3, H, W) floats in 0..1, as tamgu's loaders give them (the Net normalises itself).
    """
    try:
        from pytorch_grad_cam import GradCAM
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    except ImportError as e:
        raise ImportError("Grad-CAM needs pytorch-grad-cam: pip install --no-deps grad-cam==1.5.7 ttach==0.0.3 "
                          "(--no-deps: it asks for opencv-python, a second cv2 beside opencv-python-headless); "
                          "or make a report without it: tamgu report RUN --no-gradcam") from e

    was_training = net.training
    net.eval()
    try:
        with torch.enable_grad(), GradCAM(model=net, target_layers=[target_layer(net, tuple(images.shape[-2:]))]) as cam:
            maps = cam(input_tensor=images.float(), targets=[ClassifierOutputTarget(int(t)) for t in targets])
    finally:
        net.train(was_training)
    return np.asarray(maps, dtype=np.float32)


def overlay(img: np.ndarray, heat: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """An RGB uint8 image with a heat map (H, W in 0..1, any size) laid over it in the JET colours."""
    h, w = img.shape[:2]
    heat = cv2.resize(heat.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    colour = cv2.applyColorMap(np.uint8(255 * np.clip(heat, 0, 1)), cv2.COLORMAP_JET)[..., ::-1]
    return np.uint8(np.clip((1 - alpha) * img.astype(np.float32) + alpha * colour, 0, 255))
