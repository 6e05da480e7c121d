"""A generated street for counting: crops of real photos that ship offline (scikit-image's astronaut, Chelsea the
cat, the stereo motorcycle) cross a vertical line in two lanes at known times, some two at once, so a count
can be judged exactly (`tamgu synth crossing`, the tests, benchmarks/tracking.py).

    OUT/crossing.mp4        the clip (H.264)
    OUT/crossings_truth.csv time_s, label, direction, line: when each object's centre crosses the line
    OUT/truth/crossing.xml  every object's box on every frame, with its track (CVAT for video 1.1)
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from ..files import write_csv

# label, lane (0 top, 1 bottom), direction, time its centre crosses the line (s); lanes never hold two at once
SCHEDULE = (("person", 0, "right", 1.8), ("cat", 1, "left", 2.0), ("motorcycle", 0, "left", 5.6),
            ("person", 1, "right", 5.6), ("cat", 0, "right", 9.4), ("motorcycle", 1, "right", 9.4))
SPEED = 260.0   # pixels a second


def object_photos() -> dict[str, np.ndarray]:
    """The three objects, cut from the photos and sized for a 640x480 street (BGR)."""
    import skimage.data

    person = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)[0:512, 0:390]
    cat = cv2.cvtColor(skimage.data.chelsea(), cv2.COLOR_RGB2BGR)
    moto = cv2.cvtColor(skimage.data.stereo_motorcycle()[0], cv2.COLOR_RGB2BGR)[68:452, 110:679]
    sized = {"person": (person, 190), "cat": (cat, 150), "motorcycle": (moto, 170)}  # height in pixels
    return {k: cv2.resize(img, (int(round(img.shape[1] * h / img.shape[0])), h), interpolation=cv2.INTER_AREA)
            for k, (img, h) in sized.items()}


def street(size: tuple[int, int], seed: int) -> np.ndarray:
    w, h = size
    rng = np.random.default_rng(seed)
    road = np.full((h, w, 3), (92, 96, 100), np.float32) + rng.normal(0, 6, (h, w, 3))
    road[h // 2 - 3:h // 2 + 3] = (200, 200, 200)  # the lane divider
    return np.clip(cv2.GaussianBlur(road, (0, 0), 1.2), 0, 255).astype(np.uint8)


def crossing_clip(out: str | Path, fps: int = 15, seconds: float = 12.0, line_x: int = 320, seed: int = 0) -> dict:
    """Write the clip, the true crossings and the true tracks. Returns their paths and the line to count on.

    Args:
        out: folder to write into
        fps: frames a second
        seconds: length of the clip
        line_x: where the vertical line is (the clip is 640x480)
        seed: the road's noise
    """
    from ..video.writer import VideoOut
    from .annotations import Annotations, write_annotations

    out = Path(out)
    w, h = 640, 480
    photos, road = object_photos(), street((w, h), seed)
    lanes = (h // 4 + 5, 3 * h // 4 - 5)
    truth, frames, boxes = [], [], []
    with VideoOut(out / "crossing.mp4", rate=fps, crf=18) as video:
        for f in range(int(round(seconds * fps))):
            t = f / fps
            img = road.copy()
            frames.append({"file": f"crossing_f{f:06d}.jpg", "width": w, "height": h, "video": "crossing.mp4",
                           "frame": f})
            for k, (label, lane, way, at) in enumerate(SCHEDULE):
                pic = photos[label]
                ph, pw = pic.shape[:2]
                cx = line_x + (1 if way == "right" else -1) * SPEED * (t - at)
                x0, y0 = int(round(cx - pw / 2)), int(round(lanes[lane] - ph / 2))
                a0, a1 = max(0, x0), min(w, x0 + pw)
                if a1 - a0 < 8:
                    continue
                img[y0:y0 + ph, a0:a1] = pic[:, a0 - x0:a1 - x0]
                boxes.append({"file": frames[-1]["file"], "label": label, "x": a0, "y": y0, "w": a1 - a0, "h": ph,
                              "track": k + 1, "score": np.nan})
            video.write(img[..., ::-1])
    for label, lane, way, at in SCHEDULE:
        if at < seconds:
            truth.append({"time_s": at, "label": label, "direction": way, "line": 1})
    write_csv(pd.DataFrame(truth).sort_values("time_s", kind="stable"), out / "crossings_truth.csv")
    tracks = pd.DataFrame(boxes)
    tracks["track"] = tracks["track"].astype("Int64")
    write_annotations(Annotations(pd.DataFrame(frames), tracks, ["person", "motorcycle", "cat"]), out / "truth", "cvat")
    return {"video": str(out / "crossing.mp4"), "truth": str(out / "crossings_truth.csv"),
            "tracks": str(out / "truth" / "crossing.xml"), "line": f"{line_x},0,{line_x},{h}"}
