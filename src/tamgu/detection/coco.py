"""COCO's 80 object classes, in English and Korean, and the default object detector: Coral's SSD-MobileNetV2 trained
on COCO (quantised, post-processing inside the model: 20 boxes, classes, scores, count), run by LiteRT.

The label file numbers classes with COCO's 90 ids, gaps included (`12 stop sign`, no 11): classes are mapped by id,
never by line.
"""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from ..defaults import THREADS
from ..errors import InputError
from .core import Detection, Detector

COCO_KO = {
    "person": "사람", "bicycle": "자전거", "car": "자동차", "motorcycle": "오토바이", "airplane": "비행기", "bus": "버스",
    "train": "기차", "truck": "트럭", "boat": "배", "traffic light": "신호등", "fire hydrant": "소화전",
    "stop sign": "정지 표지판", "parking meter": "주차 요금기", "bench": "벤치", "bird": "새", "cat": "고양이", "dog": "개",
    "horse": "말", "sheep": "양", "cow": "소", "elephant": "코끼리", "bear": "곰", "zebra": "얼룩말", "giraffe": "기린",
    "backpack": "배낭", "umbrella": "우산", "handbag": "핸드백", "tie": "넥타이", "suitcase": "여행 가방",
    "frisbee": "프리스비", "skis": "스키", "snowboard": "스노보드", "sports ball": "공", "kite": "연", "baseball bat": "야구 방망이",
    "baseball glove": "야구 글러브", "skateboard": "스케이트보드", "surfboard": "서프보드", "tennis racket": "테니스 라켓",
    "bottle": "병", "wine glass": "와인잔", "cup": "컵", "fork": "포크", "knife": "칼", "spoon": "숟가락", "bowl": "그릇",
    "banana": "바나나", "apple": "사과", "sandwich": "샌드위치", "orange": "오렌지", "broccoli": "브로콜리", "carrot": "당근",
    "hot dog": "핫도그", "pizza": "피자", "donut": "도넛", "cake": "케이크", "chair": "의자", "couch": "소파",
    "potted plant": "화분", "bed": "침대", "dining table": "식탁", "toilet": "변기", "tv": "텔레비전", "laptop": "노트북",
    "mouse": "마우스", "remote": "리모컨", "keyboard": "키보드", "cell phone": "휴대전화", "microwave": "전자레인지",
    "oven": "오븐", "toaster": "토스터", "sink": "싱크대", "refrigerator": "냉장고", "book": "책", "clock": "시계",
    "vase": "꽃병", "scissors": "가위", "teddy bear": "곰 인형", "hair drier": "헤어드라이어", "toothbrush": "칫솔"}
COCO = tuple(COCO_KO)  # the 80 names in COCO's order (YOLO's class indices)


def coco_labels(path) -> dict[int, str]:
    """The model's label file (`id name` a line) as {id: name}."""
    out = {}
    for line in path.read_text().splitlines():
        if line.strip():
            i, name = line.strip().split(maxsplit=1)
            out[int(i)] = name.strip()
    return out


def class_filter(classes: Sequence[str] | None, names: Sequence[str], korean: dict[str, str]) -> set[str] | None:
    """The English names `classes` (English or Korean, any case) stand for; an unknown one is refused naming the list."""
    if not classes:
        return None
    by_ko = {ko: en for en, ko in korean.items()}
    known = {n.lower(): n for n in names}
    wanted = set()
    for c in classes:
        c = c.strip()
        en = by_ko.get(c) or known.get(c.lower().replace("_", " "))
        if en is None:
            raise InputError(f"--classes: {c!r} is not one of this detector's classes: " + ", ".join(sorted(names)))
        wanted.add(en)
    return wanted


def coco_detector(classes: Sequence[str] | None = None, min_score: float = 0.4, threads: int | None = THREADS) -> Detector:
    """The 80 COCO classes; label in English, Korean name in `text`, probability 0..1. `classes` keeps only those
    (English or Korean names). At most 20 objects a frame (the model's own post-processing)."""
    from .models import TFLite, model_dir, model_path

    model = TFLite(model_path("coco"), threads)
    ids = coco_labels(model_dir() / "coco_labels.txt")
    wanted = class_filter(classes, list(ids.values()), COCO_KO)
    size = model.shape[1:3]

    def detect(img: np.ndarray) -> list[Detection]:
        h, w = img.shape[:2]
        x = cv2.resize(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), (size[1], size[0]), interpolation=cv2.INTER_AREA)
        outs = model(x[None])
        boxes = next(o for o in outs if o.ndim == 3)[0]
        cls, scores = (o[0] for o in outs if o.ndim == 2)
        dets = []
        for (y0, x0, y1, x1), c, s in zip(boxes, cls, scores):
            name = ids.get(int(c))
            if s < min_score or name is None or (wanted is not None and name not in wanted):
                continue
            bx0, by0 = max(0, int(round(x0 * w))), max(0, int(round(y0 * h)))
            bx1, by1 = min(w, int(round(x1 * w))), min(h, int(round(y1 * h)))
            if bx1 > bx0 and by1 > by0:
                dets.append(Detection(name, float(s), bx0, by0, bx1 - bx0, by1 - by0, COCO_KO.get(name, "")))
        return sorted(dets, key=lambda d: -d.score)

    return detect
