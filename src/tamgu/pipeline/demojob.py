"""The main job (`make demo`): generated data -> ImageNet MobileNetV2, driver-split CV -> submission, judged
on held-out test drivers (the private leaderboard), on a CPU in minutes."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from ..io import write_yaml
from .config import ConfigError
from .prediction import validate_submission
from .synthetic import synth
from .training import train

# Small enough for 2 CPU cores, big enough that drivers differ: 16 drivers in 4 folds, 6 unseen test drivers.
DEMO_DATA = dict(drivers=16, per_class=4, test=500, test_drivers=6, image_size="128x96", seed=0)
# Real ImageNet weights (torchvision's MobileNetV2, installed offline by `make`), fine-tuned end to end.
DEMO_RUN = dict(model="mobilenetv2_100", weights="imagenet", image_size="96x72", split="driver", folds=4, epochs=8,
                patience=3, batch_size=32, optimizer="adamw", lr=1e-3, schedule="cosine", warmup_epochs=1,
                augment="none", seed=42)


def demo(out: str | Path = "runs/demo", accelerator: str = "auto", workers: int = 0) -> dict:
    """Generate a dataset, train and predict; returns the run summary (plus where the sample submission is)."""
    out = Path(out)
    data = out / "data"
    made_with = out / "demo_data.yaml"
    if not (data / "driver_imgs_list.csv").exists() or not made_with.exists() or \
            yaml.safe_load(made_with.read_text()) != DEMO_DATA:
        shutil.rmtree(data, ignore_errors=True)  # made by an older demo: the demo's data is always regenerable
        synth(data, **DEMO_DATA)
        write_yaml(DEMO_DATA, made_with)
    try:
        summary = train(data, out=out / "run", accelerator=accelerator, workers=workers, **DEMO_RUN)
    except ConfigError:  # a run left by an older demo: the demo is disposable, start it again
        summary = train(data, out=out / "run", accelerator=accelerator, workers=workers, fresh=True, **DEMO_RUN)
    validate_submission(out / "run" / "submission.csv", data / "sample_submission.csv")
    summary["sample_submission"] = str(data / "sample_submission.csv")
    return summary
