"""The page of a `tamgu audit` folder: each flagged image with its given and suggested label and its nearest
neighbours, near-duplicate pairs, outliers, and a map of the features coloured by class with the flagged images
marked. Reads only the folder's files (and the images they name); opens offline."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..files import read_image
from .page import Page

SHOWN = 60  # flagged images, pairs and outliers shown on the page (the CSVs hold them all)


def is_audit_folder(folder: Path) -> bool:
    return (folder / "label_issues.csv").is_file() and (folder / "summary.json").is_file()


def _img(path: str):
    try:
        return read_image(path)
    except (OSError, ValueError):
        return None


def map_figure(table: pd.DataFrame, title: str):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 6))
    for label, part in table.groupby("label"):
        ax.scatter(part["x"], part["y"], s=8, alpha=0.7, label=str(label))
    bad = table[table["flagged"].astype(str).str.lower() == "true"]
    ax.scatter(bad["x"], bad["y"], s=40, marker="x", color="black", label="flagged")
    ax.set_xticks([]), ax.set_yticks([])
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, markerscale=1.5, loc="best", ncol=2)
    fig.tight_layout()
    return fig


def audit_page(folder: str | Path) -> Page:
    folder = Path(folder)
    s = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    issues = pd.read_csv(folder / "label_issues.csv", dtype=str, keep_default_na=False)
    fmap = pd.read_csv(folder / "map.csv", dtype={"img": str, "path": str}) if (folder / "map.csv").is_file() else None
    lookup = dict(zip(fmap["img"], fmap["path"])) if fmap is not None else {}  # img -> path of every image
    page = Page(f"Audit: {Path(s['run']).name}",
                f"{s['images']} images · {s['label_issues']} label issues (about {100 * s['estimated_noise']:.1f}% "
                f"of labels look wrong) · {s['leaks']} leaks · {s['conflicts']} conflicts · {s['outliers']} outliers"
                f" · {s['run']}", lang="ko")
    with page.section("Label issues", "label-issues") as sec:
        if s.get("warning"):
            sec.text(s["warning"], "bad")
        sec.text("Confident learning on the out-of-fold probabilities: each image was judged by a model that never "
                 "trained on it. score = the suggested class's probability minus the given one's. To fix one, "
                 "write drop or relabel in the action column of fixes.csv and train again with "
                 "--fixes fixes.csv; the image files are not moved.", "note")
        for r in issues.head(SHOWN).itertuples():
            sec.strip(f"{r.img}: {r.given} → {r.suggested} ({float(r.score):+.2f})", [_img(r.path)], height=96)
        if len(issues) > SHOWN:
            sec.text(f"... and {len(issues) - SHOWN} more in label_issues.csv", "note")
        if issues.empty:
            sec.text("(none: the model agrees with every label it could judge)", "note")
    if len(issues):
        with page.section("Nearest neighbours", "neighbours") as sec:
            sec.text("Each flagged image, then its nearest neighbours in the features (their labels in the "
                     "neighbours' row of label_issues.csv): a flagged image among neighbours of the suggested class "
                     "is probably mislabelled.", "note")
            labels = dict(zip(fmap["img"], fmap["label"])) if fmap is not None else {}
            for r in issues.head(min(SHOWN, 20)).itertuples():
                names = str(r.neighbours).split()
                sec.strip(f"{r.img} ({r.given}) · " + " ".join(labels.get(n, "?") for n in names),
                          [_img(r.path)] + [_img(lookup[n]) for n in names if n in lookup], height=80)
    dups = pd.read_csv(folder / "duplicates.csv", dtype=str, keep_default_na=False)
    with page.section("Near-duplicates", "duplicates") as sec:
        sec.text(f"Pairs of images at least {s['duplicate']} similar that sit in two groups (leak: one scene in "
                 "two folds, so validation sees what training saw) or carry two labels (conflict).", "note")
        for r in dups.head(SHOWN).itertuples():
            sec.strip(f"{r.kind} {float(r.similarity):.3f}: {r.label}/{r.group} · {r.other_label}/{r.other_group}",
                      [_img(lookup.get(r.img, "")), _img(lookup.get(r.other, ""))], height=80)
        if dups.empty:
            sec.text("(none)", "note")
    outl = pd.read_csv(folder / "outliers.csv", dtype=str, keep_default_na=False)
    with page.section("Outliers", "outliers") as sec:
        sec.text("Images far from every other image in the features: another camera, a blank frame, a wrong file.",
                 "note")
        sec.gallery([(_img(r.path), f"{r.img} ({r.label}) {float(r.score):.3f}") for r in outl.head(SHOWN).itertuples()])
    if fmap is not None:
        with page.section("Map", "map") as sec:
            sec.figure(map_figure(fmap, "features in 2-D, coloured by given class; x: flagged"), alt="feature map")
    return page

