"""`tamgu report DIR` of a `tamgu nilm train` run or a `tamgu nilm predict` folder: the metrics of every model
side by side (OOF by house beside the held-out houses), and for one house the aggregate, each appliance's truth
and each model's estimate on one time axis. Reads only the folder's files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .page import Page

HOURS = 24  # hours of one house drawn on the time axis (a whole recording is unreadable at this width)
COLOURS = {"truth": "#222222", "mean": "#999999", "seq2point": "#1f77b4", "gated": "#d62728"}


def is_nilm_folder(folder: Path) -> bool:
    return (folder / "summary.json").is_file() and any((folder / f).is_file() for f in
                                                       ("oof.csv", "predictions.csv")) and \
        ("appliances" in json.loads((folder / "summary.json").read_text(encoding="utf-8")))


def timeline_figure(table: pd.DataFrame, appliances: list[str], models: list[str], title: str, hours: float = HOURS):
    """The aggregate on top, then one axis per appliance: truth and every model's estimate."""
    import matplotlib.pyplot as plt

    t = pd.to_datetime(table["time"])
    keep = t < t.iloc[0] + pd.Timedelta(hours=hours)
    table, t = table[keep], t[keep]
    fig, axes = plt.subplots(len(appliances) + 1, 1, figsize=(11, 1.6 * (len(appliances) + 1)), sharex=True)
    axes[0].plot(t, table["aggregate"], color="#555555", lw=0.6)
    axes[0].set_ylabel("aggregate W", fontsize=8)
    axes[0].set_title(title, fontsize=10)
    for ax, a in zip(axes[1:], appliances):
        if a in table and table[a].notna().any():
            ax.plot(t, table[a], color=COLOURS["truth"], lw=1.0, label="truth")
        for m in models:
            if f"{a}_{m}" in table:
                ax.plot(t, table[f"{a}_{m}"], color=COLOURS.get(m), lw=0.8, alpha=0.85, label=m)
        ax.set_ylabel(f"{a} W", fontsize=8)
    axes[1].legend(loc="upper right", fontsize=7, ncol=len(models) + 1)
    fig.tight_layout()
    return fig


def nilm_page(folder: Path) -> Page:
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    appliances, models = summary["appliances"], summary["models"]
    page = Page(f"NILM: {folder.name}", f"{folder.resolve()} · appliances {', '.join(appliances)} · "
                f"models {', '.join(models)}", lang="ko")
    with page.section("Metrics", "metrics") as sec:
        if (folder / "metrics.csv").is_file():
            metrics = pd.read_csv(folder / "metrics.csv")
            sec.text("MAE in watts and signal aggregate error (lower is better), on/off F1 (higher is better). "
                     "oof: each training house predicted by the fold that never saw it; test: houses no model saw.",
                     "note")
            wide = metrics.pivot_table(index=["split", "appliance"], columns="model", values="mae", sort=False)
            sec.table(wide.reset_index(), digits=4)
            sec.table(metrics, digits=4)
        else:
            sec.text("(no appliance meters in the data: estimates only)", "note")
    for name in ("test_pred.csv", "oof.csv", "predictions.csv"):
        if (folder / name).is_file():
            table = pd.read_csv(folder / name)
            house = table["house"].iloc[0]
            with page.section(f"{name}: {house}", name.split(".")[0]) as sec:
                sec.figure(timeline_figure(table[table["house"] == house], appliances, models,
                                           f"{house}, first {HOURS} hours"), alt=f"{house} timeline")
    return page
