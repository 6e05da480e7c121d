"""Boxes out to annotation tools and back: COCO JSON, YOLO text files and CVAT XML, the three formats CVAT and
Label Studio import and export.

One plain form in memory, `Annotations`: `images` (file, width, height, video, frame: where a frame came from;
"" and -1 for a photo), `boxes` (file, label, x, y, w, h in pixels, track, score) and `classes` (their order is
YOLO's class index and COCO's category id - 1). On disk, in the folder `write_annotations` is given:

    coco   annotations/instances_default.json + images/          (CVAT "COCO 1.0"; Label Studio "COCO")
    yolo   classes.txt + data.yaml + images/ + labels/<image>.txt (Ultralytics; Label Studio "YOLO"; an image
                                                                  with no object has an empty label file)
    cvat   <video>.xml for each video ("CVAT for video 1.1": tracks, a box on every analysed frame and an
           `outside` box where the object is gone) and images.xml for photos ("CVAT for images 1.1")

`read_annotations` reads any of them back, checked before work starts: a box outside its image, an unknown class
or image, a malformed line is refused naming the file and the row. Writing what was read gives the same files.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError, MissingInput
from ..files import write_text

FORMATS = ("coco", "yolo", "cvat")
IMAGE_COLUMNS = ["file", "width", "height", "video", "frame"]
BOX_COLUMNS = ["file", "label", "x", "y", "w", "h", "track", "score"]
COCO_JSON = "annotations/instances_default.json"
SLACK = 1.0   # pixels a box may pass its image's edge (rounding in other tools)
FRAME_FILE = re.compile(r"^(?P<stem>.+)_f(?P<frame>\d{6})\.\w+$")   # video.stream.frame_file's name of a frame


@dataclass
class Annotations:
    images: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=IMAGE_COLUMNS))
    boxes: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=BOX_COLUMNS))
    classes: list[str] = field(default_factory=list)
    source: str = ""   # the file or folder it was read from

    def group(self, row) -> str:
        """What one object's boxes share (a video's track, else the video, else the image): no fold splits it."""
        img = self.images.set_index("file").loc[row["file"]]
        video = img["video"] or (FRAME_FILE.match(row["file"]).group("stem") if FRAME_FILE.match(row["file"]) else "")
        if video and pd.notna(row["track"]):
            return f"{video}#{int(row['track'])}"
        return video or row["file"]


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise InputError(f"--export {fmt!r}: tamgu writes {', '.join(FORMATS)} (COCO JSON, YOLO text files, CVAT XML)")
    return fmt


def class_order(labels) -> list[str]:
    """COCO's order for COCO's names, then the others alphabetically."""
    from .coco import COCO

    labels = set(labels)
    return [c for c in COCO if c in labels] + sorted(labels - set(COCO))


def from_detections(table: pd.DataFrame, frames: pd.DataFrame) -> Annotations:
    """A detections table (`core.COLUMNS`) and the frames the run saw (file, width, height, video, frame) as
    annotations. On video only confirmed tracks go out (a box without a track is a detection not yet an object)."""
    images = frames.drop_duplicates("file").reset_index(drop=True)[IMAGE_COLUMNS]
    key = {(r.video or r.file, int(r.frame) if r.video else -1): r.file for r in images.itertuples()}
    rows = []
    for r in table.itertuples():
        video = bool(pd.notna(r.track)) or (r.img, int(r.frame)) in key
        k = (r.img, int(r.frame)) if video else (r.img, -1)
        if k not in key or (video and pd.isna(r.track)):
            continue
        rows.append({"file": key[k], "label": r.label, "x": r.x, "y": r.y, "w": r.w, "h": r.h,
                     "track": r.track if video else pd.NA, "score": r.score})
    boxes = pd.DataFrame(rows, columns=BOX_COLUMNS)
    boxes["track"] = boxes["track"].astype("Int64")
    return Annotations(images, boxes, class_order(boxes["label"]))


def write_text_at(path: Path, text: str) -> Path:
    return write_text(text, path)  # files.write_text: atomic, parents made


def _num(v) -> int | float:
    f = round(float(v), 2)
    return int(f) if f.is_integer() else f


def write_annotations(ann: Annotations, folder: str | Path, fmt: str) -> list[Path]:
    """`ann` in `folder` in the format (images are not copied: the caller puts them in images/). Returns the files."""
    folder = Path(folder)
    check_format(fmt)
    unknown = sorted(set(ann.boxes["label"]) - set(ann.classes))
    if unknown:
        raise InputError(f"labels {unknown} are not among the classes {ann.classes}")
    return {"coco": _write_coco, "yolo": _write_yolo, "cvat": _write_cvat}[fmt](ann, folder)


def _write_coco(ann: Annotations, folder: Path) -> list[Path]:
    ids = {f: i + 1 for i, f in enumerate(ann.images["file"])}
    cats = {c: i + 1 for i, c in enumerate(ann.classes)}
    images = []
    for r in ann.images.itertuples():
        im = {"id": ids[r.file], "file_name": r.file, "width": int(r.width), "height": int(r.height)}
        if r.video:
            im.update(video=r.video, frame=int(r.frame))
        images.append(im)
    boxes = []
    for n, r in enumerate(ann.boxes.itertuples()):
        b = {"id": n + 1, "image_id": ids[r.file], "category_id": cats[r.label],
             "bbox": [_num(r.x), _num(r.y), _num(r.w), _num(r.h)], "area": _num(float(r.w) * float(r.h)),
             "iscrowd": 0, "segmentation": []}
        if pd.notna(r.track):
            b["attributes"] = {"occluded": False, "track_id": int(r.track)}
        if pd.notna(r.score):
            b["score"] = round(float(r.score), 4)
        boxes.append(b)
    doc = {"info": {"description": "tamgu pre-labels"}, "licenses": [],
           "categories": [{"id": i, "name": c, "supercategory": ""} for c, i in cats.items()],
           "images": images, "annotations": boxes}
    return [write_text_at(folder / COCO_JSON, json.dumps(doc, ensure_ascii=False, indent=1) + "\n")]


def _write_yolo(ann: Annotations, folder: Path) -> list[Path]:
    out = [write_text_at(folder / "classes.txt", "".join(f"{c}\n" for c in ann.classes)),
           write_text_at(folder / "data.yaml", "path: .\ntrain: images\nval: images\nnames:\n"
                       + "".join(f"  {i}: {json.dumps(c, ensure_ascii=False)}\n" for i, c in enumerate(ann.classes)))]
    cls = {c: i for i, c in enumerate(ann.classes)}
    by_file = dict(list(ann.boxes.groupby("file", sort=False)))
    for r in ann.images.itertuples():
        lines = []
        for b in by_file.get(r.file, pd.DataFrame(columns=BOX_COLUMNS)).itertuples():
            W, H = float(r.width), float(r.height)
            lines.append(f"{cls[b.label]} {(b.x + b.w / 2) / W:.6f} {(b.y + b.h / 2) / H:.6f} {b.w / W:.6f} "
                         f"{b.h / H:.6f}\n")
        out.append(write_text_at(folder / "labels" / f"{Path(r.file).stem}.txt", "".join(lines)))
    return out


def _cvat_meta(root: ET.Element, name: str, size: int, classes: list[str], extra: dict[str, str],
               wh: tuple[int, int] | None, source: str | None) -> None:
    ET.SubElement(root, "version").text = "1.1"
    task = ET.SubElement(ET.SubElement(root, "meta"), "task")
    ET.SubElement(task, "name").text = name
    ET.SubElement(task, "size").text = str(size)
    for k, v in extra.items():
        ET.SubElement(task, k).text = v
    labels = ET.SubElement(task, "labels")
    for c in classes:
        lab = ET.SubElement(labels, "label")
        ET.SubElement(lab, "name").text = c
        ET.SubElement(lab, "type").text = "rectangle"
        ET.SubElement(lab, "attributes")
    if wh is not None:
        size_el = ET.SubElement(task, "original_size")
        ET.SubElement(size_el, "width").text, ET.SubElement(size_el, "height").text = str(wh[0]), str(wh[1])
    if source:
        ET.SubElement(root.find("meta"), "source").text = source


def _box_el(parent: ET.Element, b, **attrs) -> None:
    ET.SubElement(parent, "box", {**attrs, "occluded": "0", "xtl": f"{b.x:.2f}", "ytl": f"{b.y:.2f}",
                                  "xbr": f"{b.x + b.w:.2f}", "ybr": f"{b.y + b.h:.2f}", "z_order": "0"})


def _write_xml(root: ET.Element, path: Path) -> Path:
    ET.indent(root, "  ")
    return write_text_at(path, '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, "unicode") + "\n")


def _write_cvat(ann: Annotations, folder: Path) -> list[Path]:
    out = []
    photos = ann.images[ann.images["video"] == ""]
    if len(photos):
        root = ET.Element("annotations")
        _cvat_meta(root, "images", len(photos), ann.classes, {"mode": "annotation"}, None, None)
        by_file = dict(list(ann.boxes.groupby("file", sort=False)))
        for i, r in enumerate(photos.itertuples()):
            el = ET.SubElement(root, "image", {"id": str(i), "name": r.file, "width": str(int(r.width)),
                                               "height": str(int(r.height))})
            for b in by_file.get(r.file, pd.DataFrame(columns=BOX_COLUMNS)).itertuples():
                ET.SubElement(el, "box", {"label": b.label, "source": "auto", "occluded": "0", "xtl": f"{b.x:.2f}",
                                          "ytl": f"{b.y:.2f}", "xbr": f"{b.x + b.w:.2f}", "ybr": f"{b.y + b.h:.2f}",
                                          "z_order": "0"})
        out.append(_write_xml(root, folder / "images.xml"))
    for video, frames in ann.images[ann.images["video"] != ""].groupby("video", sort=False):
        order = sorted(int(f) for f in frames["frame"])
        step = int(np.diff(order).min()) if len(order) > 1 else 1
        if order != list(range(order[0], order[-1] + 1, step)):
            raise InputError(f"{video}: the frames {order[:5]}... are not evenly spaced; CVAT for video needs one "
                             "frame step (--frame-step) from start to stop")
        root = ET.Element("annotations")
        first = frames.iloc[0]
        _cvat_meta(root, Path(video).stem, len(order), ann.classes,
                   {"mode": "interpolation", "start_frame": str(order[0]), "stop_frame": str(order[-1]),
                    "frame_filter": f"step={step}"}, (int(first["width"]), int(first["height"])), video)
        frame_of = dict(zip(frames["file"], frames["frame"].astype(int)))
        mine = ann.boxes[ann.boxes["file"].isin(frame_of) & ann.boxes["track"].notna()]
        for track, rows in sorted(mine.groupby("track"), key=lambda kv: int(kv[0])):
            rows = rows.assign(frame=rows["file"].map(frame_of)).sort_values("frame")
            el = ET.SubElement(root, "track", {"id": str(int(track)), "label": rows["label"].iloc[0], "source": "auto"})
            at = {int(f): b for f, b in zip(rows["frame"], rows.itertuples())}
            last = None
            for f in range(int(rows["frame"].min()), order[-1] + 1, step):
                if f in at:
                    _box_el(el, at[f], frame=str(f), keyframe="1", outside="0")
                    last = at[f]
                elif last is not None:  # gone: CVAT must not draw it until it is back
                    _box_el(el, last, frame=str(f), keyframe="1", outside="1")
                    last = None
        out.append(_write_xml(root, folder / f"{Path(video).stem}.xml"))
    return out


# ------------------------------------------------------------------------------------------------------ reading
def read_annotations(path: str | Path) -> Annotations:
    """COCO JSON (a file, or a folder with annotations/*.json), YOLO (a folder with labels/ and classes.txt or
    data.yaml) or CVAT XML (a file, or a folder of them), checked: refused naming the file and row."""
    path = Path(path)
    if not path.exists():
        raise MissingInput(f"{path} does not exist: give a COCO JSON, a YOLO folder (labels/, classes.txt) or CVAT XML")
    if path.is_file():
        kind = {".json": "coco", ".xml": "cvat"}.get(path.suffix.lower())
        files = [path]
    elif (path / "labels").is_dir():
        kind, files = "yolo", [path]
    elif list(path.glob("annotations/*.json")):
        kind, files = "coco", sorted(path.glob("annotations/*.json"))
    elif list(path.glob("*.xml")):
        kind, files = "cvat", sorted(path.glob("*.xml"))
    else:
        kind = None
    if kind is None:
        raise InputError(f"{path} is not an annotation set tamgu reads: COCO JSON (annotations/*.json), YOLO "
                         "(labels/ + classes.txt or data.yaml) or CVAT XML (CVAT for images or video 1.1)")
    parts = [{"coco": _read_coco, "yolo": _read_yolo, "cvat": _read_cvat}[kind](f) for f in files]
    classes = [c for p in parts for c in p.classes]
    ann = Annotations(pd.concat([p.images for p in parts], ignore_index=True),
                      pd.concat([p.boxes for p in parts], ignore_index=True), list(dict.fromkeys(classes)), str(path))
    ann.boxes["track"] = ann.boxes["track"].astype("Int64")
    ann.images["frame"] = ann.images["frame"].astype(int)
    return ann


def _check_box(where: str, x: float, y: float, w: float, h: float, W: float, H: float) -> None:
    if w <= 0 or h <= 0:
        raise InputError(f"{where}: the box {x:g},{y:g},{w:g}x{h:g} has no area; delete or redraw it")
    if x < -SLACK or y < -SLACK or x + w > W + SLACK or y + h > H + SLACK:
        raise InputError(f"{where}: the box {x:g},{y:g},{w:g}x{h:g} falls outside its {W:g}x{H:g} image; "
                         "fix the box or the image size")


def _read_coco(path: Path) -> Annotations:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        cats = {int(c["id"]): c["name"] for c in sorted(doc["categories"], key=lambda c: int(c["id"]))}
        imgs = doc["images"]
        boxes_in = doc.get("annotations", [])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise InputError(f"{path} is not COCO JSON ({e}): it needs categories, images and annotations") from None
    images, by_id = [], {}
    for n, im in enumerate(imgs):
        try:
            by_id[int(im["id"])] = im
            images.append({"file": im["file_name"], "width": int(im["width"]), "height": int(im["height"]),
                           "video": im.get("video", ""), "frame": int(im.get("frame", -1))})
        except (KeyError, TypeError, ValueError):
            raise InputError(f"{path}: images[{n}] needs id, file_name, width and height") from None
    boxes = []
    for n, a in enumerate(boxes_in):
        where = f"{path}: annotations[{n}] (id {a.get('id')})"
        im = by_id.get(a.get("image_id"))
        if im is None:
            raise InputError(f"{where}: its image_id {a.get('image_id')} is not among the images")
        if a.get("category_id") not in cats:
            raise InputError(f"{where}: its category_id {a.get('category_id')} is not among the categories")
        try:
            x, y, w, h = (float(v) for v in a["bbox"])
        except (KeyError, TypeError, ValueError):
            raise InputError(f"{where}: bbox must be [x, y, width, height]") from None
        _check_box(where, x, y, w, h, im["width"], im["height"])
        track = (a.get("attributes") or {}).get("track_id")
        boxes.append({"file": im["file_name"], "label": cats[a["category_id"]], "x": x, "y": y, "w": w, "h": h,
                      "track": pd.NA if track is None else int(track), "score": a.get("score", np.nan)})
    return Annotations(pd.DataFrame(images, columns=IMAGE_COLUMNS), pd.DataFrame(boxes, columns=BOX_COLUMNS),
                       list(cats.values()), str(path))


def _yolo_classes(folder: Path) -> list[str]:
    if (folder / "classes.txt").is_file():
        return [ln.strip() for ln in (folder / "classes.txt").read_text(encoding="utf-8").splitlines() if ln.strip()]
    for name in ("data.yaml", "dataset.yaml"):
        if (folder / name).is_file():
            import yaml

            names = (yaml.safe_load((folder / name).read_text(encoding="utf-8")) or {}).get("names")
            if isinstance(names, dict):
                return [str(names[k]) for k in sorted(names, key=int)]
            if isinstance(names, list):
                return [str(n) for n in names]
    raise InputError(f"{folder}: a YOLO set needs its class names: classes.txt (one a line) or data.yaml (names:)")


def _read_yolo(folder: Path) -> Annotations:
    from PIL import Image

    classes = _yolo_classes(folder)
    pictures = {p.stem: p for p in sorted((folder / "images").glob("*")) if p.is_file()}
    labels = {p.stem: p for p in sorted((folder / "labels").glob("*.txt"))}
    orphans = sorted(set(labels) - set(pictures))
    if orphans:
        raise InputError(f"{folder / 'labels' / (orphans[0] + '.txt')}: no image {orphans[0]}.* in {folder / 'images'} "
                         f"({len(orphans)} label files without an image); put the images there")
    images, boxes = [], []
    for stem, pic in pictures.items():
        with Image.open(pic) as im:
            W, H = im.size
        images.append({"file": pic.name, "width": W, "height": H, "video": "", "frame": -1})
        if stem not in labels:
            continue
        for n, line in enumerate(labels[stem].read_text(encoding="utf-8").splitlines()):
            if not line.strip():
                continue
            where = f"{labels[stem]} line {n + 1}"
            try:
                c, xc, yc, w, h = line.split()[:5]
                c, xc, yc, w, h = int(c), float(xc), float(yc), float(w), float(h)
            except ValueError:
                raise InputError(f"{where}: {line!r} is not 'class x_centre y_centre width height'") from None
            if not 0 <= c < len(classes):
                raise InputError(f"{where}: class {c} is not among the {len(classes)} classes {classes}")
            x, y = (xc - w / 2) * W, (yc - h / 2) * H
            _check_box(where, x, y, w * W, h * H, W, H)
            boxes.append({"file": pic.name, "label": classes[c], "x": x, "y": y, "w": w * W, "h": h * H,
                          "track": pd.NA, "score": np.nan})
    return Annotations(pd.DataFrame(images, columns=IMAGE_COLUMNS), pd.DataFrame(boxes, columns=BOX_COLUMNS),
                       classes, str(folder))


def _read_cvat(path: Path) -> Annotations:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise InputError(f"{path} is not XML ({e}): export CVAT for images or CVAT for video 1.1") from None
    task = root.find("meta/task") if root.find("meta/task") is not None else root.find("meta/job")
    classes = [lab.findtext("name", "") for lab in root.iterfind("meta/*/labels/label")]
    images, boxes = [], []

    def box(where, el, file, W, H, label, track):
        try:
            x0, y0, x1, y1 = (float(el.get(k)) for k in ("xtl", "ytl", "xbr", "ybr"))
        except (TypeError, ValueError):
            raise InputError(f"{where}: a box needs xtl, ytl, xbr and ybr") from None
        _check_box(where, x0, y0, x1 - x0, y1 - y0, W, H)
        if label not in classes:
            raise InputError(f"{where}: label {label!r} is not among the task's labels {classes}")
        boxes.append({"file": file, "label": label, "x": x0, "y": y0, "w": x1 - x0, "h": y1 - y0,
                      "track": track, "score": np.nan})

    if root.find("track") is not None or (task is not None and task.findtext("mode") == "interpolation"):
        source = root.findtext("meta/source") or f"{path.stem}.mp4"
        W, H = int(task.findtext("original_size/width")), int(task.findtext("original_size/height"))
        start, stop = int(task.findtext("start_frame", "0")), int(task.findtext("stop_frame", "0"))
        step = int((task.findtext("frame_filter") or "step=1").split("=")[-1] or 1)
        stem = Path(source).stem
        for f in range(start, stop + 1, step):
            images.append({"file": f"{stem}_f{f:06d}.jpg", "width": W, "height": H, "video": source, "frame": f})
        for t in root.iterfind("track"):
            for n, el in enumerate(t.iterfind("box")):
                if el.get("outside") == "1":
                    continue
                f = int(el.get("frame"))
                box(f"{path}: track {t.get('id')} box {n + 1} (frame {f})", el, f"{stem}_f{f:06d}.jpg", W, H,
                    t.get("label"), int(t.get("id")))
    else:
        for im in root.iterfind("image"):
            W, H = int(im.get("width")), int(im.get("height"))
            images.append({"file": im.get("name"), "width": W, "height": H, "video": "", "frame": -1})
            for n, el in enumerate(im.iterfind("box")):
                box(f"{path}: image {im.get('name')} box {n + 1}", el, im.get("name"), W, H, el.get("label"), pd.NA)
    return Annotations(pd.DataFrame(images, columns=IMAGE_COLUMNS), pd.DataFrame(boxes, columns=BOX_COLUMNS),
                       classes, str(path))


def media_of(ann: Annotations, media: str | Path | None = None, known: dict[str, Path] | None = None) -> dict[str, Path]:
    """Where each image (or video) of `ann` is on disk: `known` (name -> path, e.g. the inputs a detect run
    names in its summary.json), else `media`, else images/ beside a COCO or YOLO set, else the CVAT file's folder
    or the one above it. A missing one is refused before work starts, naming the annotation file."""
    src = Path(ann.source)
    base = src if src.is_dir() else src.parent
    if media:
        roots = [Path(media)]
    elif src.suffix == ".json" and src.parent.name == "annotations":
        roots = [src.parent.parent / "images"]
    else:
        roots = [base / "images", base, base.parent]
    found, missing = {}, []
    for name in dict.fromkeys(v or f for v, f in zip(ann.images["video"], ann.images["file"])):
        hit = (known or {}).get(name) or next((r / name for r in roots if (r / name).is_file()), None)
        (found.__setitem__(name, hit) if hit is not None else missing.append(name))
    if missing:
        raise MissingInput(f"{ann.source}: {len(missing)} of its images or videos are not in {roots[0]} (first: "
                           f"{missing[0]}); give the folder that holds them with --media")
    return found
