"""`tamgu detect eval`: detections judged against boxes a person drew (COCO, YOLO or CVAT annotations).

Detection: mAP@0.5 and mAP@0.5:0.95 by pycocotools (COCO's own evaluation), overall and per class, on the
classes the annotations have. Tracking, when the annotations carry tracks (CVAT for video) and the detections
track ids: MOTA, IDF1, HOTA and id switches by `trackers.eval` (TrackEval's matching), per video.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError, MissingInput
from ..files import write_json
from .annotations import Annotations, read_annotations


def read_detections(path: str | Path) -> pd.DataFrame:
    """A detect folder's detections.csv (or the file itself)."""
    path = Path(path)
    file = path / "detections.csv" if path.is_dir() else path
    if not file.is_file():
        raise MissingInput(f"{file} not found: give the folder `tamgu detect ... --out DIR` wrote, or its "
                           "detections.csv")
    table = pd.read_csv(file, keep_default_na=False, na_values={"track": [""]})
    missing = {"img", "frame", "label", "score", "x", "y", "w", "h"} - set(table.columns)
    if missing:
        raise InputError(f"{file}: no column {', '.join(sorted(missing))}; it is not a detections table")
    return table


def _file_of(ann: Annotations, table: pd.DataFrame) -> pd.Series:
    """Each detection's image in the annotations: a photo by its name, a video frame as <stem>_f<frame>.jpg."""
    files = set(ann.images["file"])
    by_stem = {Path(f).stem: f for f in files}

    def one(img: str, frame: int) -> str | None:
        if img in files:
            return img
        return by_stem.get(f"{Path(img).stem}_f{int(frame):06d}")
    return pd.Series([one(i, f) for i, f in zip(table["img"], table["frame"])], index=table.index)


def detection_scores(ann: Annotations, table: pd.DataFrame) -> dict:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    ids = {f: i + 1 for i, f in enumerate(ann.images["file"])}
    cats = {c: i + 1 for i, c in enumerate(ann.classes)}
    gt = {"images": [{"id": ids[r.file], "width": int(r.width), "height": int(r.height)} for r in ann.images.itertuples()],
          "categories": [{"id": i, "name": c} for c, i in cats.items()],
          "annotations": [{"id": n + 1, "image_id": ids[b.file], "category_id": cats[b.label], "iscrowd": 0,
                           "bbox": [float(b.x), float(b.y), float(b.w), float(b.h)], "area": float(b.w * b.h)}
                          for n, b in enumerate(ann.boxes.itertuples())]}
    dets = [{"image_id": ids[f], "category_id": cats[r.label], "score": float(r.score),
             "bbox": [float(r.x), float(r.y), float(r.w), float(r.h)]}
            for f, r in zip(table["file"], table.itertuples()) if r.label in cats]
    out = {"images": len(ids), "boxes": len(gt["annotations"]), "detections": len(dets)}
    if not dets or not gt["annotations"]:
        return {**out, "map50": 0.0, "map": 0.0, "per_class": {}}
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its tables
        truth = COCO()
        truth.dataset = gt
        truth.createIndex()
        found = truth.loadRes(dets)
        ev = COCOeval(truth, found, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    precision = ev.eval["precision"]  # [iou, recall, class, area, maxdets]
    per_class = {}
    for k, c in enumerate(ann.classes):
        p50, pall = precision[0, :, k, 0, -1], precision[:, :, k, 0, -1]
        if (p50 > -1).any():
            per_class[c] = {"ap50": round(float(p50[p50 > -1].mean()), 4), "ap": round(float(pall[pall > -1].mean()), 4),
                            "boxes": int((ann.boxes["label"] == c).sum())}
    return {**out, "map50": round(float(ev.stats[1]), 4), "map": round(float(ev.stats[0]), 4), "per_class": per_class}


def tracking_scores(ann: Annotations, table: pd.DataFrame, iou: float = 0.5) -> dict:
    """Per video: MOTA, IDF1, HOTA, id switches; only frames the annotations cover."""
    from trackers.eval.box import box_iou
    from trackers.eval.clear import compute_clear_metrics
    from trackers.eval.hota import compute_hota_metrics
    from trackers.eval.identity import compute_identity_metrics

    out = {}
    videos = ann.images[ann.images["video"] != ""]
    for video, frames in videos.groupby("video", sort=True):
        truth = ann.boxes[ann.boxes["file"].isin(frames["file"])]
        if truth["track"].isna().all():
            continue
        found = table[table["file"].isin(frames["file"]) & table["track"].notna()]
        gt_map = {k: i for i, k in enumerate(sorted(truth["track"].dropna().unique()))}
        tr_map = {k: i for i, k in enumerate(sorted(found["track"].unique()))}
        gt_ids, tr_ids, sims = [], [], []
        for f in frames.sort_values("frame")["file"]:
            g, d = truth[truth["file"] == f], found[found["file"] == f]
            gt_ids.append(np.array([gt_map[t] for t in g["track"]], int))
            tr_ids.append(np.array([tr_map[t] for t in d["track"]], int))
            gb, db = g[["x", "y", "w", "h"]].to_numpy(float, copy=True), d[["x", "y", "w", "h"]].to_numpy(float, copy=True)
            gb[:, 2:] += gb[:, :2]
            db[:, 2:] += db[:, :2]
            sims.append(box_iou(gb, db) if len(gb) and len(db) else np.zeros((len(gb), len(db))))
        clear = compute_clear_metrics(gt_ids, tr_ids, sims, threshold=iou)
        ident = compute_identity_metrics(gt_ids, tr_ids, sims, threshold=iou)
        hota = compute_hota_metrics(gt_ids, tr_ids, sims)
        out[video] = {"mota": round(float(clear["MOTA"]), 4), "idf1": round(float(ident["IDF1"]), 4),
                      "hota": round(float(hota["HOTA"]), 4), "id_switches": int(clear["IDSW"]),
                      "objects": len(gt_map), "tracks": len(tr_map)}
    return out


def evaluate_detections(annotations: str | Path, detections: str | Path, out: str | Path | None = None) -> dict:
    """Score a detect run against annotations a person drew: mAP@0.5 and mAP@0.5:0.95 (pycocotools) overall and
    per class and, on annotated video tracks, MOTA, IDF1, HOTA and id switches (trackers.eval).

    Args:
        annotations: the truth: COCO JSON, a YOLO folder or CVAT XML (a file or a folder of them)
        detections: the folder `tamgu detect ... --out DIR` wrote (or its detections.csv), run on the same images
            or videos
        out: also write the scores here as JSON
    """
    ann = read_annotations(annotations)
    table = read_detections(detections)
    table = table.assign(file=_file_of(ann, table))
    unmatched = table["file"].isna()
    if unmatched.all() and len(table):
        raise InputError(f"none of the {len(table)} detections in {detections} is on an image of {annotations} "
                         f"(first: {table['img'].iloc[0]}); run detect on the annotated images or video")
    table = table[~unmatched]
    result = {"annotations": str(annotations), "detections": str(detections),
              "not_in_annotations": int(unmatched.sum()), **detection_scores(ann, table)}
    if "track" in table.columns:
        result["tracking"] = tracking_scores(ann, table)
    if out:
        write_json(result, out)
    return result


