"""A generated State Farm dataset: same layout, same classes, same trap.

Each driver has their own car interior, colours, body shape and camera offset; each class is a pose
(where the hands are, what they hold, where the head looks). Within a driver and class the images are
consecutive frames of one clip: nearly identical neighbours. A random split therefore puts
near-copies of validation images in training and looks far better than it is; a split by driver
does not. Test images come from drivers not in train, as runs of consecutive frames.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from ..errors import InputError
from ..statefarm import CLASS_DESCRIPTIONS, KAGGLE_CLASSES
from .data import TRUTH_HEADER, truth_path
from ..files import write_csv, write_image

log = logging.getLogger(__name__)

# The 26 training drivers of the real competition, used as names when there are 26 or fewer.
REAL_DRIVERS = ("p002 p012 p014 p015 p016 p021 p022 p024 p026 p035 p039 p041 p042 p045 p047 p049 "
                "p050 p051 p052 p056 p061 p064 p066 p072 p075 p081").split()

# Where each hand goes per class, in scene coordinates (u right, v down, both 0..1); "wheel_*" are
# the two grips on the steering wheel. Kept as data so a reader can see the poses at a glance.
STYLE_SPREAD = 0.03  # how far one driver's habitual pose strays from another's (scene units)
WHEEL_TOP, WHEEL_LOW = (0.63, 0.50), (0.61, 0.72)
POSES: dict[str, dict] = {
    "c0": dict(right=WHEEL_TOP, left=WHEEL_LOW, head="forward"),                      # safe driving
    "c1": dict(right=(0.53, 0.63), left=WHEEL_LOW, head="down", hold=("right", "phone")),
    "c2": dict(right=(0.47, 0.33), left=WHEEL_LOW, head="forward", hold=("right", "phone")),
    "c3": dict(right=WHEEL_TOP, left=(0.45, 0.70), head="down", hold=("left", "phone")),
    "c4": dict(right=WHEEL_TOP, left=(0.34, 0.33), head="forward", hold=("left", "phone")),
    "c5": dict(right=(0.80, 0.60), left=WHEEL_LOW, head="right"),                     # radio
    "c6": dict(right=(0.49, 0.43), left=WHEEL_LOW, head="up", hold=("right", "cup")),  # drinking
    "c7": dict(right=(0.12, 0.50), left=WHEEL_LOW, head="back"),                      # reaching behind
    "c8": dict(right=(0.41, 0.21), left=WHEEL_LOW, head="forward"),                   # hair, make-up
    "c9": dict(right=WHEEL_TOP, left=WHEEL_LOW, head="camera"),                       # passenger
}


@dataclass(frozen=True)
class Driver:
    name: str
    interior: tuple[int, int, int]  # BGR
    window: tuple[int, int, int]
    seat: tuple[int, int, int]
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    shirt: tuple[int, int, int]
    body: float        # torso width factor
    head: float        # head size factor
    dx: float          # camera offset, fraction of width
    dy: float
    zoom: float
    stripes: float     # angle of the interior texture
    style: tuple       # the driver's own way of doing each pose: (10 classes, 6) offsets of hands and head


def _colour(rng: np.random.Generator, lo: int, hi: int) -> tuple[int, int, int]:
    return tuple(int(c) for c in rng.integers(lo, hi, size=3))


def make_driver(name: str, rng: np.random.Generator) -> Driver:
    skin_base = rng.uniform(0.45, 1.0)
    skin = (int(120 * skin_base + 30), int(150 * skin_base + 40), int(190 * skin_base + 50))
    return Driver(
        name=name, interior=_colour(rng, 20, 140), window=_colour(rng, 150, 255), seat=_colour(rng, 10, 90),
        skin=skin, hair=_colour(rng, 0, 90), shirt=_colour(rng, 30, 240),
        body=float(rng.uniform(0.8, 1.25)), head=float(rng.uniform(0.85, 1.15)),
        dx=float(rng.uniform(-0.07, 0.07)), dy=float(rng.uniform(-0.06, 0.06)), zoom=float(rng.uniform(0.9, 1.1)),
        stripes=float(rng.uniform(0, np.pi)),
        style=tuple(map(tuple, rng.normal(0, 1, size=(len(POSES), 6)).clip(-2, 2))),
    )


def render(driver: Driver, cls: str, size: tuple[int, int], jitter: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw one frame (BGR uint8, H x W) of `driver` in pose `cls`; `jitter` (8,) moves hands and head."""
    w, h = size
    sc = min(w / 160, h / 120) * driver.zoom

    def px(u: float, v: float) -> tuple[int, int]:
        # scene -> pixels, with the driver's camera offset and zoom about the image centre
        x = ((u - 0.5) * driver.zoom + 0.5 + driver.dx) * w
        y = ((v - 0.5) * driver.zoom + 0.5 + driver.dy) * h
        return int(round(x)), int(round(y))

    def t(k: float) -> int:
        return max(1, int(round(k * sc)))

    img = np.empty((h, w, 3), np.uint8)
    img[:] = driver.interior
    # interior texture: faint stripes at the driver's angle
    yy, xx = np.mgrid[0:h, 0:w]
    stripes = (np.sin((xx * np.cos(driver.stripes) + yy * np.sin(driver.stripes)) / (3.0 * sc)) * 12).astype(np.int16)
    img = np.clip(img.astype(np.int16) + stripes[..., None], 0, 255).astype(np.uint8)
    cv2.rectangle(img, px(0.0, 0.05), px(0.58, 0.45), driver.window, -1)
    cv2.rectangle(img, px(0.18, 0.25), px(0.36, 1.05), driver.seat, -1)
    dash = np.array([px(0.70, 0.45), px(1.05, 0.40), px(1.05, 1.05), px(0.55, 1.05)], np.int32)
    cv2.fillPoly(img, [dash], tuple(int(c * 0.6) for c in driver.interior))
    cv2.rectangle(img, px(0.76, 0.57), px(0.86, 0.64), (30, 30, 30), -1)  # radio
    cv2.circle(img, px(0.79, 0.605), t(1.5), (40, 200, 240), -1)

    pose = POSES[cls]
    # per-frame movement plus the driver's habit for this pose: what a model must generalise over
    habit = np.asarray(driver.style[list(POSES).index(cls)])
    j = jitter * 0.02
    j[:6] += habit * STYLE_SPREAD
    head_u, head_v = 0.40 + j[4], 0.33 + j[5]
    turn = {"forward": 0.0, "down": 0.0, "up": 0.0, "right": 0.02, "camera": 0.04, "back": -0.05}[pose["head"]]
    head_u += turn
    if pose["head"] == "down":
        head_v += 0.03
    # torso and shoulders
    cv2.ellipse(img, px(0.38, 0.75), (t(20 * driver.body), t(32)), 0, 0, 360, driver.shirt, -1, cv2.LINE_AA)
    shoulder_r, shoulder_l = (0.45, 0.57), (0.32, 0.56)
    # steering wheel behind the near arm
    cv2.ellipse(img, px(0.62, 0.61), (t(7), t(20)), 0, 0, 360, (25, 25, 25), t(3), cv2.LINE_AA)

    def arm(shoulder: tuple[float, float], hand: tuple[float, float], dj: np.ndarray, shade: float) -> tuple[int, int]:
        hu, hv = hand[0] + dj[0], hand[1] + dj[1]
        eu, ev = (shoulder[0] + hu) / 2, max(shoulder[1], hv) + 0.08  # elbows hang below
        sleeve = tuple(int(c * shade) for c in driver.shirt)
        cv2.line(img, px(*shoulder), px(eu, ev), sleeve, t(6), cv2.LINE_AA)
        cv2.line(img, px(eu, ev), px(hu, hv), driver.skin, t(5), cv2.LINE_AA)
        cv2.circle(img, px(hu, hv), t(4), driver.skin, -1, cv2.LINE_AA)
        return px(hu, hv)

    # far (left) arm first, darker, then the head, then the near (right) arm on top
    hands = {"left": arm(shoulder_l, pose["left"], j[2:4], 0.7)}
    r = t(11 * driver.head)
    hc = px(head_u, head_v)
    cv2.circle(img, hc, r, driver.skin, -1, cv2.LINE_AA)
    if pose["head"] == "back":
        cv2.ellipse(img, hc, (r, r), 0, -60, 240, driver.hair, -1, cv2.LINE_AA)  # mostly hair: looking back
    elif pose["head"] == "camera":
        cv2.ellipse(img, hc, (r, r), 0, 180, 360, driver.hair, -1, cv2.LINE_AA)
        for du in (-0.35, 0.35):
            cv2.circle(img, (hc[0] + int(du * r), hc[1] + r // 4), t(1.5), (20, 20, 20), -1)
        cv2.line(img, (hc[0] - r // 3, hc[1] + 2 * r // 3), (hc[0] + r // 3, hc[1] + 2 * r // 3), (40, 40, 120), t(1.2))
    else:
        cv2.ellipse(img, hc, (r, r), 0, 150, 330, driver.hair, -1, cv2.LINE_AA)  # hair at the back
        gaze = {"forward": 0, "down": r // 3, "up": -r // 3, "right": r // 6}[pose["head"]]
        cv2.circle(img, (hc[0] + 2 * r // 3, hc[1] - r // 6 + gaze), t(1.5), (20, 20, 20), -1)
    hands["right"] = arm(shoulder_r, pose["right"], j[0:2], 1.0)
    if "hold" in pose:
        side, obj = pose["hold"]
        x, y = hands[side]
        if obj == "phone":
            cv2.rectangle(img, (x - t(2), y - t(5)), (x + t(2), y + t(2)), (15, 15, 15), -1)
        else:
            cv2.rectangle(img, (x - t(3), y - t(9)), (x + t(3), y + t(1)), (30, 60, 200), -1)

    gain = rng.uniform(0.9, 1.1)
    noise = rng.normal(0, 3, img.shape)
    return np.clip(img * gain + noise, 0, 255).astype(np.uint8)


def _clip_jitters(rng: np.random.Generator, n: int, step: float = 0.15) -> np.ndarray:
    """n consecutive frames of small movement: a bounded random walk, shape (n, 8)."""
    start = rng.uniform(-1, 1, size=8)
    walk = np.cumsum(rng.normal(0, step, size=(n, 8)), axis=0)
    return np.clip(start + walk, -1.5, 1.5)


def synth(
    out: str | Path,
    drivers: int = 26,
    per_class: int = 10,
    test: int = 500,
    test_drivers: int = 5,
    image_size: str | int | tuple[int, int] = "160x120",
    seed: int = 0,
    quality: int = 90,
) -> Path:
    """Write a generated dataset in the Kaggle State Farm layout under `out` and return `out`.

    `drivers` training drivers (named like the real ones, p002...), `per_class` images per driver and
    class, `test` unlabelled images from `test_drivers` other drivers. Their labels go beside the folder,
    in `<out>_test_labels.csv` (img,subject,classname): the private leaderboard that `tamgu train` and
    `tamgu score` use to judge a model on drivers it has never seen. Deterministic for a seed.

    Args:
        out: output folder
        drivers: training drivers, named like p002
        per_class: images per driver and class
        test: test images
        test_drivers: drivers seen only in test
        image_size: WxH (4:3 like the real 640x480)
        seed: the same seed writes the same dataset
        quality: JPEG quality
    """
    from ..runtime import parse_image_size

    w, h = parse_image_size(image_size)
    if drivers < 2:
        raise InputError("synth needs at least 2 drivers (--drivers): folds by driver need more than one.")
    if per_class < 1:
        raise InputError("--per-class must be at least 1.")
    out = Path(out)
    rng = np.random.default_rng(seed)
    names = list(REAL_DRIVERS[:drivers]) if drivers <= len(REAL_DRIVERS) else [f"p{i:03d}" for i in range(2, 2 + drivers)]
    test_names = [f"t{i:03d}" for i in range(test_drivers)]
    all_drivers = [make_driver(n, np.random.default_rng([seed, i])) for i, n in enumerate(names + test_names)]
    train_drivers, hidden = all_drivers[:drivers], all_drivers[drivers:]

    n_train = drivers * len(KAGGLE_CLASSES) * per_class
    ids = rng.permutation(np.arange(1, 10 * (n_train + test) + 1))[: n_train + test]  # img_<n>.jpg, as on Kaggle
    params = [cv2.IMWRITE_JPEG_QUALITY, quality]

    rows = []
    k = 0
    for d in train_drivers:
        for cls in KAGGLE_CLASSES:
            for jit in _clip_jitters(rng, per_class):
                name = f"img_{ids[k]}.jpg"
                k += 1
                write_image(render(d, cls, (w, h), jit, rng), out / "imgs" / "train" / cls / name, params)
                rows.append((d.name, cls, name))
    write_csv(pd.DataFrame(rows, columns=["subject", "classname", "img"]), out / "driver_imgs_list.csv")

    test_rows = []
    (out / "imgs" / "test").mkdir(parents=True, exist_ok=True)
    if test and not hidden:
        raise InputError("--test images need --test-drivers of at least 1.")
    left = test
    while left > 0:
        d = hidden[int(rng.integers(len(hidden)))]
        cls = KAGGLE_CLASSES[int(rng.integers(len(KAGGLE_CLASSES)))]
        n = int(min(left, rng.integers(5, 25)))  # a short clip of consecutive frames
        for jit in _clip_jitters(rng, n):
            name = f"img_{ids[k]}.jpg"
            k += 1
            write_image(render(d, cls, (w, h), jit, rng), out / "imgs" / "test" / name, params)
            test_rows.append((name, d.name, cls))
        left -= n
    truth = pd.DataFrame(test_rows, columns=TRUTH_HEADER)
    sample = pd.DataFrame({"img": truth["img"]})
    for c in KAGGLE_CLASSES:
        sample[c] = 0.1
    write_csv(sample, out / "sample_submission.csv")
    if len(truth):  # the private leaderboard: outside the data folder, so training can never read it
        write_csv(truth, truth_path(out))
    else:
        truth_path(out).unlink(missing_ok=True)  # no test images: no stale labels from an earlier dataset
    log.info("wrote %d training and %d test images to %s", len(rows), len(test_rows), out)
    return out


__all__ = ["synth", "render", "make_driver", "POSES", "REAL_DRIVERS", "CLASS_DESCRIPTIONS"]


DEFAULT_SCHEDULE = "c0:4,c3:3,c0:2,c6:3,c1:3,c9:3"  # what a driver does, in order: class:seconds


def parse_schedule(text: str) -> list[tuple[str, float]]:
    """`"c0:4,c3:3"` -> [("c0", 4.0), ("c3", 3.0)]."""
    out = []
    for part in str(text).split(","):
        name, _, secs = part.strip().partition(":")
        try:
            seconds = float(secs)
        except ValueError:
            seconds = -1
        if name not in KAGGLE_CLASSES or seconds <= 0:
            raise InputError(f"schedule {text!r}: write class:seconds pairs of c0..c9, e.g. {DEFAULT_SCHEDULE}")
        out.append((name, seconds))
    return out


def synth_clip(out: str | Path, schedule: str = DEFAULT_SCHEDULE, size: str = "640x480", fps: int = 15,
               seed: int = 0, noise: float = 0.0) -> Path:
    """Write a generated dashboard clip (H.264 .mp4) of one new driver doing the poses of `schedule`, and its
    truth beside it (`<out>.schedule.csv`: start_s, end_s, label). The driver is drawn from `seed` and is none
    of `synth`'s training drivers; hands and head move a little from frame to frame.

    Args:
        out: the clip to write (.mp4)
        schedule: class:seconds pairs in order, e.g. c0:4,c3:3 (safe driving 4 s, then texting left 3 s)
        size: WxH of the clip (the real camera: 640x480)
        fps: frames per second
        seed: which driver and which movements
        noise: a poor camera: sensor noise of this sigma (0..255) and flickering light, so single frames mislead
    """
    from ..video.writer import VideoOut
    from ..runtime import parse_image_size

    plan = parse_schedule(schedule)
    w, h = parse_image_size(size)
    if fps < 1:
        raise InputError(f"--fps {fps}: at least 1 frame a second.")
    out = Path(out)
    rng = np.random.default_rng([seed, 7919])
    driver = make_driver(f"clip{seed}", np.random.default_rng([seed, 104729]))
    rows, t = [], 0.0
    with VideoOut(out, rate=fps, crf=20) as video:
        for cls, seconds in plan:
            n = max(1, int(round(seconds * fps)))
            for jit in _clip_jitters(rng, n, step=0.05):
                img = render(driver, cls, (w, h), jit, rng)[: h // 2 * 2, : w // 2 * 2, ::-1]
                if noise > 0:  # grain and a light that flickers from frame to frame
                    gain = 1 + rng.normal(0, noise / 100)
                    img = np.clip(img * gain + rng.normal(0, noise, img.shape), 0, 255).astype(np.uint8)
                video.write(img)
            rows.append((round(t, 3), round(t + n / fps, 3), cls))
            t += n / fps
    write_csv(pd.DataFrame(rows, columns=["start_s", "end_s", "label"]), schedule_path(out))
    return out


def schedule_path(clip: str | Path) -> Path:
    clip = Path(clip)
    return clip.with_name(clip.name + ".schedule.csv")
