"""Text in images and video: PP-OCR's detector and recogniser (ONNX models inside the rapidocr wheel), or
Tesseract (Debian's, with `kor` for Korean) reading the lines PP-OCR finds."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import pandas as pd

from ..errors import InputError, SetupError, check_range
from ..video.stream import frame_options, options_doc
from .core import Detection, Detector, tagged
from .runner import run_detector

log = logging.getLogger(__name__)

def _rapidocr_engine():
    try:
        import rapidocr
        from rapidocr import RapidOCR
    except ImportError:
        raise SetupError("text detection needs rapidocr and onnxruntime: pip install rapidocr onnxruntime") from None
    models = Path(rapidocr.__file__).parent / "models"
    # point at the models inside the wheel, so nothing is ever fetched
    params = {"Det.model_path": str(models / "PP-OCRv6_det_small.onnx"),
              "Rec.model_path": str(models / "PP-OCRv6_rec_small.onnx"),
              "Cls.model_path": str(models / "ch_ppocr_mobile_v2.0_cls_mobile.onnx"),
              "Global.log_level": "error"}
    engine = RapidOCR(params=params)
    # it warns "the text detection result is empty" on every frame without text: an empty result is an answer
    logging.getLogger("RapidOCR").setLevel(logging.ERROR)
    return engine


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


# what PP-OCR's recogniser makes of Hangul: CJK ideographs ("町咎" for 비상구) or accented Latin letters ("ô")
MISREAD_HANGUL = "[\u00c0-\u024f\u4e00-\u9fff]"
TESSERACT_STYLES = ("lines", "stacked", "page")
STRIP_HEIGHTS = (48,)  # px: each line goes into the stacked sheet at these heights, the surest reading kept
LINE_PAD = 0.05   # of a line's height, around each line PP-OCR finds
KOREAN_LANGS = "kor+eng"  # Tesseract models for --lang ko (signs mix Hangul and Latin)
KOREAN_STYLE = "stacked"  # chosen by benchmarks/text_engines.py (docs/benchmarks.md, "Reading Korean signs")


def resolve_engine(engine: str, lang: str) -> str:
    """The engine `auto` means for a language: Tesseract for Korean (PP-OCR's recogniser has no Hangul), PP-OCR
    (RapidOCR) for English."""
    return ("tesseract" if lang in ("ko", "kor") else "rapidocr") if engine == "auto" else engine


def text_detector(engine: str = "auto", lang: str = "en", min_score: float = 0.5, style: str | None = None) -> Detector:
    """`engine`: rapidocr, tesseract, or auto (Tesseract for Korean, RapidOCR otherwise). `style` (Tesseract):
    `stacked` (PP-OCR finds the lines, Tesseract reads them all in one call; the default), `lines` (one call per
    line, binarised) or `page` (Tesseract alone on the whole picture)."""
    if lang not in TEXT_LANGUAGES:
        raise InputError(f"--lang {lang!r}: text is read in {' or '.join(TEXT_LANGUAGES)} (Korean is ko, not kr); "
                         "other languages would silently be read as English.")
    if engine not in ("auto", "rapidocr", "tesseract"):
        raise InputError(f"--engine {engine!r}: use auto, rapidocr or tesseract.")
    engine = resolve_engine(engine, lang)
    style = style or KOREAN_STYLE
    if style not in TESSERACT_STYLES:
        raise InputError(f"style {style!r}: use {', '.join(TESSERACT_STYLES)}.")
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
        tlang = {"ko": KOREAN_LANGS, "kor": KOREAN_LANGS, "en": "eng"}.get(lang, lang)
        for part in tlang.split("+"):
            if not tesseract_available(part):
                raise SetupError(f"Tesseract with language {part!r} is not installed: "
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

        def line_boxes(img: np.ndarray) -> list[tuple[int, int, int, int]]:
            boxes = finder(img, use_det=True, use_cls=False, use_rec=False).boxes
            out = []
            for x0, y0, x1, y1 in merge_line_boxes([] if boxes is None else boxes):
                pad = max(2, int(LINE_PAD * (y1 - y0)))
                out.append((max(0, x0 - pad), max(0, y0 - pad), min(img.shape[1], x1 + pad), min(img.shape[0], y1 + pad)))
            return out

        def tess(img: np.ndarray) -> list[Detection]:
            if finder is None or style == "page":
                return read_lines(img, psm=11)
            out = []
            if style == "lines":
                for x0, y0, x1, y1 in line_boxes(img):
                    out += read_lines(clean_line_for_ocr(img[y0:y1, x0:x1]), x0 - OCR_BORDER, y0 - OCR_BORDER, psm=7)
                return out
            return read_stacked(img, line_boxes(img))

        def read_stacked(img: np.ndarray, boxes: list[tuple[int, int, int, int]]) -> list[Detection]:
            """Every line, cleaned to black on white, stacked with white gaps into one sheet that Tesseract reads
            in one call (a call per line costs a process each: 10.7 s on opencv-doc's page of text against 6.9 s).
            Each line goes in at every height of STRIP_HEIGHTS and the surest reading is kept: Tesseract's
            reading of a short sign flips with its size (docs/benchmarks.md, "Reading Korean signs")."""
            if not boxes:
                return []
            gap = 24
            strips = []  # (strip, line number)
            for i, (x0, y0, x1, y1) in enumerate(boxes):
                crop = img[y0:y1, x0:x1]
                if crop.size == 0:
                    continue
                crop = clean_line_for_ocr(crop)  # black text on white, the sign's edges and specks gone
                for height in STRIP_HEIGHTS:
                    k = height / crop.shape[0]
                    strips.append((cv2.resize(crop, (max(1, int(crop.shape[1] * k)), height),
                                              interpolation=cv2.INTER_CUBIC), i))
            width = max(st.shape[1] for st, _ in strips) + 2 * gap
            tops = np.cumsum([gap] + [st.shape[0] + gap for st, _ in strips])
            sheet = np.full((int(tops[-1]), width), 255, np.uint8)
            for (st, _), top in zip(strips, tops):
                sheet[top:top + st.shape[0], gap:gap + st.shape[1]] = st
            d = pytesseract.image_to_data(sheet, lang=tlang, config="--psm 6", output_type=pytesseract.Output.DATAFRAME)
            d = d[(d["conf"] > 0) & d["text"].notna()]
            d = d[d["text"].astype(str).str.strip() != ""]
            best: dict[int, tuple[float, str]] = {}
            for (st, i), top in zip(strips, tops):  # words back to the strip they were read from
                mid = d["top"] + d["height"] / 2
                words = d[(mid >= top) & (mid < top + st.shape[0])]
                if len(words):
                    conf = float(words["conf"].mean()) / 100
                    if conf > best.get(i, (-1.0, ""))[0]:
                        best[i] = (conf, " ".join(words.sort_values("left")["text"].astype(str)))
            out = []
            for i, (conf, text) in sorted(best.items()):
                x0, y0, x1, y1 = boxes[i]
                out.append(Detection("text", conf, x0, y0, x1 - x0, y1 - y0, text))
            return [o for o in out if o.score >= min_score]

        return tess
    raise InputError(f"unknown text engine {engine!r}: use rapidocr, tesseract or auto")



def detect_text(inputs, out: str | Path | None = None, engine: Literal["auto", "rapidocr", "tesseract"] = "auto",
                lang: Literal["en", "ko"] = "en", min_score: float = 0.5, **options) -> pd.DataFrame:
    """`tamgu detect text`: text boxes with what they read (RapidOCR; Tesseract for Korean), in photos, videos,
    cameras and streams. Scores are recognition confidences, 0..1.

    Args:
        out: folder for annotated images, videos, detections.csv/.json and summary.json
        engine: auto, rapidocr or tesseract
        lang: en, or ko (Tesseract kor)
        min_score: least recognition confidence, 0..1
    """
    from ..runtime import set_threads

    opts = frame_options(options, "detect text", "detect")
    check_range("min_score", min_score, 0, 1, what="a recognition confidence")
    set_threads(opts.threads)
    ran = resolve_engine(engine, lang)  # the method column says which engine read, never "auto"
    method = ran if ran == "rapidocr" else f"tesseract-{KOREAN_STYLE}"
    table = run_detector(tagged(text_detector(engine, lang, min_score), method), inputs, out, opts=opts)
    if ran == "rapidocr" and isinstance(table, pd.DataFrame) and table["text"].astype(str).str.contains(MISREAD_HANGUL).any():
        # PP-OCR's recogniser knows Chinese and English only: Hangul comes back as other letters
        table.attrs["hint"] = ("some text was read as Chinese or accented letters: if the signs are Korean, use "
                               "--lang ko (Tesseract reads Hangul; PP-OCR's recogniser does not)")
        log.warning(table.attrs["hint"])
    return table


detect_text.__doc__ += options_doc("detect")


