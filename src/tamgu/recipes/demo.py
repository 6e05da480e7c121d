"""The main job (`make demo`): generated data -> ImageNet MobileNetV2, driver-split CV -> submission, judged
on held-out test drivers (the private leaderboard), on a CPU in minutes."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from ..files import write_yaml
from ..pipeline.config import ConfigError
from ..pipeline.prediction import validate_submission
from ..pipeline.synthetic import synth
from ..pipeline.training import train
from ..defaults import ACCELERATOR

RECIPE = Path(__file__).with_name("demo.yaml")  # the generated set and the run's config


def read_recipe(path: Path = RECIPE) -> tuple[dict, dict]:
    """(synth options, train options) of the demo."""
    recipe = yaml.safe_load(path.read_text(encoding="utf-8"))
    return recipe["data"], recipe["run"]


def demo(out: str | Path = "runs/demo", accelerator: str = ACCELERATOR, workers: int = 0) -> dict:
    """Generate a dataset, train and predict; returns the run summary (plus where the sample submission is).

    Args:
        out: folder for the data and the run
        workers: data-loading processes (0: tiny images decode fast)
    """
    demo_data, demo_run = read_recipe()
    out = Path(out)
    data = out / "data"
    made_with = out / "demo_data.yaml"
    if not (data / "driver_imgs_list.csv").exists() or not made_with.exists() or \
            yaml.safe_load(made_with.read_text()) != demo_data:
        shutil.rmtree(data, ignore_errors=True)  # made by an older demo: the demo's data is always regenerable
        synth(data, **demo_data)
        write_yaml(demo_data, made_with)
    try:
        summary = train(data, out=out / "run", accelerator=accelerator, workers=workers, **demo_run)
    except ConfigError:  # a run left by an older demo: the demo is disposable, start it again
        summary = train(data, out=out / "run", accelerator=accelerator, workers=workers, fresh=True, **demo_run)
    validate_submission(out / "run" / "submission.csv", data / "sample_submission.csv")
    summary["sample_submission"] = str(data / "sample_submission.csv")
    return summary
