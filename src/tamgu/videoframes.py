"""Practice data from videos: frames sampled by time, deduplicated, written as a dataset with the video as group.

    tamgu frames clips/ --out data/frames --every 1s --dedupe --label tank

Output: `<label>/<video-stem>/<video-stem>_<ms>.jpg` (no label: `<video-stem>/...`) and `frames.csv`
(img,video,time_ms,frame_index,width,height,group,label), which `tamgu check` and
`tamgu train --split group` read directly: frames of one video never straddle train and validation.

Decoding is PyAV (FFmpeg inside its wheel), OpenCV the fallback. By default frames that no other frame
references are not decoded (PyAV `skip_frame="NONREF"`): each sample is then the nearest decoded frame,
at most one frame from its requested time, for far less work; `exact=True` decodes everything. When the
next sample lies several keyframe intervals ahead, the decoder seeks instead of decoding the gap.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
import pandas as pd

from .io import VIDEO_EXTS, list_inputs, write_csv, write_image

log = logging.getLogger(__name__)

COLUMNS = ["img", "video", "time_ms", "frame_index", "width", "height", "group", "label"]


class VideoError(RuntimeError):
    """A video that cannot be (fully) read; the frames before the damage are kept."""


def parse_time(value: str | float | int | None) -> float | None:
    """Seconds from `1.5`, `"1.5"`, `"500ms"`, `"2s"`, `"1m30s"`, `"1h"`, `"00:01:30.5"`."""
    if value is None or isinstance(value, (int, float)):
        return None if value is None else float(value)
    text = str(value).strip().lower()
    if ":" in text:
        parts = [float(p) for p in text.split(":")]
        return sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "": 1}
    tokens = re.findall(r"([\d.]+)\s*(ms|s|m|h|)", text)
    if not tokens or "".join(n + u for n, u in tokens) != text.replace(" ", ""):
        raise ValueError(f"time {value!r} is not a duration: write 1.5, 500ms, 2s, 1m30s or 00:01:30")
    return sum(float(n) * units[u] for n, u in tokens)


@dataclass
class Sampling:
    every: float | None = 1.0      # seconds between samples
    count: int | None = None       # or this many samples spread evenly
    start: float = 0.0
    end: float | None = None
    max: int | None = None
    keyframes: bool = False        # keyframes only: fast previews
    exact: bool = False            # decode every frame (no skipping of unreferenced frames)

    def targets(self, duration: float | None) -> np.ndarray:
        end = self.end if self.end is not None else duration
        if self.count is not None:
            if end is None:
                raise VideoError("the video's duration is unknown, so --count cannot spread samples: use --every")
            span = max(0.0, end - self.start)
            t = self.start + (np.arange(self.count) + 0.5) * span / self.count
        else:
            if end is None:
                end = self.start + 24 * 3600.0  # unknown length: decoding stops at the end anyway
            t = np.arange(self.start, end, self.every)
        return t[: self.max] if self.max else t


@dataclass
class Dedupe:
    threshold: int | None = None   # max perceptual-hash distance (of 64 bits) for "the same picture"
    scene: float | None = None     # keep a frame only when it starts a new scene (histogram distance)
    _last_hash: object = field(default=None, repr=False)
    _last_hist: object = field(default=None, repr=False)

    def keep(self, bgr: np.ndarray) -> bool:
        small = cv2.resize(bgr, (64, 64), interpolation=cv2.INTER_AREA)
        if self.scene is not None:
            hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
            hist = cv2.calcHist([hsv], [0, 1], None, [16, 8], [0, 180, 0, 256])
            cv2.normalize(hist, hist)
            prev, self._last_hist = self._last_hist, hist
            # scene mode compares consecutive samples: the first sample after a cut is kept
            if prev is not None and cv2.compareHist(prev, hist, cv2.HISTCMP_BHATTACHARYYA) < self.scene:
                return False
        if self.threshold is not None:
            import imagehash
            from PIL import Image

            h = imagehash.dhash(Image.fromarray(cv2.cvtColor(small, cv2.COLOR_BGR2RGB)))
            if self._last_hash is not None and h - self._last_hash <= self.threshold:
                return False
            self._last_hash = h
        return True


@dataclass
class Picked:
    time: float
    index: int
    image: np.ndarray  # BGR


def _rotate(img: np.ndarray, degrees: float) -> np.ndarray:
    """Apply display rotation metadata (counter-clockwise degrees, as FFmpeg's display matrix)."""
    k = int(round(degrees / 90)) % 4
    return {0: img, 1: cv2.rotate(img, cv2.ROTATE_90_COUNTERCLOCKWISE), 2: cv2.rotate(img, cv2.ROTATE_180),
            3: cv2.rotate(img, cv2.ROTATE_90_CLOCKWISE)}[k]


def _pick(frames: Iterator[tuple[float, object]], targets: np.ndarray, tolerance: float) -> Iterator[tuple[float, object]]:
    """For each target time, the nearest of the frames given (time-ordered); each frame at most once."""
    ti, prev, last = 0, None, None
    for t, f in frames:
        while ti < len(targets) and t >= targets[ti]:
            choice = prev if prev is not None and targets[ti] - prev[0] < t - targets[ti] else (t, f)
            if last is None or choice[0] != last:
                last = choice[0]
                yield choice
            ti += 1
        if ti >= len(targets):
            return
        prev = (t, f)
    # targets past the last frame: the last frame serves those within the tolerance
    if prev is not None and ti < len(targets) and targets[ti] - prev[0] <= tolerance and prev[0] != last:
        yield prev


def _pyav_frames(path: Path, sampling: Sampling, errors: list[str]) -> Iterator[Picked]:
    import av

    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as e:
        raise VideoError(f"{path}: cannot open ({e}); is it a video? re-download or re-encode it") from None
    with container:
        if not container.streams.video:
            raise VideoError(f"{path}: has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame + slice threads: the decoder uses every core
        if sampling.keyframes:
            stream.codec_context.skip_frame = "NONKEY"
        elif not sampling.exact:
            stream.codec_context.skip_frame = "NONREF"
        rate = stream.average_rate or stream.guessed_rate or Fraction(25)
        frame_dur = 1 / float(rate)
        duration = None
        if stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        elif container.duration:
            duration = container.duration / 1e6
        targets = sampling.targets(duration)
        if not len(targets):
            return
        tb = stream.time_base
        keyframes: list[float] = []  # times of the keyframes seen: their spacing tells when seeking pays

        def decoded() -> Iterator[tuple[float, object]]:
            ti, t = 0, 0.0
            if targets[0] > 2.0:
                container.seek(int(targets[0] / tb), stream=stream, backward=True)
            while True:
                try:
                    for f in container.decode(stream):
                        if f.time is None:
                            continue
                        t = float(f.time)
                        if f.key_frame and (not keyframes or t > keyframes[-1]):
                            keyframes.append(t)
                        yield t, f
                        while ti < len(targets) and targets[ti] <= t:
                            ti += 1
                        # far from the next sample: seek to it rather than decode the gap
                        gop = float(np.median(np.diff(keyframes))) if len(keyframes) > 1 else None
                        if ti < len(targets) and gop and targets[ti] - t > 3 * gop and not sampling.keyframes:
                            container.seek(int((targets[ti] - frame_dur) / tb), stream=stream, backward=True)
                            break
                    else:
                        break
                except av.error.EOFError:
                    break
                except av.error.FFmpegError as e:
                    errors.append(f"{path}: damaged after {t:.2f} s ({e}); the frames before were kept")
                    return
            # the stream ended well before its declared length: a truncated download or copy
            if duration and not sampling.keyframes and t < duration - max(0.5, 3 * frame_dur):
                errors.append(f"{path}: ends at {t:.2f} s of its {duration:.2f} s (truncated?); the frames before "
                              "were kept: re-download or re-copy it")

        tolerance = frame_dur * (3 if sampling.keyframes else 1.5)
        for t, f in _pick(decoded(), targets, tolerance):
            img = f.to_ndarray(format="bgr24")
            rot = getattr(f, "rotation", 0) or 0
            if rot:
                img = _rotate(img, rot)
            yield Picked(t, int(round(t * float(rate))), img)


def _opencv_frames(path: Path, sampling: Sampling, errors: list[str]) -> Iterator[Picked]:
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise VideoError(f"{path}: OpenCV cannot open it; is it a video? re-download or re-encode it")
    try:
        fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
        n = cap.get(cv2.CAP_PROP_FRAME_COUNT)
        targets = sampling.targets(n / fps if n > 0 else None)

        def decoded():
            i = 0
            while True:  # the fallback decodes every frame: simple, and OpenCV cannot skip any
                ok, img = cap.read()
                if not ok:
                    return
                yield cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0, (i, img)  # the time of the frame just read
                i += 1

        for t, (i, img) in _pick(decoded(), targets, 1.5 / fps):
            yield Picked(t, i, img)
    finally:
        cap.release()


class _Both:
    """Advance a video's progress bar and the overall one together (videos run in parallel threads)."""

    def __init__(self, *bars):
        self.bars = bars

    def update(self, n: int = 1) -> None:
        for b in self.bars:
            b.update(n)


def _video_files(inputs: list[str | Path]) -> list[Path]:
    files = list_inputs(inputs, VIDEO_EXTS, "video files or folders of videos")
    if not files:
        raise FileNotFoundError(f"no videos ({', '.join(sorted(VIDEO_EXTS))}) in {', '.join(map(str, inputs))}")
    stems = pd.Series([f.stem for f in files])
    if stems.duplicated().any():
        raise ValueError(f"two videos share the name {stems[stems.duplicated()].iloc[0]!r}: frames are named after the "
                         "video, so rename one of them")
    return files


def extract_video(path: Path, out: Path, sampling: Sampling, label: str | None = None, fmt: str = "jpg",
                  quality: int = 90, dedupe: int | None = None, scene: float | None = None,
                  backend: str = "auto", progress=None) -> tuple[pd.DataFrame, list[str]]:
    """Frames of one video into `out`; returns its frames.csv rows and any problems met (damaged file)."""
    rel_dir = Path(label) / path.stem if label else Path(path.stem)
    folder = out / rel_dir
    params = {"sampling": asdict(sampling), "fmt": fmt, "quality": quality, "dedupe": dedupe, "scene": scene,
              "label": label, "size": path.stat().st_size}
    key = hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]
    done_file = folder / ".done.csv"
    if done_file.exists() and done_file.read_text().startswith(f"# {key}\n"):
        return pd.read_csv(done_file, comment="#", dtype={"img": str, "label": str}), []  # resumed: nothing to do
    folder.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    enc = [cv2.IMWRITE_JPEG_QUALITY, quality] if fmt == "jpg" else [cv2.IMWRITE_PNG_COMPRESSION, 3]
    gate = Dedupe(dedupe, scene)
    rows, pending = [], []

    def save(img: np.ndarray, dst: Path) -> None:
        write_image(img, dst, enc)

    source = {"pyav": _pyav_frames, "opencv": _opencv_frames}
    order = ["pyav", "opencv"] if backend == "auto" else [backend]
    with ThreadPoolExecutor(2) as pool:  # JPEG encoding overlaps decoding (OpenCV releases the GIL)
        for i, name in enumerate(order):
            try:
                for p in source[name](path, sampling, errors):
                    if not gate.keep(p.image):
                        continue
                    fname = f"{path.stem}_{int(round(p.time * 1000)):08d}.{fmt}"
                    dst = folder / fname
                    if not dst.exists():  # a rerun skips frames already written
                        pending.append(pool.submit(save, p.image, dst))
                    h, w = p.image.shape[:2]
                    rows.append(((rel_dir / fname).as_posix(), path.name, int(round(p.time * 1000)), p.index, w, h,
                                 path.stem, label or ""))
                    if progress is not None:
                        progress.update(1)
                break
            except VideoError as e:
                if i + 1 < len(order) and not rows:
                    log.info("%s; trying %s", e, order[i + 1])
                    continue
                errors.append(str(e))
                break
        for f in pending:
            f.result()
    df = pd.DataFrame(rows, columns=COLUMNS)
    if not errors:
        with open(done_file, "w") as fh:
            fh.write(f"# {key}\n")
            df.to_csv(fh, index=False)
    return df, errors


def frames(inputs: list[str | Path] | str | Path, out: str | Path, every: str | float | None = None,
           fps: float | None = None, count: int | None = None, start: str | float | None = None,
           end: str | float | None = None, max: int | None = None, keyframes: bool = False, exact: bool = False,
           dedupe: int | None = None, scene: float | None = None, label: str | None = None,
           labels: str | Path | None = None, fmt: str = "jpg", quality: int = 90, workers: int = 2,
           backend: str = "auto", progress: bool = True) -> pd.DataFrame:
    """Cut frames out of videos into `out`; returns the frames table (also `out/frames.csv`).

    Sampling by time: `every` ("1s" by default), or `fps`, or `count` spread evenly, within `start`..`end`,
    at most `max` per video. `labels` is a CSV video,label that sorts videos into class folders (or one
    `label` for all). Damaged videos are reported, their earlier frames kept, and the others processed;
    the function then raises VideoError listing them.
    """
    from tqdm.auto import tqdm

    if sum(x is not None for x in (every, fps, count)) > 1:
        raise ValueError("choose one of every, fps and count")
    if fmt not in ("jpg", "png"):
        raise ValueError(f"format {fmt!r}: use jpg or png")
    step = parse_time(every) if every is not None else (1.0 / fps if fps else (None if count else 1.0))
    if step is not None and step <= 0:
        raise ValueError("the sampling interval must be positive")
    sampling = Sampling(every=step, count=count, start=parse_time(start) or 0.0, end=parse_time(end), max=max,
                        keyframes=keyframes, exact=exact)
    files = _video_files([inputs] if isinstance(inputs, (str, Path)) else list(inputs))
    mapping: dict[str, str] = {}
    if labels is not None:
        lab = pd.read_csv(labels, dtype=str)
        if not {"video", "label"} <= set(lab.columns):
            raise ValueError(f"{labels}: a labels CSV needs the columns video,label")
        mapping = {Path(v).name: lbl for v, lbl in zip(lab["video"], lab["label"])}
        mapping.update({Path(v).stem: lbl for v, lbl in zip(lab["video"], lab["label"])})
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    overall = tqdm(total=None, desc="frames", unit="frame", disable=not progress)
    results, problems = [], []

    def one(f: Path):
        lbl = mapping.get(f.name, mapping.get(f.stem, label)) if mapping else label
        bar = tqdm(desc=f.name, unit="frame", leave=False, disable=not progress)
        try:
            return extract_video(f, out, sampling, lbl, fmt, quality, dedupe, scene, backend, _Both(bar, overall))
        finally:
            bar.close()

    with ThreadPoolExecutor(builtins.max(1, workers)) as pool:
        for f, (df, errs) in zip(files, pool.map(one, files)):
            results.append(df)
            problems += errs
    overall.close()
    table = pd.concat(results, ignore_index=True) if results else pd.DataFrame(columns=COLUMNS)
    if (out / "frames.csv").exists():  # keep rows of videos from earlier runs into the same folder
        old = pd.read_csv(out / "frames.csv", dtype={"img": str, "label": str}, keep_default_na=False)
        table = pd.concat([old[~old["video"].isin(table["video"])], table], ignore_index=True)
    write_csv(table, out / "frames.csv")
    if problems:
        raise VideoError("; ".join(problems))
    return table
