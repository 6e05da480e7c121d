"""Chapter 5 as a results table: the book's steps in order, each one run of `train`, judged twice.

Steps 1-6 are plain `train` runs, 7-10 the ensemble, pseudo-label, smoothing and calibration steps, each
in its own folder (`OUT/<step>/`), so it resumes like any run and a finished step is kept. The table has the driver-CV estimate (OOF) and, where held-out test labels exist
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
    options: dict = field(default_factory=dict)  # train options (kind "train"/"pseudo"), ensemble options
    kind: str = "train"                          # train | ensemble | pseudo | smooth | calibrate
    members: tuple[str, ...] = ()                # earlier steps this one reads


def later_steps(models: tuple[str, str, str]) -> list[Step]:
    """Steps 7-10 over the three CNNs `models` (step names): the book's ensemble, semi-supervised
    retraining, the final weighted ensemble, then the winners' tricks."""
    a, b, c = models
    return [
        Step("7_ensemble", "ensemble of the three CNNs (equal weights, as the book)", dict(method="mean"),
             "ensemble", (a, b, c)),
        Step("8_pseudo", "+ pseudo-labels from step 7 (> 0.9), retrained as step 4", dict(threshold=0.9),
             "pseudo", ("7_ensemble", a)),
        Step("9_weighted", "final ensemble, weights fitted on OOF", dict(method="weighted"), "ensemble",
             (a, b, c, "8_pseudo")),
        Step("10_smooth", "+ test-neighbour smoothing (1st place)", {}, "smooth", ("9_weighted",)),
        Step("10_calibrate", "+ temperature scaling fitted on OOF", dict(method="mean", temperature=True),
             "ensemble", ("10_smooth",)),
    ]


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
    *later_steps(("4_augment", "6_vgg19", "6_resnet50")),
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
    *later_steps(("4_augment", "6_efficientnet_lite0", "6_book_head")),
]
# The generated set `--small` makes when no --data is given: 12 drivers, 600 training images; 8 unseen drivers
# in the test set, so that one misread clip does not decide the held-out score.
SMALL_DATA = dict(drivers=12, per_class=5, test=800, test_drivers=8, image_size="128x96", seed=0)

COLUMNS = ["step", "title", "split", "model", "weights", "augment", "oof_log_loss", "oof_accuracy",
           "heldout_log_loss", "heldout_accuracy", "epochs", "minutes"]


def steps_for(small: bool) -> list[tuple[Step, dict]]:
    """Each step with its resolved options: train options for training steps (pseudo retrains as step 4)."""
    base = SMALL if small else BOOK
    plan = SMALL_STEPS if small else BOOK_STEPS
    by_name = {s.name: s for s in plan}
    out = []
    for s in plan:
        if s.kind == "train":
            out.append((s, {**base, **s.options}))
        elif s.kind == "pseudo":
            out.append((s, {**base, **by_name[s.members[1]].options}))
        else:
            out.append((s, dict(s.options)))
    return out


def _row(step: Step, options: dict, summary: dict, seconds: float) -> dict:
    training = summary.get("training", {})
    held = summary.get("heldout", {})
    trained = step.kind in ("train", "pseudo")
    return {
        "step": step.name, "title": step.title,
        "split": options["split"] if trained else "driver",
        "model": options["model"] if trained else "+".join(step.members),
        "weights": options["weights"] if trained else "",
        "augment": options["augment"] if trained else "",
        "oof_log_loss": summary["oof"]["log_loss"], "oof_accuracy": summary["oof"]["accuracy"],
        "heldout_log_loss": held.get("log_loss"), "heldout_accuracy": held.get("accuracy"),
        "epochs": sum(v["epochs"] for v in training.values()) / len(training) if trained and training else None,
        # training steps: the folds' own training time (kept across resumes); others: this step's wall time
        "minutes": sum(v["seconds"] for v in training.values()) / 60 if trained and training else seconds / 60,
    }


def run_step(step: Step, opts: dict, data: Path, out: Path, truth: Path | None, overrides: dict) -> dict:
    """One step of the chapter; returns its run summary. Every step writes a run folder OUT/<step>."""
    from .ensemble import ensemble
    from .pseudo import pseudo
    from .smoothing import smooth

    folder = out / step.name
    truth_s = str(truth) if truth else None
    if step.kind == "train":
        return train(data, out=folder, truth=truth_s, **{**opts, **overrides})
    members = [out / m for m in step.members]
    if step.kind == "ensemble":
        return ensemble(members, folder, truth=truth_s, **opts)
    if step.kind == "smooth":
        return smooth(members[0], folder, truth=truth_s, accelerator=overrides.get("accelerator") or "auto")
    if step.kind == "pseudo":
        new_data = out / f"{step.name}_data"
        if not (new_data / "driver_imgs_list.csv").exists():
            info = pseudo(members[0], data, new_data, threshold=step.options.get("threshold", 0.9))
            print(f"   {info['pseudo_images']} pseudo-labelled test images added for training only", flush=True)
        return train(new_data, out=folder, truth=truth_s, **{**opts, **overrides})
    raise ValueError(f"unknown step kind {step.kind!r}")


def results_markdown(table: pd.DataFrame) -> str:
    shown = table.copy()
    for c in ("oof_log_loss", "heldout_log_loss"):
        shown[c] = shown[c].map(lambda v: "–" if pd.isna(v) else f"{v:.4f}")
    for c in ("oof_accuracy", "heldout_accuracy"):
        shown[c] = shown[c].map(lambda v: "–" if pd.isna(v) else f"{v:.3f}")
    shown["epochs"] = shown["epochs"].map(lambda v: "–" if pd.isna(v) else f"{v:.1f}")
    shown["minutes"] = shown["minutes"].map(lambda v: f"{v:.1f}")
    shown = shown.rename(columns={"oof_log_loss": "OOF log loss", "oof_accuracy": "OOF acc",
                                  "heldout_log_loss": "held-out log loss", "heldout_accuracy": "held-out acc"})
    return shown.to_markdown(index=False) + "\n"


def reproduce(chapter: str = "chapter5", data: str | Path | None = None, out: str | Path = "runs/chapter5",
              small: bool = False, steps: list[str] | None = None, **options: Any) -> pd.DataFrame:
    """Run the chapter's steps in order and write OUT/results.csv, OUT/results.md and OUT/report.html (the
    table and a plot of each step's effect); returns the table.

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
    overrides = {k: v for k, v in options.items() if v is not None}
    rows = []
    for step, opts in plan:
        t0 = time.time()
        print(f"== {step.name}: {step.title}", flush=True)
        summary = run_step(step, opts, Path(data), out, truth, overrides)
        seconds = time.time() - t0
        log.info("%s done in %.1f min", step.name, seconds / 60)
        rows.append(_row(step, {**opts, **overrides}, summary, seconds))
        table = pd.DataFrame(rows, columns=COLUMNS)
        write_csv(table, out / "results.csv")  # after every step: an interrupted chapter keeps its rows
        write_text(results_markdown(table), out / "results.md")
    write_json({"data": str(data), "small": small, "truth": str(truth) if truth else None}, out / "results.json")
    from ..reports.run_page import chapter_page

    chapter_page(out).save(out / "report.html")  # the table and each step's effect, to open in a browser
    return table
