"""Every figure tamgu draws (matplotlib), and the one helper that saves them: `finish(fig, path)` writes the
PNG and closes the figure, except in a notebook, where it stays open and shows under the cell once."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ..errors import InputError
from ..console import in_notebook
from ..pipeline.metrics import log_loss


def finish(fig, path: str | Path | None = None):
    """Save `fig` to `path` (when given) and close it, unless in a notebook (it then displays inline);
    returns the figure."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=90)
    if not in_notebook():
        plt.close(fig)
    return fig


def bar_figure(series: pd.Series, title: str, colour: str):
    """Counts as bars (images per class, per driver)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(min(14, 2 + 0.35 * len(series)), 2.8))
    series.plot.bar(ax=ax, color=colour)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def crack_sizes_figure(table: pd.DataFrame, unit: str = "px"):
    """Histograms of crack lengths and widest points (a `tamgu cracks` table)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3))
    axes[0].hist(table[f"length_{unit}"], bins=20, color="#c33")
    axes[0].set_xlabel(f"length ({unit})")
    axes[0].set_ylabel("cracks")
    axes[1].hist(table[f"max_width_{unit}"], bins=20, color="#555")
    axes[1].set_xlabel(f"widest point ({unit})")
    fig.tight_layout()
    return fig


def driver_class_figure(table: pd.DataFrame):
    """The driver x class table as a heat map."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, max(3, 0.22 * len(table))))
    im = ax.imshow(table.to_numpy(), aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(table.columns)), table.columns)
    ax.set_yticks(range(len(table)), table.index, fontsize=7)
    fig.colorbar(im, ax=ax)
    ax.set_title("images per driver and class")
    fig.tight_layout()
    return fig


def reliability_figure(y: np.ndarray, curves: dict[str, np.ndarray] | np.ndarray, title: str, bins: int = 10):
    """Confidence of the top class against how often it is right, per confidence bin (on the diagonal =
    calibrated). `curves`: one probability table, or several by name (before/after calibration, with their
    log loss in the legend)."""
    import matplotlib.pyplot as plt

    single = not isinstance(curves, dict)
    curves = {"": curves} if single else curves
    fig, ax = plt.subplots(figsize=(4.2, 4.2))
    ax.plot([0, 1], [0, 1], "--", color="grey", lw=1)
    edges = np.linspace(0, 1, bins + 1)
    for name, p in curves.items():
        conf, right = p.max(1), p.argmax(1) == y
        which = np.clip(np.digitize(conf, edges) - 1, 0, bins - 1)
        used = [b for b in range(bins) if (which == b).any()]
        xs = [conf[which == b].mean() for b in used]
        ys = [right[which == b].mean() for b in used]
        ax.plot(xs, ys, "o-", label=None if single else f"{name}: log loss {log_loss(y, p):.3f}")
        if single:  # how many images each point stands for
            for x, v, b in zip(xs, ys, used):
                ax.annotate(str(int((which == b).sum())), (x, v), fontsize=6, xytext=(3, -8), textcoords="offset points")
    ax.set_xlabel("confidence (top class)")
    ax.set_ylabel("accuracy")
    ax.set_title(title)
    ax.set_xlim(0, 1), ax.set_ylim(0, 1)
    if not single:
        ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def augment_preview(data: str | Path, out: str | Path | None, augment: Literal["book", "light"] = "book", image_size: str | int = 224,
                    images: int = 4, versions: int = 5, groups: str | None = None, seed: int = 0):
    """A grid of training images (first column, as the model sees them after resizing) and `versions`
    augmented copies of each, through the same transform `tamgu train --augment` uses. Saved to `out`
    (a .png); returns the figure, which shows inline in a notebook.

    Args:
        data: dataset (Kaggle folder or zip, or class-per-folder set)
        out: PNG file for the grid
        augment: which augmentation: book or light
        image_size: size the model sees, as in tamgu train
        images: training images (rows)
        versions: augmented versions of each
        seed: which images and which augmentations
    """
    import matplotlib.pyplot as plt
    import torch

    from ..pipeline.cache import ImageCache
    from ..runtime import parse_image_size
    from ..pipeline.data import load_dataset
    from ..pipeline.transforms import train_transform

    size = parse_image_size(image_size)
    transform = train_transform(augment, size)
    ds = load_dataset(data, groups=groups, strict=False)
    if not len(ds.train):
        raise InputError(f"{data} has no training images to preview.")
    rows = ds.train.sample(min(images, len(ds.train)), random_state=seed)
    cache = ImageCache(size)
    torch.manual_seed(seed)
    fig, axes = plt.subplots(len(rows), versions + 1, figsize=(1.8 * (versions + 1), 1.45 * len(rows)),
                             squeeze=False)
    for r, (_, row) in enumerate(rows.iterrows()):
        img = cache.get(row["path"])
        if img is None:
            raise InputError(f"{row['path']} cannot be read: run tamgu check {data}.")
        x = torch.from_numpy(img).permute(2, 0, 1)  # (3, H, W) uint8
        views = [x] + [transform(x) if transform is not None else x for _ in range(versions)]
        for c, v in enumerate(views):
            ax = axes[r, c]
            ax.imshow(v.permute(1, 2, 0).numpy())
            ax.set_xticks([]), ax.set_yticks([])
            if r == 0:
                ax.set_title("original" if c == 0 else f"{augment} #{c}", fontsize=8)
        axes[r, 0].set_ylabel(f"{row['label']}\n{row['img']}", fontsize=7)
    if out is None:  # the caller embeds the figure (the EDA page)
        fig.tight_layout()
        return fig
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    return finish(fig, out)
