"""The group's own classes on top of the detector: `tamgu crops` cuts the boxes of an annotation set (a pre-label
export corrected in CVAT or Label Studio, or any COCO/YOLO/CVAT set) into a class-per-folder dataset that
`tamgu train DATA --split group` trains the chapter's classifier on; `TrackVote` puts that classifier back on a
video's tracks (`detect objects --classifier RUN`).

    DATA/<class>/<image>_<n>.jpg   one crop a box (a margin of PAD around it), classes as the annotations name them
    DATA/groups.csv                img,group: a video's track (video#track), else its video, else its image; the
                                   folds keep a group whole, so one object's crops never sit on both sides
    DATA/crops.csv                 img,label,group,source,frame,track,x,y,w,h: where each crop came from
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from ..errors import InputError
from ..files import write_csv, write_image

PAD = 0.1        # margin around a box, as a fraction of its size
MIN_SIZE = 12    # crops smaller than this (pixels, either side) are left out: nothing to learn from


def crop(img: np.ndarray, x: float, y: float, w: float, h: float, pad: float = PAD) -> np.ndarray:
    """The box with a margin, clipped to the image."""
    H, W = img.shape[:2]
    x0, y0 = max(0, int(round(x - pad * w))), max(0, int(round(y - pad * h)))
    x1, y1 = min(W, int(round(x + w + pad * w))), min(H, int(round(y + h + pad * h)))
    return img[y0:y1, x0:x1]


def _frames_of(path: Path, wanted: set[int]):
    from ..video.reader import iter_frames

    for fr in iter_frames(path):
        if fr.index in wanted:
            yield fr.index, fr.image
        if fr.index >= max(wanted):
            break


def crops(source: str | Path, out: str | Path, media: str | Path | None = None, classes: list[str] | None = None,
          pad: float = PAD, min_size: int = MIN_SIZE) -> pd.DataFrame:
    """Cut every box of an annotation set into a class-per-folder dataset with groups.csv (one object's crops in
    one group), ready for `tamgu train OUT --split group`.

    Args:
        source: COCO JSON, a YOLO folder, CVAT XML, or a detect folder holding one --export
        out: the dataset folder to write
        media: the folder with the images or videos (default: images/ beside the annotations, or the XML's folder)
        classes: keep only these labels
        pad: margin around each box, a fraction of its size
        min_size: least crop side in pixels
    """
    from .annotations import FORMATS, media_of, read_annotations

    source, out = Path(source), Path(out)
    exported = [source / f for f in FORMATS if (source / f).is_dir()] if source.is_dir() else []
    known = {}
    if len(exported) == 1 and not (source / "labels").is_dir():  # a detect folder: its inputs are in summary.json
        summary = source / "summary.json"
        if summary.is_file():
            import json

            inputs = [Path(s["input"]) for s in json.loads(summary.read_text()).get("inputs", [])]
            known = {p.name: p for p in inputs if p.is_file()}
        source = exported[0]
    ann = read_annotations(source)
    boxes = ann.boxes if not classes else ann.boxes[ann.boxes["label"].isin(classes)]
    if not len(boxes):
        raise InputError(f"{source}: no boxes{' of ' + ','.join(classes) if classes else ''} to cut")
    where = media_of(ann, media, known)
    info = ann.images.set_index("file")
    rows, n = [], 0
    for name, mine in boxes.assign(src=[info.at[f, "video"] or f for f in boxes["file"]]).groupby("src", sort=True):
        frames = {int(info.at[f, "frame"]): f for f in mine["file"]} if info.at[mine["file"].iloc[0], "video"] else None
        pictures = (_frames_of(where[name], set(frames)) if frames is not None
                    else [(-1, cv2.imread(str(where[name]), cv2.IMREAD_COLOR))])
        for frame, img in pictures:
            file = frames[frame] if frames is not None else name
            if img is None:
                raise InputError(f"{where[name]} cannot be read as an image; replace it or drop its annotations")
            for b in mine[mine["file"] == file].itertuples():
                piece = crop(img, b.x, b.y, b.w, b.h, pad)
                if min(piece.shape[:2]) < min_size:
                    continue
                n += 1
                img_name = f"{Path(file).stem}_{n:05d}.jpg"
                write_image(piece, out / b.label / img_name)
                rows.append({"img": img_name, "label": b.label, "group": ann.group(b._asdict()), "source": name,
                             "frame": frame, "track": b.track, "x": b.x, "y": b.y, "w": b.w, "h": b.h})
    table = pd.DataFrame(rows, columns=["img", "label", "group", "source", "frame", "track", "x", "y", "w", "h"])
    if not len(table):
        raise InputError(f"{source}: every box is smaller than {min_size} pixels; lower --min-size")
    write_csv(table[["img", "group"]], out / "groups.csv")
    write_csv(table, out / "crops.csv")
    table.attrs.update(classes=table["label"].value_counts().to_dict(), groups=int(table["group"].nunique()))
    return table


class TrackVote:
    """A tamgu train run's classifier on each confirmed track's crops; a track's class is the mean of its crops'
    probabilities (a vote that a single blurred frame does not swing)."""

    def __init__(self, run: str | Path, accelerator: str = "auto", threads: int | None = None):
        from ..pipeline.inference import Predictor

        self.predict = Predictor(run, accelerator=accelerator, threads=threads or 0)
        self.sums: dict[str, dict[int, np.ndarray]] = {}
        self.counts: dict[str, dict[int, int]] = {}

    def add(self, spec: str, img: np.ndarray, dets: list) -> None:
        if not dets:
            return
        w, h = self.predict.size
        batch = np.stack([cv2.resize(cv2.cvtColor(crop(img, d.x, d.y, d.w, d.h), cv2.COLOR_BGR2RGB), (w, h),
                                     interpolation=cv2.INTER_AREA) for d in dets])
        probs = self.predict(batch)
        sums, counts = self.sums.setdefault(spec, {}), self.counts.setdefault(spec, {})
        for d, p in zip(dets, probs):
            sums[d.track] = sums.get(d.track, 0) + p
            counts[d.track] = counts.get(d.track, 0) + 1

    def classes_of(self, spec: str) -> dict[int, tuple[str, float]]:
        """Each track's class and its mean probability."""
        out = {}
        for k, s in self.sums.get(spec, {}).items():
            mean = s / self.counts[spec][k]
            out[k] = (self.predict.classes[int(mean.argmax())], round(float(mean.max()), 4))
        return out

    def names(self, spec: str) -> dict[int, str]:
        return {k: c for k, (c, _) in self.classes_of(spec).items()}
