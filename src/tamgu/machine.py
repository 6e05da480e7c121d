"""What this machine has for tamgu: versions, CPU/GPU, offline ImageNet weights, caches, optional tools.

    tamgu env            # or tamgu.environment() in a notebook (a table)
"""

from __future__ import annotations

import os
import platform
import shutil
from importlib import metadata

import pandas as pd


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def environment() -> pd.DataFrame:
    """One row per fact (what, value, note)."""
    import torch

    from .pipeline.cache import cache_dir
    from .pipeline.weights import WeightsError, resolve_weights

    rows = [("python", platform.python_version(), platform.platform()),
            *[(d, _version(d), "") for d in ("tamgu", "torch", "torchvision", "timm", "lightning", "opencv-python-headless")],
            ("CPU cores", str(os.cpu_count()), "--workers: loader processes; torch uses the cores for the maths")]
    if torch.cuda.is_available():
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        rows.append(("GPU", names, "train with --accelerator gpu --devices N"))
    else:
        rows.append(("GPU", "none", "everything runs on the CPU; the same commands use a GPU where there is one"))
    for model in ("mobilenetv2_100", "efficientnet_lite0"):
        try:
            src = resolve_weights(model, "imagenet")
            rows.append((f"ImageNet weights: {model}", "found", str(src.path)))
        except WeightsError as e:
            rows.append((f"ImageNet weights: {model}", "missing", str(e).splitlines()[0]))
    from .detection.models import available, install_hint

    for name, path in available().items():
        rows.append((f"model: {name}", "found" if path else "missing", path or install_hint(name)))
    rows.append(("image cache", str(cache_dir() or "off"), "TAMGU_CACHE=DIR moves it, =off turns it off"))
    for tool, why in (("chromium", "headless checks of the HTML pages (tests)"), ("tesseract", "Korean text (detect text)")):
        rows.append((tool, shutil.which(tool) or "not found", why))
    return pd.DataFrame(rows, columns=["what", "value", "note"])
