"""Practice data from videos: frames sampled by time, deduplicated, written as a dataset with the video as group.

    tamgu frames clips/ --out data/frames --every 1s --dedupe --label tank

Output: `<label>/<video-stem>/<video-stem>_<ms>.jpg` (no label: `<video-stem>/...`) and `frames.csv`
(img,video,time_ms,frame_index,width,height,group,label), which `tamgu check` and
`tamgu train --split group` read directly: frames of one video never straddle train and validation.

The sampled decoding itself (PyAV, OpenCV the fallback; parts cut at keyframes and decoded side by side)
lives in `video.reader`, the one module that opens videos for reading; this module decides when to take
frames, writes them, deduplicates them and keeps frames.csv.
"""

from __future__ import annotations

import builtins
import dataclasses
import functools
import hashlib
import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Literal

import cv2
import numpy as np
import pandas as pd

from ..errors import InputError, InputsFailed, MissingInput, check_range
from ..files import VIDEO_EXTS, write_csv, write_image, no_bar
from .reader import NotAVideo, Picked, VideoError, decode, opencv_frames, plan
from ..defaults import PROGRESS
from .segments import MARGIN, match_videos, parse_time, read_segments
from .segments import windows as segment_windows

log = logging.getLogger(__name__)

class VideosPartlyRead(VideoError, InputsFailed):
    """Some videos (or parts of them) could not be read; the frames of the rest are written and listed."""


COLUMNS = ["img", "video", "time_ms", "frame_index", "width", "height", "group", "label"]


@dataclass
class Sampling:
    """When to take frames; refuses settings that can take none (a count of 0, an end before the start)."""

    every: float | None = 1.0      # seconds between samples
    count: int | None = None       # or this many samples spread evenly
    start: float = 0.0
    end: float | None = None
    max: int | None = None
    keyframes: bool = False        # keyframes only: fast previews
    exact: bool = False            # decode every frame (no skipping of unreferenced frames)
    windows: tuple = ()            # labelled stretches (segments.Window): samples only inside them, each labelled

    def __post_init__(self) -> None:
        if self.every is not None and self.every <= 0:
            raise VideoError(f"--every/--fps: the time between frames must be positive (got {self.every} s).")
        if self.count is not None and self.count < 1:
            raise VideoError(f"--count {self.count}: take at least one frame per video.")
        if self.max is not None and self.max < 1:
            raise VideoError(f"--max {self.max}: allow at least one frame per video.")
        if self.start < 0:
            raise VideoError(f"--start {self.start} s: a time in the video is 0 or more.")
        if self.end is not None and self.end <= self.start:
            raise VideoError(f"--end {self.end:g} s is not after --start {self.start:g} s: nothing lies between them.")

    def spans(self, duration: float | None, frame_dur: float = 0.0) -> list[tuple[float, float | None]]:
        """The stretches samples are taken from: start..end, or each window within them."""
        # a video of duration D has its last frame at D - frame_dur: a sample at D itself is past the end
        end = self.end if self.end is not None else (duration - frame_dur / 2 if duration else None)
        if not self.windows:
            return [(self.start, end)]
        spans = [(builtins.max(w.start, self.start), w.end if end is None else builtins.min(w.end, end))
                 for w in self.windows]
        return [(a, b) for a, b in spans if b > a]

    def bounds(self, targets: np.ndarray, duration: float | None = None,
               frame_dur: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """For each target, the earliest and latest presentation time a frame may have to stand for it: a
        variable-frame-rate file's nearest frame can lie before --start or outside a segment."""
        spans = self.spans(duration, frame_dur)
        lo = np.array([a for a, _ in spans])
        hi = np.array([np.inf if b is None else b for _, b in spans])
        i = np.clip(np.searchsorted(lo, targets, side="right") - 1, 0, len(spans) - 1)
        return lo[i], hi[i]

    def label_at(self, t: float) -> str | None:
        """The window's label at time `t` (None without windows)."""
        for w in self.windows:
            if w.start - 1e-6 <= t <= w.end + 1e-6:
                return w.label
        return None

    def targets(self, duration: float | None, frame_dur: float = 0.0) -> np.ndarray:
        if self.windows:  # --segments: --every/--fps within each window, --count per window
            parts = [self._targets(a, b) for a, b in self.spans(duration, frame_dur)]
            t = np.concatenate(parts) if parts else np.zeros(0)
            return t[: self.max] if self.max else t
        return self._targets(self.start, self.spans(duration, frame_dur)[0][1])

    def _targets(self, start: float, end: float | None) -> np.ndarray:
        if self.count is not None:
            if end is None:
                raise VideoError("the video's duration is unknown, so --count cannot spread samples: use --every")
            span = builtins.max(0.0, end - start)
            t = start + (np.arange(self.count) + 0.5) * span / self.count
        else:
            if end is None:
                end = start + 24 * 3600.0  # unknown length: decoding stops at the end anyway
            t = np.arange(start, end, self.every)
        return t[: self.max] if self.max else t


DEDUPE_DISTANCE = 4  # --dedupe alone: perceptual hashes this close (of 64 bits) are the same picture
SCENE_CUT = 0.4      # --scene alone: a histogram (Bhattacharyya) distance this large starts a new scene


@dataclass
class Dedupe:
    threshold: int | None = None   # max perceptual-hash distance (of 64 bits) for "the same picture"
    scene: float | None = None     # keep a frame only when it starts a new scene (histogram distance)
    _last_hash: object = field(default=None, repr=False)
    _last_hist: object = field(default=None, repr=False)

    def features(self, bgr: np.ndarray) -> tuple | None:
        """What `keep` compares, computed where the frame is decoded (the frame itself is not kept)."""
        if self.threshold is None and self.scene is None:
            return None
        small = cv2.resize(bgr, (64, 64), interpolation=cv2.INTER_AREA)
        hist = h = None
        if self.scene is not None:
            hist = cv2.calcHist([cv2.cvtColor(small, cv2.COLOR_BGR2HSV)], [0, 1], None, [16, 8], [0, 180, 0, 256])
            cv2.normalize(hist, hist)
        if self.threshold is not None:
            import imagehash
            from PIL import Image

            h = imagehash.dhash(Image.fromarray(cv2.cvtColor(small, cv2.COLOR_BGR2RGB)))
        return h, hist

    def keep(self, features: tuple | None) -> bool:
        """Decide on the samples in time order."""
        if features is None:
            return True
        h, hist = features
        if hist is not None:
            prev, self._last_hist = self._last_hist, hist
            # scene mode compares consecutive samples: the first sample after a cut is kept
            if prev is not None and cv2.compareHist(prev, hist, cv2.HISTCMP_BHATTACHARYYA) < self.scene:
                return False
        if h is not None:
            if self._last_hash is not None and h - self._last_hash <= self.threshold:
                return False
            self._last_hash = h
        return True


class _Both:
    """Advance a video's progress bar and the overall one together (videos run in parallel threads)."""

    def __init__(self, *bars):
        self.bars = bars

    def update(self, n: int = 1) -> None:
        for b in self.bars:
            b.update(n)


def _video_files(inputs: list[str | Path]) -> list[Path]:
    from .stream import media_inputs

    items = media_inputs(inputs, "video files or folders of videos")  # the one rule for "is it a video"
    live = [m.spec for m in items if m.live]
    if live:
        raise InputError(f"{live[0]}: tamgu frames cuts frames out of video files; to keep a camera's or a stream's "
                         "frames, record it to a file first (e.g. ffmpeg -i URL -t 60 -c copy clip.mp4)")
    files = [m.path for m in items if m.kind == "video"]
    if not files:
        raise MissingInput(f"no videos ({', '.join(sorted(VIDEO_EXTS))}) in {', '.join(map(str, inputs))}")
    stems = pd.Series([f.stem for f in files])
    if stems.duplicated().any():
        raise InputError(f"two videos share the name {stems[stems.duplicated()].iloc[0]!r}: frames are named after the "
                         "video, so rename one of them")
    return files


@dataclass
class _Saved:
    time: float
    index: int
    width: int
    height: int
    name: str               # relative to the output folder
    features: tuple | None
    label: str = ""


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def extract_video(path: Path, out: Path, sampling: Sampling, label: str | None = None, fmt: str = "jpg",
                  quality: int = 90, dedupe: int | None = None, scene: float | None = None,
                  backend: str = "auto", progress=None, parts: int | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Frames of one video into `out`; returns its frames.csv rows and any problems met (damaged file).

    With PyAV the video is cut at keyframes into `parts` stretches (default: 4 per core) decoded side by side;
    each writes its own images, and dedupe then decides in time order (deleting the images it drops).
    """
    def rel_dir(t: float) -> tuple[Path, str]:  # where a frame taken at `t` goes, and its label
        lbl = sampling.label_at(t) if sampling.windows else label
        return (Path(lbl) / path.stem if lbl else Path(path.stem)), lbl or ""

    params = {"sampling": asdict(sampling), "fmt": fmt, "quality": quality, "dedupe": dedupe, "scene": scene,
              "label": label, "size": path.stat().st_size}
    key = hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]
    # what a finished video wrote, so that a rerun skips it (segments: one file for the video's class folders)
    done_file = out / ".done" / f"{path.stem}.csv" if sampling.windows else out / rel_dir(0.0)[0] / ".done.csv"
    if done_file.exists() and done_file.read_text().startswith(f"# {key}\n"):
        return pd.read_csv(done_file, comment="#", dtype={"img": str, "label": str},
                           keep_default_na=False), []  # resumed: nothing to do
    enc = [cv2.IMWRITE_JPEG_QUALITY, quality] if fmt == "jpg" else [cv2.IMWRITE_PNG_COMPRESSION, 3]
    gate = Dedupe(dedupe, scene)
    cores = _cores()

    def sources() -> list[tuple[int, Callable[[list[str]], Iterator[Picked]]]]:
        """(samples, frame source) for each part, in time order."""
        if backend != "opencv":
            try:
                todo = plan(path, sampling, parts or 4 * cores)
                threads = 1 if len(todo) > 1 else 0
                return [(len(p.targets), functools.partial(decode, path, sampling, p, threads=threads)) for p in todo]
            except VideoError as e:
                if backend == "pyav" or isinstance(e, NotAVideo):
                    raise
                log.info("%s; trying OpenCV", e)  # PyAV cannot open it: OpenCV may
        return [(0, functools.partial(opencv_frames, path, sampling))]

    with ThreadPoolExecutor(2) as writer:  # JPEG encoding overlaps decoding (OpenCV releases the GIL)

        def run(source) -> tuple[list[_Saved], list[str]]:
            errs: list[str] = []
            saved, pending = [], []
            try:
                for p in source(errs):
                    folder, lbl = rel_dir(p.time)
                    fname = (folder / f"{path.stem}_{int(round(p.time * 1000)):08d}.{fmt}").as_posix()
                    if not (out / fname).exists():  # a rerun skips frames already written
                        pending.append(writer.submit(write_image, p.image, out / fname, enc))
                    h, w = p.image.shape[:2]
                    saved.append(_Saved(p.time, p.index, w, h, fname, gate.features(p.image), lbl))
                    if progress is not None:
                        progress.update(1)
            except VideoError as e:
                errs.append(str(e))
            for f in pending:
                f.result()
            return saved, errs

        try:
            todo = sources()
        except VideoError as e:
            return pd.DataFrame(columns=COLUMNS), [str(e)]
        with ThreadPoolExecutor(min(cores, len(todo))) as pool:
            # the longest parts first, so that no core is left with a long one at the end; results in time order
            futures = {i: pool.submit(run, todo[i][1]) for i in sorted(range(len(todo)), key=lambda i: -todo[i][0])}
            results = [futures[i].result() for i in range(len(todo))]
    errors = next((errs for _, errs in results if errs), [])[:1]  # the earliest problem is the one to report
    if not errors and not any(saved for saved, _ in results):
        errors = [f"{path}: no frame could be read at the requested times (an empty, header-only or too short "
                  "video?): play it to check, re-export it, or ask for times inside it (--start/--end)"]
    rows, last, dropped = [], None, 0
    for saved, _ in results:
        for s in saved:
            if s.time == last:  # a part's last sample and the next part's first can be the same keyframe
                continue
            last = s.time
            if not gate.keep(s.features):
                (out / s.name).unlink(missing_ok=True)
                dropped += 1
                continue
            rows.append((s.name, path.name, int(round(s.time * 1000)), s.index, s.width, s.height, path.stem,
                         s.label))
    df = pd.DataFrame(rows, columns=COLUMNS)
    df.attrs["near_duplicates"] = dropped  # said in the summary: a --dedupe too wide can keep 1 frame of 40
    if not errors:
        done_file.parent.mkdir(parents=True, exist_ok=True)
        with open(done_file, "w") as fh:
            fh.write(f"# {key}\n")
            df.to_csv(fh, index=False)
    return df, errors


def frames(inputs: list[str | Path] | str | Path, out: str | Path, every: str | float | None = None,
           fps: float | None = None, count: int | None = None, start: str | float | None = None,
           end: str | float | None = None, max: int | None = None, keyframes: bool = False, exact: bool = False,
           dedupe: int | None = None, scene: float | None = None, label: str | None = None,
           labels: str | Path | None = None, segments: str | Path | None = None, margin: float = MARGIN,
           fmt: Literal["jpg", "png"] = "jpg", quality: int = 90,
           workers: int = 2, backend: Literal["auto", "pyav", "opencv"] = "auto", progress: bool = PROGRESS, parts: int | None = None) -> pd.DataFrame:
    """Cut frames out of videos into `out`; returns the frames table (also `out/frames.csv`).

    Sampling by time: `every` ("1s" by default), or `fps`, or `count` spread evenly, within `start`..`end`,
    at most `max` per video. `labels` is a CSV video,label that sorts videos into class folders (or one
    `label` for all); `segments` labels stretches of the videos instead (CSV video,start,end,label or Label
    Studio's JSON export): frames are taken only inside them, `margin` seconds clear of each change of label,
    each into its segment's class folder. A second run into the same folder adds its rows to frames.csv (a
    video run again replaces its own rows of the same class folders). `workers` videos run at once; each is cut at keyframes into `parts` stretches decoded
    side by side (default 4 per core; 1 decodes in one pass). Damaged videos are reported, their earlier
    frames kept, and the others processed; the function then raises VideoError listing them.

    Args:
        inputs: video files or folders of videos
        out: output folder
        every: time between frames: 1s (the default when no sampling is given), 500ms, 2m
        fps: frames per second of video time
        count: this many frames per video, spread evenly
        start: start time (e.g. 10s or 00:01:30)
        end: end time
        max: at most this many frames per video
        keyframes: decode keyframes only: fast previews
        exact: decode every frame (default skips unreferenced frames: at most one frame off, much faster)
        dedupe: skip near-duplicates: largest perceptual-hash distance of 64 bits
        scene: keep one frame per scene: histogram distance for a cut
        label: class folder for every frame
        labels: CSV video,label sorting videos into class folders
        segments: labels by time range: CSV video,start,end,label or Label Studio's JSON export
        margin: with segments: seconds kept clear of each boundary where the label changes
        fmt: image format of the frames: jpg or png
        quality: JPEG quality
        workers: videos processed in parallel
        backend: decoder: auto (PyAV, OpenCV as fallback), pyav or opencv
        parts: stretches of one video, cut at keyframes, decoded side by side (default 4 per core; 1 = one pass)
    """
    from tqdm.auto import tqdm

    if sum(x is not None for x in (every, fps, count)) > 1:
        raise InputError("choose one of every, fps and count")
    if fmt not in ("jpg", "png"):
        raise InputError(f"format {fmt!r}: use jpg or png")
    if fps is not None and fps <= 0:
        raise InputError(f"--fps {fps}: frames per second must be positive.")
    step = parse_time(every) if every is not None else (1.0 / fps if fps else (None if count is not None else 1.0))
    sampling = Sampling(every=step, count=count, start=parse_time(start) or 0.0, end=parse_time(end), max=max,
                        keyframes=keyframes, exact=exact)
    if sum(x is not None for x in (label, labels, segments)) > 1:
        raise InputError("choose one of --label (every frame), --labels (a class per video) and --segments "
                         "(classes by time range)")
    check_range("margin", margin, 0, what="seconds")
    files = _video_files([inputs] if isinstance(inputs, (str, Path)) else list(inputs))
    mapping = whole_video_labels(labels, files) if labels is not None else {}
    windows: dict[Path, tuple] = {}
    if segments is not None:  # checked whole before any decoding: a bad row costs nothing
        from .reader import video_info

        rates = {f.name: video_info(f).get("fps") for f in files} if str(segments).lower().endswith(".json") else {}
        table = read_segments(segments, {k: v for k, v in rates.items() if v})
        for f, key in match_videos(table, files, str(segments)).items():
            windows[f] = tuple(segment_windows(table, key, margin))
            if not windows[f]:
                raise InputError(f"{segments}: every segment of {f.name} is shorter than twice --margin "
                                 f"({margin:g} s), so no frame is far enough from a change of label: lower "
                                 "--margin or lengthen the segments.")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    overall = tqdm(total=None, desc="frames", unit="frame", disable=no_bar(progress))
    results, problems = [], []

    def one(f: Path):
        lbl = mapping.get(f.name, mapping.get(f.stem, label)) if mapping else label
        bar = tqdm(desc=f.name, unit="frame", leave=False, disable=no_bar(progress))
        try:
            mine = dataclasses.replace(sampling, windows=windows[f]) if f in windows else sampling
            return extract_video(f, out, mine, lbl, fmt, quality, dedupe, scene, backend, _Both(bar, overall),
                                 parts)
        finally:
            bar.close()

    near_duplicates = 0
    with ThreadPoolExecutor(builtins.max(1, workers)) as pool:
        for f, (df, errs) in zip(files, pool.map(one, files)):
            results.append(df)
            problems += errs
            near_duplicates += df.attrs.get("near_duplicates", 0)
    overall.close()
    table = pd.concat(results, ignore_index=True) if results else pd.DataFrame(columns=COLUMNS)
    table = add_rows(out, table, sampling.start, sampling.end, {f.name for f in windows})
    if problems:  # the other videos' frames are written: a partial failure (exit 1), not a refusal
        raise VideosPartlyRead("; ".join(problems))
    table.attrs.update(near_duplicates=near_duplicates, dedupe=dedupe, scene=scene)
    return table


def whole_video_labels(labels: str | Path, files: list[Path]) -> dict[str, str]:
    """A CSV video,label: each input video's class. Refuses an empty or half-written file, a video given two
    labels (rather than guess which is meant) and input videos without a label."""
    from .segments import check_label, video_key

    path = Path(labels)
    if not path.is_file():
        raise MissingInput(f"{labels}: no such labels file (a CSV video,label)")
    try:
        lab = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise InputError(f"{labels} is empty: write the header video,label and one row per video.") from None
    if {"start", "end"} & set(lab.columns):  # times would be silently ignored: one label per video
        raise InputError(f"{labels} has start/end columns: labels by time range are read by --segments "
                         "(video,start,end,label); --labels gives one label per whole video.")
    if not {"video", "label"} <= set(lab.columns):
        raise InputError(f"{labels}: a labels CSV needs the columns video,label")
    mapping: dict[str, str] = {}
    for i, (v, lbl) in enumerate(zip(lab["video"], lab["label"]), start=2):
        where = f"{labels}, line {i}"
        if not v.strip() or not lbl.strip():
            raise InputError(f"{where}: video or label empty (a half-written row?): fill it in or delete the row.")
        key = video_key(v)
        check_label(lbl, where)
        if mapping.get(key, lbl) != lbl:
            raise InputError(f"{where}: {key} already has the label {mapping[key]!r}; a video has one whole-video "
                             "label (for several classes in one video, label time ranges with --segments).")
        mapping[key] = mapping[Path(key).stem] = lbl
    if not mapping:
        raise InputError(f"{labels} has no rows: add one row video,label per video.")
    unlabelled = [f.name for f in files if f.name not in mapping and f.stem not in mapping]
    if unlabelled:  # it would silently become a class of its own, named after the video
        raise InputError(f"{labels} gives no label for {len(unlabelled)} video(s): {', '.join(unlabelled[:5])}; "
                         "add a row video,label for each (or leave them out of the inputs).")
    return mapping


def add_rows(out: Path, table: pd.DataFrame, start: float = 0.0, end: float | None = None,
             whole: set[str] = frozenset()) -> pd.DataFrame:
    """frames.csv after this run. Earlier runs' rows stay unless this run covered them: the same video and class
    within this run's start..end, or any row of a video in `whole` (run with --segments, which label it all).
    Images of replaced rows that this run did not write again are deleted (they are tamgu's own outputs), so
    the folder and frames.csv agree and check and train never meet a dead path or an orphan image."""
    path = out / "frames.csv"
    if path.exists():
        old = pd.read_csv(path, dtype={"img": str, "label": str, "video": str, "group": str}, keep_default_na=False)
        redone = set(zip(table["video"], table["label"]))
        t = old["time_ms"].to_numpy() / 1000.0
        inside = (t >= start - 1e-6) & (t < (np.inf if end is None else end) + 1e-6)
        covered = np.array([(v, lbl) in redone for v, lbl in zip(old["video"], old["label"])], bool) & inside
        covered |= old["video"].isin(whole).to_numpy()
        for img in set(old.loc[covered, "img"]) - set(table["img"]):
            (out / img).unlink(missing_ok=True)
        old = old[~covered]
        old = old[[(out / p).exists() for p in old["img"]]]
        table = pd.concat([old, table], ignore_index=True)
    write_csv(table, path)
    return table
