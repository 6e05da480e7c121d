"""Chapter 5 as a results table: the book's steps in order, each one run of `train`, judged twice.

Every step is a plain `train` run in its own folder (`OUT/<step>/`), so it resumes like any run and a
finished step is kept. The table has the driver-CV estimate (OOF) and, where held-out test labels exist
(generated data), the private-leaderboard score on test drivers no model has seen.

`small=True` keeps the chapter's order of changes but sizes it for a CPU: MobileNetV2 at 96 px (its
stand-ins for VGG19/ResNet50 are the other architectures with offline ImageNet weights) and tamgu's AdamW
recipe, because the book's SGD at lr 1e-4 does not leave the uniform guess in a CPU budget (README).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..io import write_csv, write_json, write_text
from .data import find_truth
from .synthetic import synth
from .training import train

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Step:
    name: str          # folder name and row key
    title: str
    options: dict = field(default_factory=dict)


# The book's settings (chapter 5, Keras): VGG16 with its 2048-2048 head, SGD, batch 8, 224 px.
BOOK = dict(model="vgg16", head="book", image_size=224, optimizer="sgd", lr=1e-4, schedule="constant",
            warmup_epochs=0, batch_size=8, epochs=500, patience=3, folds=5, augment="none")
BOOK_STEPS = [
    Step("1_baseline", "baseline: random split, from scratch", dict(split="random", weights="none")),
    Step("2_driver_split", "split by driver", dict(split="driver", weights="none")),
    Step("3_imagenet", "+ ImageNet weights (lr 1e-5)", dict(split="driver", weights="imagenet", lr=1e-5)),
    Step("4_augment", "+ augmentation", dict(split="driver", weights="imagenet", augment="book")),
    Step("5_random_augment", "random split + augmentation", dict(split="random", weights="imagenet", augment="book")),
    Step("6_vgg19", "VGG19", dict(split="driver", weights="imagenet", augment="book", model="vgg19")),
    Step("6_resnet50", "ResNet50", dict(split="driver", weights="imagenet", augment="book", model="resnet50",
                                        head="timm")),
]

# CPU-sized: the same changes in the same order, on MobileNetV2 at 96 px with tamgu's default recipe.
SMALL = dict(model="mobilenetv2_100", head="timm", image_size="96x72", optimizer="adamw", lr=1e-3,
             schedule="cosine", warmup_epochs=1, batch_size=32, epochs=8, patience=3, folds=4, augment="none")
SMALL_STEPS = [
    Step("1_baseline", "baseline: random split, from scratch", dict(split="random", weights="none")),
    Step("2_driver_split", "split by driver", dict(split="driver", weights="none")),
    Step("3_imagenet", "+ ImageNet weights", dict(split="driver", weights="imagenet")),
    Step("4_augment", "+ augmentation", dict(split="driver", weights="imagenet", augment="book")),
    Step("5_random_augment", "random split + augmentation", dict(split="random", weights="imagenet", augment="book")),
    Step("6_efficientnet_lite0", "EfficientNet-Lite0 (stand-in for VGG19)",
         dict(split="driver", weights="imagenet", augment="book", model="efficientnet_lite0")),
    Step("6_book_head", "MobileNetV2 + the book's 2048-2048 head (stand-in for ResNet50)",
         dict(split="driver", weights="imagenet", augment="book", head="book")),
]
# The generated set `--small` makes when no --data is given: 12 drivers, 600 training images, 4 unseen drivers.
SMALL_DATA = dict(drivers=12, per_class=5, test=400, test_drivers=4, image_size="128x96", seed=0)

COLUMNS = ["step", "title", "split", "model", "weights", "augment", "oof_log_loss", "oof_accuracy",
           "heldout_log_loss", "heldout_accuracy", "epochs", "minutes"]


def steps_for(small: bool) -> list[tuple[Step, dict]]:
    base = SMALL if small else BOOK
    return [(s, {**base, **s.options}) for s in (SMALL_STEPS if small else BOOK_STEPS)]


def _row(step: Step, options: dict, summary: dict) -> dict:
    training = summary.get("training", {})
    held = summary.get("heldout", {})
    return {
        "step": step.name, "title": step.title, "split": options["split"], "model": options["model"],
        "weights": options["weights"], "augment": options["augment"],
        "oof_log_loss": summary["oof"]["log_loss"], "oof_accuracy": summary["oof"]["accuracy"],
        "heldout_log_loss": held.get("log_loss"), "heldout_accuracy": held.get("accuracy"),
        "epochs": sum(v["epochs"] for v in training.values()) / max(1, len(training)),
        "minutes": sum(v["seconds"] for v in training.values()) / 60,
    }


def results_markdown(table: pd.DataFrame) -> str:
    shown = table.copy()
    for c in ("oof_log_loss", "heldout_log_loss"):
        shown[c] = shown[c].map(lambda v: "–" if pd.isna(v) else f"{v:.4f}")
    for c in ("oof_accuracy", "heldout_accuracy"):
        shown[c] = shown[c].map(lambda v: "–" if pd.isna(v) else f"{v:.3f}")
    shown["epochs"] = shown["epochs"].map(lambda v: f"{v:.1f}")
    shown["minutes"] = shown["minutes"].map(lambda v: f"{v:.1f}")
    shown = shown.rename(columns={"oof_log_loss": "OOF log loss", "oof_accuracy": "OOF acc",
                                  "heldout_log_loss": "held-out log loss", "heldout_accuracy": "held-out acc"})
    return shown.to_markdown(index=False) + "\n"


def reproduce(chapter: str = "chapter5", data: str | Path | None = None, out: str | Path = "runs/chapter5",
              small: bool = False, steps: list[str] | None = None, **options: Any) -> pd.DataFrame:
    """Run the chapter's steps in order and write OUT/results.csv and OUT/results.md; returns the table.

    `data`: the dataset (with --small and no data, a generated one is made in OUT/data). `steps`: run only
    these (names or leading numbers, e.g. ["1", "3"]). Other options (accelerator, workers, devices,
    epochs...) apply to every step. Rerunning keeps finished steps and resumes an interrupted one.
    """
    if chapter != "chapter5":
        raise ValueError(f"unknown chapter {chapter!r}: tamgu reproduces chapter5.")
    out = Path(out)
    if data is None:
        if not small:
            raise ValueError("reproduce chapter5 needs --data (the Kaggle zip or folder); --small alone makes "
                             "a generated dataset.")
        data = out / "data"
        if not (data / "driver_imgs_list.csv").exists():
            synth(data, **SMALL_DATA)
    plan = steps_for(small)
    if steps:
        wanted = [str(s) for s in steps]
        plan = [(s, o) for s, o in plan if s.name in wanted or s.name.split("_")[0] in wanted]
        if not plan:
            raise ValueError(f"no step matches {steps}: steps are {[s.name for s, _ in steps_for(small)]}.")
    truth = find_truth(data)
    rows = []
    for step, opts in plan:
        opts = {**opts, **{k: v for k, v in options.items() if v is not None}}
        t0 = time.time()
        print(f"== {step.name}: {step.title}", flush=True)
        summary = train(data, out=out / step.name, truth=str(truth) if truth else None, **opts)
        log.info("%s done in %.1f min", step.name, (time.time() - t0) / 60)
        rows.append(_row(step, opts, summary))
        table = pd.DataFrame(rows, columns=COLUMNS)
        write_csv(table, out / "results.csv")  # after every step: an interrupted chapter keeps its rows
        write_text(results_markdown(table), out / "results.md")
    write_json({"data": str(data), "small": small, "truth": str(truth) if truth else None}, out / "results.json")
    return table
