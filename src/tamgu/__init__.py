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
    "ConfigError": "pipeline.config", "TrainConfig": "pipeline.config", "load_config": "pipeline.config",
    "DataError": "pipeline.data", "check": "pipeline.data", "load_dataset": "pipeline.data",
    "TamguError": "errors",
    "demo": "recipes.demo",
    "eda": "reports.eda", "augment_preview": "reports.figures",
    "frames": "video.frames", "VideoError": "video.reader", "samples": "video.samples",
    "denoise": "denoising.filters", "denoise_image": "denoising.filters", "evaluate_denoisers": "denoising.filters",
    "evaluate_video_denoisers": "denoising.filters",
    "train_denoiser": "denoising.n2n", "simulate_bursts": "denoising.unprocess", "evaluate_bursts": "denoising.night_eval",
    "read_raw": "denoising.raw",
    "detect_faces": "detection.faces", "detect_text": "detection.text", "detect_people": "detection.objects",
    "detect_objects": "detection.objects", "find": "detection.search", "crops": "detection.crops",
    "evaluate_detections": "detection.judge", "crossing_clip": "detection.synth",
    "read_annotations": "detection.annotations", "write_annotations": "detection.annotations",
    "background": "segmentation.background", "FrameOptions": "video.stream",
    "cracks": "inspection.cracks", "evaluate_cracks": "inspection.cracks", "train_cracks": "inspection.unet",
    "synth_cracks": "inspection.synth", "synth_wall_clip": "inspection.synth",
    "make_folds": "pipeline.folds",
    "log_loss": "pipeline.metrics",
    "predict": "pipeline.prediction", "score": "pipeline.prediction", "validate_submission": "pipeline.prediction",
    "synth": "pipeline.synthetic", "synth_clip": "pipeline.synthetic",
    "export": "pipeline.export", "watch": "live.watch", "read_watch": "live.watch", "frame_at": "video.reader",
    "reproduce": "recipes.chapter5",
    "audit": "curation.audit", "suggest": "curation.suggest", "label": "curation.label",
    "ensemble": "tricks.ensemble", "smooth": "tricks.smoothing", "pseudo": "tricks.pseudo",
    "train": "pipeline.training", "collect": "pipeline.training",
    "environment": "machine",
    "synth_houses": "nilm.synth", "train_nilm": "nilm.run", "predict_nilm": "nilm.run", "read_houses": "nilm.data",
    "report": "reports.run_page", "eda_page": "reports.eda_page", "gradcam": "reports.heatmaps",
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
