"""Object identification on images, folders and videos, offline, behind one interface.

A detector is a function `BGR image -> list[Detection]`. `run_detector` feeds it files, folders and videos
(every `frame_step`-th frame), draws the boxes, and writes one table `detections.csv` (+ .json):
img,frame,label,score,x,y,w,h,text.

    faces:   OpenCV Haar cascade (always there) | MTCNN (facenet-pytorch; its wheel carries the weights)
    text:    RapidOCR (PP-OCR ONNX models inside its wheel) | Tesseract (Debian; `kor` for Korean)
    find:    multi-scale (optionally rotated) template matching with non-maximum suppression
    people:  OpenCV HOG people detector | a user's ONNX detector (YOLOv5/v8 layout) with class names
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator, Literal, Sequence

import cv2
import numpy as np
import pandas as pd

from ..io import VIDEO_EXTS, atomic_path, list_inputs, write_csv, write_image, no_bar
from ..video.reader import iter_frames

log = logging.getLogger(__name__)

COLUMNS = ["img", "frame", "label", "score", "x", "y", "w", "h", "text"]


@dataclass
class Detection:
    label: str
    score: float
    x: int
    y: int
    w: int
    h: int
    text: str = ""


Detector = Callable[[np.ndarray], list[Detection]]


# ---------------------------------------------------------------- faces
def face_detector(method: str = "haar", min_size: int = 30, device: str = "cpu") -> Detector:
    if method == "haar":
        if not hasattr(cv2, "CascadeClassifier") or not hasattr(cv2, "data"):
            raise RuntimeError("this OpenCV has no Haar cascades (OpenCV 5 dropped them): install opencv-python-headless<5")
        casc = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"))

        def haar(img: np.ndarray) -> list[Detection]:
            gray = cv2.equalizeHist(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if img.ndim == 3 else img)
            found, _, weights = casc.detectMultiScale3(gray, scaleFactor=1.1, minNeighbors=5,
                                                       minSize=(min_size, min_size), outputRejectLevels=True)
            return [Detection("face", float(s), int(x), int(y), int(w), int(h))
                    for (x, y, w, h), s in zip(found, np.ravel(weights))]

        return haar
    if method == "mtcnn":
        try:
            from facenet_pytorch import MTCNN
        except ImportError:
            raise RuntimeError("MTCNN needs facenet-pytorch: pip install --no-deps facenet-pytorch "
                               "(make installs it; it pins an old torch, hence --no-deps)") from None
        net = MTCNN(keep_all=True, device=device, min_face_size=min_size)

        def mtcnn(img: np.ndarray) -> list[Detection]:
            boxes, probs = net.detect(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
            if boxes is None:
                return []
            return [Detection("face", float(p), int(b[0]), int(b[1]), int(b[2] - b[0]), int(b[3] - b[1]))
                    for b, p in zip(boxes, probs)]

        return mtcnn
    if method == "mediapipe":
        raise RuntimeError("MediaPipe is left out: 0.10.21 needs numpy<2 and opencv-contrib-python (a second cv2), "
                           "which would break torch/OpenCV here. Use --method haar or mtcnn.")
    raise ValueError(f"unknown face method {method!r}: use haar or mtcnn")


# ---------------------------------------------------------------- text
def _rapidocr_engine():
    try:
        import rapidocr
        from rapidocr import RapidOCR
    except ImportError:
        raise RuntimeError("text detection needs rapidocr and onnxruntime: pip install rapidocr onnxruntime") from None
    models = Path(rapidocr.__file__).parent / "models"
    # point at the models inside the wheel, so nothing is ever fetched
    params = {"Det.model_path": str(models / "PP-OCRv6_det_small.onnx"),
              "Rec.model_path": str(models / "PP-OCRv6_rec_small.onnx"),
              "Cls.model_path": str(models / "ch_ppocr_mobile_v2.0_cls_mobile.onnx"),
              "Global.log_level": "warning"}
    return RapidOCR(params=params)


OCR_BORDER = 10  # white margin added around a cleaned line


def clean_line_for_ocr(crop: np.ndarray) -> np.ndarray:
    """Black text on white for Tesseract: Otsu threshold, then drop ink that touches the crop's edge (the
    edges of a sign, background clutter) and specks; a white border around what is left."""
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    _, b = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    if (b == 0).mean() > 0.5:  # light text on a dark ground: flip it
        b = 255 - b
    n, labels, stats, _ = cv2.connectedComponentsWithStats((b == 0).astype(np.uint8))
    h, w = b.shape
    min_area = max(12, int(0.003 * h * h))
    for i in range(1, n):
        x, y, ww, hh, area = stats[i]
        if x == 0 or y == 0 or x + ww >= w or y + hh >= h or area < min_area:
            b[labels == i] = 255
    return cv2.copyMakeBorder(b, OCR_BORDER, OCR_BORDER, OCR_BORDER, OCR_BORDER, cv2.BORDER_CONSTANT, value=255)


def merge_line_boxes(boxes) -> list[tuple[int, int, int, int]]:
    """Axis-aligned (x0, y0, x1, y1) boxes, with pieces of one text line joined (the detector may split a
    line where glyphs are far apart, as Hangul syllables often are)."""
    rects = sorted((int(np.min(b[:, 0])), int(np.min(b[:, 1])), int(np.max(b[:, 0])), int(np.max(b[:, 1])))
                   for b in (np.asarray(b) for b in boxes))
    merged: list[list[int]] = []
    for x0, y0, x1, y1 in rects:
        for m in merged:
            overlap = min(y1, m[3]) - max(y0, m[1])
            if overlap > 0.5 * min(y1 - y0, m[3] - m[1]) and x0 - m[2] < (y1 - y0):
                m[:] = [min(m[0], x0), min(m[1], y0), max(m[2], x1), max(m[3], y1)]
                break
        else:
            merged.append([x0, y0, x1, y1])
    return [tuple(m) for m in merged]


def tesseract_available(lang: str = "kor") -> bool:
    exe = shutil.which("tesseract")
    if not exe:
        return False
    import subprocess

    langs = subprocess.run([exe, "--list-langs"], capture_output=True, text=True).stdout.split()
    return lang in langs


TEXT_LANGUAGES = ("en", "ko")


def text_detector(engine: str = "auto", lang: str = "en", min_score: float = 0.5) -> Detector:
    """`engine`: rapidocr, tesseract, or auto (Tesseract for Korean, RapidOCR otherwise)."""
    if lang not in TEXT_LANGUAGES:
        raise ValueError(f"--lang {lang!r}: text is read in {' or '.join(TEXT_LANGUAGES)} (Korean is ko, not kr); "
                         "other languages would silently be read as English.")
    if engine not in ("auto", "rapidocr", "tesseract"):
        raise ValueError(f"--engine {engine!r}: use auto, rapidocr or tesseract.")
    if engine == "auto":
        engine = "tesseract" if lang in ("ko", "kor") else "rapidocr"
    if engine == "rapidocr":
        ocr = _rapidocr_engine()

        def rapid(img: np.ndarray) -> list[Detection]:
            r = ocr(img)
            if r.boxes is None:
                return []
            out = []
            for box, txt, score in zip(r.boxes, r.txts, r.scores):
                if score < min_score:
                    continue
                xs, ys = np.asarray(box)[:, 0], np.asarray(box)[:, 1]
                out.append(Detection("text", float(score), int(xs.min()), int(ys.min()), int(xs.max() - xs.min()),
                                     int(ys.max() - ys.min()), txt))
            return out

        return rapid
    if engine == "tesseract":
        tlang = {"ko": "kor+eng", "kor": "kor+eng", "en": "eng"}.get(lang, lang)
        for part in tlang.split("+"):
            if not tesseract_available(part):
                raise RuntimeError(f"Tesseract with language {part!r} is not installed: "
                                   f"apt-get install tesseract-ocr tesseract-ocr-{part}")
        import pytesseract

        try:  # PP-OCR's detector finds the lines (any script); Tesseract reads each one
            finder = _rapidocr_engine()
        except RuntimeError:
            finder = None

        def read_lines(img: np.ndarray, dx: int = 0, dy: int = 0, psm: int = 6) -> list[Detection]:
            d = pytesseract.image_to_data(img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_BGR2RGB), lang=tlang,
                                          config=f"--psm {psm}", output_type=pytesseract.Output.DATAFRAME)
            d = d[(d["conf"] > 0) & d["text"].notna()]
            d = d[d["text"].astype(str).str.strip() != ""]
            out = []
            for _, line in d.groupby(["block_num", "par_num", "line_num"]):  # one detection per line
                x0, y0 = line["left"].min(), line["top"].min()
                x1, y1 = (line["left"] + line["width"]).max(), (line["top"] + line["height"]).max()
                out.append(Detection("text", float(line["conf"].mean()) / 100, int(x0) + dx, int(y0) + dy,
                                     int(x1 - x0), int(y1 - y0), " ".join(line["text"].astype(str))))
            return [o for o in out if o.score >= min_score]

        def tess(img: np.ndarray) -> list[Detection]:
            if finder is None:
                return read_lines(img)
            boxes = finder(img, use_det=True, use_cls=False, use_rec=False).boxes
            out = []
            for x0, y0, x1, y1 in merge_line_boxes([] if boxes is None else boxes):
                pad = max(2, int(0.05 * (y1 - y0)))
                x0, y0 = max(0, x0 - pad), max(0, y0 - pad)
                x1, y1 = min(img.shape[1], x1 + pad), min(img.shape[0], y1 + pad)
                found = read_lines(clean_line_for_ocr(img[y0:y1, x0:x1]), x0 - OCR_BORDER, y0 - OCR_BORDER, psm=7)
                out += found
            return out

        return tess
    raise ValueError(f"unknown text engine {engine!r}: use rapidocr, tesseract or auto")


# ---------------------------------------------------------------- template
def nms(dets: list[Detection], iou: float = 0.3) -> list[Detection]:
    if not dets:
        return []
    keep = cv2.dnn.NMSBoxes([[d.x, d.y, d.w, d.h] for d in dets], [d.score for d in dets], 0.0, iou)
    return [dets[i] for i in np.ravel(keep)]


def template_finder(template: np.ndarray | str | Path, threshold: float = 0.8,
                    scales: Sequence[float] = tuple(np.geomspace(0.5, 2.0, 13)), angles: Sequence[float] = (0,),
                    label: str = "template", max_matches: int = 100) -> Detector:
    """Every place where `template` appears at any of `scales` (and `angles`), best first, overlaps removed."""
    if not isinstance(template, np.ndarray):
        tpl = cv2.imread(str(template))
        if tpl is None:
            raise FileNotFoundError(f"template {template} is not a readable image")
        template = tpl
    tgray = cv2.cvtColor(template, cv2.COLOR_BGR2GRAY) if template.ndim == 3 else template

    def variants(shape: tuple[int, int]) -> Iterator[np.ndarray]:
        for s in scales:
            t = cv2.resize(tgray, None, fx=s, fy=s, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
            for a in angles:
                if a:
                    m = cv2.getRotationMatrix2D((t.shape[1] / 2, t.shape[0] / 2), a, 1.0)
                    t2 = cv2.warpAffine(t, m, (t.shape[1], t.shape[0]), borderMode=cv2.BORDER_REPLICATE)
                else:
                    t2 = t
                if 8 <= t2.shape[0] <= shape[0] and 8 <= t2.shape[1] <= shape[1]:
                    yield t2

    def find(img: np.ndarray) -> list[Detection]:
        gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if img.ndim == 3 else img
        dets = []
        for t in variants(gray.shape):
            res = cv2.matchTemplate(gray, t, cv2.TM_CCOEFF_NORMED)
            ys, xs = np.where(res >= threshold)
            order = np.argsort(-res[ys, xs])[: max_matches * 20]
            dets += [Detection(label, float(res[y, x]), int(x), int(y), t.shape[1], t.shape[0])
                     for y, x in zip(ys[order], xs[order])]
        return nms(dets)[:max_matches]

    return find


# ---------------------------------------------------------------- people / ONNX
COCO = ("person bicycle car motorcycle airplane bus train truck boat traffic_light fire_hydrant stop_sign "
        "parking_meter bench bird cat dog horse sheep cow elephant bear zebra giraffe backpack umbrella handbag tie "
        "suitcase frisbee skis snowboard sports_ball kite baseball_bat baseball_glove skateboard surfboard "
        "tennis_racket bottle wine_glass cup fork knife spoon bowl banana apple sandwich orange broccoli carrot "
        "hot_dog pizza donut cake chair couch potted_plant bed dining_table toilet tv laptop mouse remote keyboard "
        "cell_phone microwave oven toaster sink refrigerator book clock vase scissors teddy_bear hair_drier "
        "toothbrush").split()


def parse_yolo(out: np.ndarray, names: Sequence[str], scale: float, pad: tuple[float, float],
               score: float = 0.5, iou: float = 0.45) -> list[Detection]:
    """Boxes from a YOLO head: v8 layout (1, 4+C, N) or v5 layout (1, N, 5+C); cx,cy,w,h in input pixels.
    """
    a = np.squeeze(np.asarray(out, dtype=np.float32), 0)
    n_cls = len(names)
    if a.shape[0] == 4 + n_cls and a.shape[1] != 4 + n_cls:
        a = a.T  # v8: (4+C, N) -> (N, 4+C)
    if a.shape[1] == 5 + n_cls:  # v5: objectness x class scores
        cls_scores = a[:, 5:] * a[:, 4:5]
    elif a.shape[1] == 4 + n_cls:
        cls_scores = a[:, 4:]
    else:
        raise ValueError(f"detector output of shape {np.shape(out)} does not fit {n_cls} class names: "
                         "give the model's class names with --classes FILE (one per line)")
    cls = cls_scores.argmax(1)
    conf = cls_scores[np.arange(len(a)), cls]
    sel = conf >= score
    dets = []
    for (cx, cy, w, h), c, s in zip(a[sel, :4], cls[sel], conf[sel]):
        x, y = (cx - w / 2 - pad[0]) / scale, (cy - h / 2 - pad[1]) / scale
        dets.append(Detection(names[int(c)], float(s), int(round(x)), int(round(y)), int(round(w / scale)),
                              int(round(h / scale))))
    return nms(dets, iou)


def people_detector(model: str | Path | None = None, classes: str | Path | None = None, score: float = 0.5,
                    input_size: int = 640, all_classes: bool = False) -> Detector:
    """OpenCV's HOG people detector, or a user-supplied ONNX detector (YOLO layout) run with OpenCV DNN."""
    if model is None:
        hog = cv2.HOGDescriptor()
        hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())

        def hog_people(img: np.ndarray) -> list[Detection]:
            rects, weights = hog.detectMultiScale(img, winStride=(8, 8), padding=(8, 8), scale=1.05)
            dets = [Detection("person", float(w), int(x), int(y), int(ww), int(hh))
                    for (x, y, ww, hh), w in zip(rects, np.ravel(weights)) if w >= score - 0.5]
            return nms(dets, 0.4)

        return hog_people
    path = Path(model)
    if not path.exists():
        raise FileNotFoundError(f"detector {path} not found: give the path of an ONNX model (e.g. YOLOv8 exported)")
    names = Path(classes).read_text().split() if classes else list(COCO)
    net = cv2.dnn.readNetFromONNX(str(path))

    def onnx(img: np.ndarray) -> list[Detection]:
        h, w = img.shape[:2]
        scale = input_size / max(h, w)
        resized = cv2.resize(img, (int(round(w * scale)), int(round(h * scale))))
        pad = ((input_size - resized.shape[1]) / 2, (input_size - resized.shape[0]) / 2)
        canvas = np.full((input_size, input_size, 3), 114, np.uint8)  # letterbox, as YOLO trains
        canvas[int(pad[1]):int(pad[1]) + resized.shape[0], int(pad[0]):int(pad[0]) + resized.shape[1]] = resized
        net.setInput(cv2.dnn.blobFromImage(canvas, 1 / 255, swapRB=True))
        dets = parse_yolo(net.forward(), names, scale, (int(pad[0]), int(pad[1])), score)
        return dets if all_classes else [d for d in dets if d.label == "person"]

    return onnx


# ---------------------------------------------------------------- running over inputs


def draw(img: np.ndarray, dets: list[Detection]) -> np.ndarray:
    out = img.copy()
    for d in dets:
        cv2.rectangle(out, (d.x, d.y), (d.x + d.w, d.y + d.h), (0, 220, 0), 2)
        caption = f"{d.label} {d.score:.2f}" + (f" {d.text}" if d.text and d.text.isascii() else "")
        cv2.putText(out, caption, (d.x, max(12, d.y - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 220, 0), 1, cv2.LINE_AA)
    return out


def read_photo(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError("not a readable image (corrupt, empty or another format)")
    return img


def for_each_input(files: list[Path], fn: Callable[[Path], None], progress: bool = True) -> list[str]:
    """Call `fn` on every file; a file that fails is logged and listed, and the others go on."""
    from tqdm.auto import tqdm

    errors = []
    for f in tqdm(files, desc="files", unit="file", disable=no_bar(progress) or len(files) < 2):
        try:
            fn(f)
        except Exception as e:  # noqa: BLE001 - one bad input must not stop the rest; it is reported
            log.warning("%s: %s", f, e)
            errors.append(f"{f}: {e}")
    return errors


def run_detector(detector: Detector, inputs, out: str | Path | None = None, frame_step: int = 1,
                 annotate: bool = True, progress: bool = True) -> pd.DataFrame:
    """Run `detector` on files, folders and videos; returns (and writes to `out`) the detections table.

    Unreadable inputs are reported and skipped; the others go on (the CLI then exits 1).
    """
    from tqdm.auto import tqdm

    if int(frame_step) < 1:
        raise ValueError(f"--frame-step {frame_step}: use 1 (every frame) or more (every Nth frame).")
    out = Path(out) if out else None
    rows = []

    def one(f: Path) -> None:
        frames = ((fr.index, fr.image) for fr in iter_frames(f, frame_step)) if f.suffix.lower() in VIDEO_EXTS \
            else iter([(0, read_photo(f))])
        n = 0
        for idx, img in tqdm(frames, desc=f.name, unit="frame", leave=False, disable=no_bar(progress)):
            dets = detector(img)
            n += 1
            rows.extend({"img": f.name, "frame": idx, **asdict(d)} for d in dets)
            if out is not None and annotate:
                name = f.name if f.suffix.lower() not in VIDEO_EXTS else f"{f.stem}_f{idx:06d}.jpg"
                write_image(draw(img, dets), out / "annotated" / name)
        if n == 0:
            raise ValueError("no frame could be decoded")

    files = list_inputs(inputs)
    errors = for_each_input(files, one, progress)
    table = pd.DataFrame(rows, columns=COLUMNS)
    if out is not None:
        write_csv(table, out / "detections.csv")
        with atomic_path(out / "detections.json") as tmp:
            tmp.write_text(json.dumps(table.to_dict(orient="records"), ensure_ascii=False, indent=1))
    table.attrs["errors"] = errors
    table.attrs["files"] = len(files)
    return table


# ---------------------------------------------------------------- background
def _clean_mask(mask: np.ndarray) -> np.ndarray:
    mask = np.where(mask == 255, 255, 0).astype(np.uint8)  # MOG2 marks shadows 127: not foreground
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    return cv2.morphologyEx(cv2.morphologyEx(mask, cv2.MORPH_OPEN, k), cv2.MORPH_CLOSE, k)


def _cutout(img: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.dstack([img, mask])  # BGRA: transparent where the mask is background


def _blobs(mask: np.ndarray, min_area: int) -> list[Detection]:
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
    return [Detection("foreground", float(stats[i, 4]) / (stats[i, 2] * stats[i, 3]), *map(int, stats[i, :4]))
            for i in range(1, n) if stats[i, 4] >= min_area]


def grabcut_person(img: np.ndarray, iterations: int = 5) -> np.ndarray:
    """Foreground mask (0/255) of the person in a photo: GrabCut seeded by a found face, else the centre."""
    h, w = img.shape[:2]
    faces = face_detector("haar")(img)
    if faces:
        f = max(faces, key=lambda d: d.w * d.h)
        rect = (max(0, f.x - f.w), max(0, f.y - f.h // 2), min(w, f.x + 2 * f.w) - max(0, f.x - f.w), h - max(0, f.y - f.h // 2) - 1)
    else:
        rect = (w // 10, h // 10, w * 8 // 10, h * 9 // 10 - 1)
    mask = np.zeros((h, w), np.uint8)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(img, mask, rect, bgd, fgd, iterations, cv2.GC_INIT_WITH_RECT)
    return np.where((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD), 255, 0).astype(np.uint8)


def background(inputs, out: str | Path, method: Literal["auto", "mog2", "knn", "grabcut"] = "auto", frame_step: int = 1, history: int = 200,
               min_area: int = 200, progress: bool = True) -> pd.DataFrame:
    """Separate foreground from background; writes masks (PNG) and cut-outs (PNG with alpha) to `out`.

    Videos: background subtraction (`mog2` or `knn`, learning over `history` frames); every `frame_step`-th
    frame is saved, and each moving blob is a `foreground` detection. Photos of a person: GrabCut seeded
    by the face (MediaPipe's selfie segmentation is left out: see face_detector). Returns the detections.

    Args:
        inputs: videos or photos
        method: auto (MOG2 for videos, GrabCut for photos), mog2, knn or grabcut
        frame_step: videos: save every Nth frame's mask
        history: frames the background model remembers
        min_area: smallest foreground blob, pixels
    """
    if int(frame_step) < 1:
        raise ValueError(f"--frame-step {frame_step}: use 1 (every frame) or more (every Nth frame).")
    from tqdm.auto import tqdm

    out = Path(out)
    rows = []

    def one(f: Path) -> None:
        if f.suffix.lower() in VIDEO_EXTS:
            sub = (cv2.createBackgroundSubtractorKNN(history=history, detectShadows=True) if method == "knn"
                   else cv2.createBackgroundSubtractorMOG2(history=history, varThreshold=16, detectShadows=True))
            for fr in tqdm(iter_frames(f), desc=f.name, unit="frame", disable=no_bar(progress), leave=False):
                idx, img = fr.index, fr.image
                mask = _clean_mask(sub.apply(img))  # every frame teaches the model; every Nth is saved
                if idx % frame_step:
                    continue
                write_image(mask, out / f.stem / f"{f.stem}_f{idx:06d}_mask.png")
                write_image(_cutout(img, mask), out / f.stem / f"{f.stem}_f{idx:06d}_cut.png")
                rows.extend({"img": f.name, "frame": idx, **asdict(d)} for d in _blobs(mask, min_area))
            return
        if method not in ("auto", "grabcut"):
            raise ValueError(f"--method {method} works on videos; photos use grabcut")
        img = read_photo(f)
        mask = grabcut_person(img)
        write_image(mask, out / f"{f.stem}_mask.png")
        write_image(_cutout(img, mask), out / f"{f.stem}_cut.png")
        rows.extend({"img": f.name, "frame": 0, **asdict(d)} for d in _blobs(mask, min_area))

    files = list_inputs(inputs)
    errors = for_each_input(files, one, progress)
    table = pd.DataFrame(rows, columns=COLUMNS)
    write_csv(table, out / "detections.csv")
    table.attrs["errors"] = errors
    return table


# ---------------------------------------------------------------- the commands, as functions
def detect_faces(inputs, out: str | Path | None = None, method: Literal["haar", "mtcnn", "mediapipe"] = "haar", min_size: int = 30, frame_step: int = 1,
                 progress: bool = True) -> pd.DataFrame:
    """`tamgu detect faces`: faces in images, folders and videos.

    Args:
        out: folder for annotated images and detections.csv/.json
        method: haar, mtcnn or mediapipe
        min_size: smallest face, pixels
    """
    return run_detector(face_detector(method, min_size), inputs, out, frame_step, progress=progress)


def detect_text(inputs, out: str | Path | None = None, engine: Literal["auto", "rapidocr", "tesseract"] = "auto",
                lang: Literal["en", "ko"] = "en", min_score: float = 0.5,
                frame_step: int = 1, progress: bool = True) -> pd.DataFrame:
    """`tamgu detect text`: text boxes with what they read (RapidOCR; Tesseract for Korean).

    Args:
        out: folder for annotated images and detections.csv/.json
        engine: auto, rapidocr or tesseract
        lang: en, or ko (Tesseract kor)
        min_score: least recognition confidence, 0..1
    """
    return run_detector(text_detector(engine, lang, min_score), inputs, out, frame_step, progress=progress)


def detect_people(inputs, out: str | Path | None = None, model: str | Path | None = None,
                  classes: str | Path | None = None, min_score: float = 0.5, all_classes: bool = False,
                  frame_step: int = 1, progress: bool = True) -> pd.DataFrame:
    """`tamgu detect people`: HOG people detector, or your ONNX detector with --model.

    Args:
        out: folder for annotated images and detections.csv/.json
        model: ONNX detector (YOLOv5/v8 layout), run with OpenCV DNN (default: OpenCV's HOG)
        classes: its class names, one per line (default: COCO's 80)
        min_score: least detection score
        all_classes: keep every class, not only person
    """
    return run_detector(people_detector(model, classes, min_score, all_classes=all_classes), inputs, out, frame_step,
                        progress=progress)


def find(template: str | Path, inputs, out: str | Path | None = None, threshold: float = 0.8, min_scale: float = 0.5, max_scale: float = 2.0,
         scales: int = 13, angles: Sequence[float] = (0,), frame_step: int = 1, progress: bool = True) -> pd.DataFrame:
    """`tamgu find TEMPLATE INPUT...`: every place the template appears, at any scale (and angle).

    Args:
        template: the image to look for
        out: folder for annotated images and detections.csv/.json
        threshold: normalised correlation to count, 0..1
        min_scale: smallest scale of the template tried
        max_scale: largest scale tried
        scales: scales tried between min and max
        angles: rotations in degrees, comma-separated, e.g. -10,0,10
    """
    finder = template_finder(template, threshold, tuple(np.geomspace(min_scale, max_scale, scales)), tuple(angles))
    return run_detector(finder, inputs, out, frame_step, progress=progress)
