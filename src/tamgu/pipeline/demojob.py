"""The main job (`make demo`): generated data -> driver-split 5-fold CV -> submission, on a CPU in minutes."""

from __future__ import annotations

from pathlib import Path

from .prediction import validate_submission
from .synthetic import synth
from .training import train

# Small enough for 2 CPU cores, big enough to learn poses across drivers it has never seen.
DEMO_DATA = dict(drivers=26, per_class=6, test=300, test_drivers=4, image_size="96x72", seed=0)
# timm's test_resnet (0.37M weights) learns these poses in ~10 epochs; bigger backbones only add minutes here.
DEMO_RUN = dict(model="test_resnet", image_size="96x72", split="driver", folds=5, epochs=10, patience=3,
                batch_size=32, optimizer="adamw", lr=3e-3, schedule="cosine", warmup_epochs=1, augment="none",
                seed=42)


def demo(out: str | Path = "runs/demo", accelerator: str = "auto", workers: int = 0) -> dict:
    """Generate a dataset, train and predict; returns the run summary (plus where the sample submission is)."""
    out = Path(out)
    data = out / "data"
    if not (data / "driver_imgs_list.csv").exists():
        synth(data, **DEMO_DATA)
    summary = train(data, out=out / "run", accelerator=accelerator, workers=workers, **DEMO_RUN)
    validate_submission(out / "run" / "submission.csv", data / "sample_submission.csv")
    summary["sample_submission"] = str(data / "sample_submission.csv")
    return summary
