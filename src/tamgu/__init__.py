"""tamgu: image AI the way strong Kagglers do it.

Every command is a plain function with the same options:

    import tamgu
    tamgu.synth("data/synth")
    tamgu.check("data/synth")
    summary = tamgu.train("data/synth", out="runs/exp1", model="resnet18", split="driver")
    sub = tamgu.predict("runs/exp1")

Names are imported on first use, so `tamgu check` does not pay for loading torch.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "ConfigError": "config", "TrainConfig": "config", "load_config": "config",
    "DataError": "data", "check": "data", "load_dataset": "data",
    "demo": "demojob",
    "eda": "exploration",
    "frames": "videoframes", "VideoError": "videoframes",
    "denoise": "denoising", "denoise_image": "denoising", "evaluate_denoisers": "denoising",
    "train_denoiser": "n2n",
    "detect_faces": "detect", "detect_text": "detect", "detect_people": "detect", "find": "detect",
    "background": "detect",
    "make_folds": "folds",
    "log_loss": "metrics",
    "predict": "prediction", "score": "prediction", "validate_submission": "prediction",
    "synth": "synthetic",
    "train": "training",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tamgu' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
