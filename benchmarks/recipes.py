"""Which fine-tuning options help on drivers never seen: each recipe cross-validated on several generated sets,
judged on each set's held-out drivers (the private leaderboard) beside its driver-CV (OOF) estimate.

Run by hand, not in CI (about 2 minutes per recipe and set on 2 CPU cores):

    .venv/bin/python benchmarks/recipes.py                       # the default recipes, sets 0 1 2
    .venv/bin/python benchmarks/recipes.py --recipes light "light --label-smoothing 0.1" --seeds 0 1 2 3

A recipe is a name from RECIPES or `tamgu train` options in quotes. Every recipe trains the same model
(ImageNet MobileNetV2 at 96x72), epochs, batch and driver folds; the numbers are deterministic for a set
and a recipe (rerun: same digits). One set's held-out drivers are a noisy judge, hence several sets.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import tempfile
from pathlib import Path

import pandas as pd

import tamgu
from plain_vs_tamgu import make_data  # benchmarks/ is the script's folder, so on sys.path
from tamgu.console import quiet_lightning

RECIPES = {
    "none": "--augment none",
    "none, timm's head init": "--augment none --head-init timm",
    "light": "--augment light",
    "book": "--augment book",
    "none + label smoothing 0.1": "--augment none --label-smoothing 0.1",
    "none + freeze 1 epoch": "--augment none --freeze-epochs 1",
    "light + lr 3e-4": "--augment light --lr 3e-4",
}


def options(text: str) -> dict:
    """`--augment light --lr 3e-4` -> {"augment": "light", "lr": 3e-4}."""
    words, out = shlex.split(text), {}
    for key, value in zip(words[::2], words[1::2]):
        try:
            out[key.lstrip("-").replace("-", "_")] = int(value) if value.isdigit() else float(value)
        except ValueError:
            out[key.lstrip("-").replace("-", "_")] = value
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipes", nargs="+", default=list(RECIPES))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--keep", help="keep the data and runs in this folder")
    a = p.parse_args()
    quiet_lightning()
    root = Path(a.keep or tempfile.mkdtemp(prefix="tamgu-recipes-"))
    os.environ.setdefault("TAMGU_CACHE", str(root / "cache"))
    rows = []
    for seed in a.seeds:
        data = make_data(root, seed, test=800, test_drivers=8)  # the sets plain_vs_tamgu.py judges on
        for name in a.recipes:
            opts = options(RECIPES.get(name, name))
            s = tamgu.train(data, out=root / "runs" / f"{seed}-{len(rows)}", fresh=True, model="mobilenetv2_100",
                            weights="imagenet", image_size="96x72", epochs=a.epochs, folds=a.folds, patience=a.epochs,
                            batch_size=32, **opts)
            single = [f["log_loss"] for f in s["heldout"]["per_fold"].values()]  # each fold's model alone
            rows.append(dict(recipe=name, seed=seed, oof=s["oof"]["log_loss"], heldout=s["heldout"]["log_loss"],
                             accuracy=s["heldout"]["accuracy"], single=single))
            print(f"set {seed} {name}: OOF {rows[-1]['oof']:.4f}, held-out {rows[-1]['heldout']:.4f}", flush=True)
    df = pd.DataFrame(rows)
    table = df.pivot_table(index="recipe", columns="seed", values="heldout", sort=False)
    table.columns = [f"held-out set {c}" for c in table.columns]
    table["held-out mean"] = table.mean(axis=1)
    table["OOF mean"] = df.groupby("recipe", sort=False)["oof"].mean()
    table["held-out accuracy mean"] = df.groupby("recipe", sort=False)["accuracy"].mean()
    # one fold's model alone on the held-out drivers (median over folds and sets): how steady training is
    table["one model held-out median"] = df.groupby("recipe", sort=False)["single"].sum().map(statistics.median)
    print()
    print(table.round(4).to_markdown())


if __name__ == "__main__":
    main()
