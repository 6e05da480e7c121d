"""`tamgu report DIR` of a `tamgu cracks` folder: the settings, every image's count and lengths, the overlays
(longest cracks first), how long and wide the cracks are, and the crack table. Reads only the folder's files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .page import Page

GALLERY = 24   # overlays shown, the images with the most crack length first


def is_cracks_folder(folder: Path) -> bool:
    return (folder / "cracks.json").is_file() and (folder / "cracks.csv").is_file()


def cracks_page(folder: Path) -> Page:
    import matplotlib.pyplot as plt

    from ..files import read_image
    from .figures import crack_sizes_figure

    facts = json.loads((folder / "cracks.json").read_text(encoding="utf-8"))
    table = pd.read_csv(folder / "cracks.csv")
    images = pd.read_csv(folder / "images.csv") if (folder / "images.csv").stat().st_size > 1 else pd.DataFrame()
    mm = bool(facts.get("mm_per_px"))
    unit = "mm" if mm else "px"
    page = Page(f"Cracks: {folder.name}", f"{folder.resolve()} · {facts['method']} · {len(images)} image(s) · "
                f"{len(table)} crack(s)", lang="ko")
    with page.section("Settings", "settings") as sec:
        rows = [("method", facts["method"])]
        if facts["method"] == "unet":
            rows += [("model", facts.get("model")), ("encoder", facts.get("encoder")),
                     ("threshold", facts.get("threshold")),
                     ("views voted over (agreeing)", f"{facts.get('views')} ({facts.get('agreeing')})"),
                     ("trained on", facts.get("trained_on"))]
        else:
            rows += [("hysteresis (high / low)", f"{facts.get('high')} / {facts.get('low')}")]
        rows += [("mm per pixel", facts.get("mm_per_px") or "– (lengths in px)"),
                 ("shortest crack reported (px)", facts.get("min_length_px")),
                 ("frames skipped (--every / near-duplicates)",
                  f"{facts['skipped_frames']['every']} / {facts['skipped_frames']['dedupe']}")]
        sec.table(pd.DataFrame(rows, columns=["", "value"]).astype(str))
        if facts.get("errors"):
            sec.text("Inputs that could not be read: " + "; ".join(facts["errors"]), "bad")
    with page.section("Images", "images") as sec:
        if len(images):
            cols = [c for c in images.columns if c not in ("mask", "overlay")]
            sec.table(images.sort_values(f"total_length_{unit}", ascending=False)[cols], digits=5)
        else:
            sec.text("(no image was analysed)", "note")
    with page.section("Overlays", "overlays") as sec:
        shown = images[images["cracks"] > 0].sort_values(f"total_length_{unit}", ascending=False).head(GALLERY) \
            if len(images) else images
        sec.gallery([(read_image(str(folder / r.overlay)), f"{r.img}" + (f" #{r.frame}" if r.frame else "") +
                      f": {r.cracks} crack(s), {getattr(r, 'total_length_' + unit):.0f} {unit}")
                     for r in shown.itertuples()], thumb=220)
        if len(images):
            sec.text(f"{int((images['cracks'] == 0).sum())} image(s) without any crack are not shown.", "note")
    if len(table):
        with page.section("Lengths and widths", "sizes") as sec:
            fig = crack_sizes_figure(table, unit)
            sec.figure(fig, "crack lengths and widths")
            plt.close(fig)  # embedded in the page; not shown again below a notebook cell
        with page.section("Cracks", "cracks") as sec:
            sec.table(table.sort_values(f"length_{unit}", ascending=False).head(100), digits=5)
            if len(table) > 100:
                sec.text(f"The 100 longest of {len(table)}; all are in cracks.csv.", "note")
    return page
