"""Chapter 5 as a results table: the book's steps in order, each one run of `train`, judged twice.

The recipe is data: `recipes/ch5/chapter.yaml` lists the steps, and each training step is one config file
beside it (`1_baseline.yaml` ... `6_resnet50.yaml`, the same files `tamgu train --config` takes). Steps 1-6 are
plain `train` runs, 7-10 the ensemble, pseudo-label, smoothing and calibration steps, each in its own folder
(`OUT/<step>/`), so it resumes like any run and a finished step is kept. The table has the driver-CV estimate
(OOF) and, where held-out test labels exist (generated data), the private-leaderboard score on test drivers no
model has seen.

`small=True` applies the plan's `small:` overlay: the chapter's order of changes sized for a CPU (MobileNetV2
at 96 px and tamgu's AdamW recipe; its stand-ins for VGG19/ResNet50 are the other architectures with offline
ImageNet weights).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml

from ..errors import InputError
from ..files import write_csv, write_json, write_text
from ..pipeline.data import find_truth
from ..pipeline.synthetic import synth
from ..pipeline.training import train

log = logging.getLogger(__name__)

RECIPE = Path(__file__).with_name("ch5")  # chapter.yaml and one config per training step


@dataclass(frozen=True)
class Step:
    name: str          # folder name and row key
    title: str
    options: dict = field(default_factory=dict)  # ensemble/pseudo/smooth options (training steps: their config)
    kind: str = "train"                          # train | ensemble | pseudo | smooth
    members: tuple[str, ...] = ()                # earlier steps this one reads
    config: str | None = None                    # training steps: the config file in RECIPE


def read_plan(small: bool, recipe: Path = RECIPE) -> tuple[list[Step], dict[str, dict]]:
    """The steps of chapter.yaml (with the --small overlay) and each training step's train options: its
    config file, then the overlay's base, then the overlay's step options."""
    plan = yaml.safe_load((recipe / "chapter.yaml").read_text(encoding="utf-8"))
    overlay = plan["small"] if small else {"base": {}, "steps": {}}
    renamed = {name: o["name"] for name, o in overlay["steps"].items() if "name" in o}
    steps, options = [], {}
    for raw in plan["steps"]:
        over = overlay["steps"].get(raw["name"], {})
        step = Step(name=over.get("name", raw["name"]), title=over.get("title", raw["title"]),
                    options=dict(raw.get("options", {})), kind=raw.get("kind", "train"),
                    members=tuple(renamed.get(m, m) for m in raw.get("members", ())), config=raw.get("config"))
        if step.kind == "train":
            values = yaml.safe_load((recipe / step.config).read_text(encoding="utf-8"))
            options[step.name] = {**values, **overlay["base"], **over.get("options", {})}
        steps.append(step)
    return steps, options


def small_data(recipe: Path = RECIPE) -> dict:
    """The generated set `--small` makes when no --data is given."""
    return yaml.safe_load((recipe / "chapter.yaml").read_text(encoding="utf-8"))["small"]["data"]


COLUMNS = ["step", "title", "split", "model", "weights", "augment", "oof_log_loss", "oof_accuracy",
           "heldout_log_loss", "heldout_accuracy", "epochs", "minutes"]


def steps_for(small: bool) -> list[tuple[Step, dict]]:
    """Each step with its resolved options: train options for training steps (pseudo retrains as its second
    member, step 4), the step's own options otherwise."""
    steps, train_options = read_plan(small)
    out = []
    for s in steps:
        if s.kind == "train":
            out.append((s, train_options[s.name]))
        elif s.kind == "pseudo":
            out.append((s, dict(train_options[s.members[1]])))
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
    from ..tricks.ensemble import ensemble
    from ..tricks.pseudo import pseudo
    from ..tricks.smoothing import smooth

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
            info = pseudo(members[0], data, new_data, **step.options)
            covered = sum(1 for n in info["per_class"].values() if n)
            print(f"   {info['pseudo_images']} pseudo-labelled test images added for training only, covering "
                  f"{covered} of {len(info['per_class'])} classes", flush=True)
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


def reproduce(chapter: Literal["chapter5"] = "chapter5", data: str | Path | None = None, out: str | Path = "runs/chapter5",
              small: bool = False, steps: list[str] | None = None, **options: Any) -> pd.DataFrame:
    """Run the chapter's steps in order and write OUT/results.csv, OUT/results.md and OUT/report.html (the
    table and a plot of each step's effect); returns the table.

    `data`: the dataset (with --small and no data, a generated one is made in OUT/data). `steps`: run only
    these (names or leading numbers, e.g. ["1", "3"]). Other options (accelerator, workers, devices,
    epochs...) apply to every step. Rerunning keeps finished steps and resumes an interrupted one.

    Args:
        chapter: which chapter: chapter5
        data: dataset (Kaggle zip or folder); with --small and no --data, a generated one
        out: folder for every step's run and results.md/.csv
        small: CPU-sized: MobileNetV2 at 96 px, tamgu's recipe (~20 min)
        steps: only these steps, e.g. 1,3,6_efficientnet_lite0 (default all)
    """
    if chapter != "chapter5":
        raise InputError(f"unknown chapter {chapter!r}: tamgu reproduces chapter5.")
    out = Path(out)
    if data is None:
        if not small:
            raise InputError("reproduce chapter5 needs --data (the Kaggle zip or folder); --small alone makes "
                             "a generated dataset.")
        data = out / "data"
        if not (data / "driver_imgs_list.csv").exists():
            synth(data, **small_data())
    plan = steps_for(small)
    if steps:
        wanted = [str(s) for s in steps]
        plan = [(s, o) for s, o in plan if s.name in wanted or s.name.split("_")[0] in wanted]
        if not plan:
            raise InputError(f"no step matches {steps}: steps are {[s.name for s, _ in steps_for(small)]}.")
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
    from ..reports.run_page import chapter_page  # recipes sit above core and reports: they may use both

    chapter_page(out).save(out / "report.html")  # the table and each step's effect, to open in a browser
    return table
