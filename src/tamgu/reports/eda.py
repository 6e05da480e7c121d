"""Exploratory data analysis (chapter 5.6): what is in the dataset, in tables and pictures.

    tamgu eda DATA --out eda/

Writes `eda.md` (counts, sizes, the driver x class table) and four figures: images per class, images per
driver (group), the driver x class heat map, and a grid of sample images per class. In a notebook the
figures also display under the cell.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..files import read_image
from ..pipeline.data import load_dataset
from ..statefarm import CLASS_DESCRIPTIONS
from .figures import bar_figure, driver_class_figure, finish



def eda(data: str | Path, out: str | Path, groups: str | None = None, samples: int = 6, seed: int = 0):
    """Summarise a dataset into `out` (eda.md + PNG figures); returns the numbers as a dict.

    With `out` ending in .html: one self-contained page instead (`reports.eda_page`: file checks,
    near-duplicates and leakage, outliers, strips per driver...), returned as a Page that shows inline.

    Args:
        data: dataset (Kaggle folder or zip, or class-per-folder set)
        out: eda.html for one page to open in a browser; else a folder for eda.md and figures
        samples: sample images per class
        seed: which sample images
    """
    import matplotlib.pyplot as plt

    if str(out).lower().endswith((".html", ".htm")):
        from .eda_page import eda_page

        return eda_page(data, out, groups=groups, samples=samples, seed=seed)

    ds = load_dataset(data, groups=groups, strict=False)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t = ds.train
    per_class = t["label"].value_counts().reindex(ds.classes, fill_value=0)
    has_groups = t["group"].notna().any()
    per_group = t["group"].value_counts().sort_index() if has_groups else pd.Series(dtype=int)
    table = pd.crosstab(t["group"], t["label"]).reindex(columns=ds.classes, fill_value=0) if has_groups else None

    rng = np.random.default_rng(seed)
    probe = t["path"].iloc[rng.permutation(len(t))[:50]].tolist() if len(t) else []
    sizes = pd.Series([f"{im.shape[1]}x{im.shape[0]}" for im in map(read_image, probe) if im is not None]).value_counts()

    finish(bar_figure(per_class, "images per class", "tab:blue"), out / "per_class.png")
    if has_groups:
        finish(bar_figure(per_group, "images per driver / group", "tab:orange"), out / "per_group.png")
        finish(driver_class_figure(table), out / "group_by_class.png")

    fig, axes = plt.subplots(len(ds.classes), samples, figsize=(1.6 * samples, 1.3 * len(ds.classes)), squeeze=False)
    for r, cls in enumerate(ds.classes):
        pick = t[t["label"] == cls]
        pick = pick.iloc[rng.permutation(len(pick))[:samples]]
        for c in range(samples):
            ax = axes[r, c]
            ax.axis("off")
            if c < len(pick):
                img = read_image(pick["path"].iloc[c])
                if img is not None:
                    ax.imshow(img)
                    ax.set_title(str(pick["group"].iloc[c]) if has_groups else "", fontsize=6)
        desc = CLASS_DESCRIPTIONS.get(cls, ("", ""))[0]
        axes[r, 0].text(-0.1, 0.5, f"{cls} {desc}", transform=axes[r, 0].transAxes, ha="right", va="center", fontsize=7)
    finish(fig, out / "samples.png")

    lines = [f"# EDA: {ds.root}", "", f"- layout: {ds.kind}; classes: {len(ds.classes)}",
             f"- training images: {len(t)}; test images: {len(ds.test)}",
             f"- groups (drivers): {t['group'].nunique() if has_groups else 0}"
             + (f", {per_group.min()} to {per_group.max()} images each" if has_groups else ""),
             f"- image sizes (of {len(probe)} sampled): " + ", ".join(f"{k} x{v}" for k, v in sizes.items()), "",
             "## Images per class", "", per_class.rename("images").to_frame().to_markdown(), ""]
    if table is not None:
        lines += ["## Driver x class", "", table.to_markdown(), ""]
    lines += ["![per class](per_class.png)", "![samples](samples.png)"]
    if has_groups:
        lines += ["![per group](per_group.png)", "![group by class](group_by_class.png)"]
    (out / "eda.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"classes": ds.classes, "train_images": int(len(t)), "test_images": int(len(ds.test)),
            "per_class": {k: int(v) for k, v in per_class.items()},
            "per_group": {str(k): int(v) for k, v in per_group.items()},
            "image_sizes": {k: int(v) for k, v in sizes.items()}, "report": str(out / "eda.md")}
