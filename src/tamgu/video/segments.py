"""Labels by time range: which stretch of which video shows which class.

    video,start,end,label
    drive01.mp4,0,12.5,c0
    drive01.mp4,00:00:12.500,00:00:20,c3

`tamgu frames VIDEO... --segments LABELS` reads a CSV like this (times in seconds, `500ms`/`1m30s`, or
`hh:mm:ss.mmm`) or Label Studio's JSON export of a video project labelled with `<TimelineLabels>` (ranges in
frames), checks the whole file before any decoding, and samples frames only inside the segments, keeping
`margin` seconds away from each boundary where the label changes (the frames there are ambiguous).
`tamgu label` writes the same CSV.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import InputError, MissingInput

COLUMNS = ["video", "start", "end", "label"]
MARGIN = 0.25  # seconds kept clear of a boundary where the label changes
# characters no folder name may hold on Windows, macOS or Linux (a label becomes a class folder)
_BAD_NAME = re.compile(r'[<>:"/\\|?*\x00-\x1f]')
# Label Studio stores an uploaded file as /data/upload/<project>/<8 hex>-<original name>
_LS_PREFIX = re.compile(r"^[0-9a-f]{8}-")


@dataclass(frozen=True)
class Window:
    """Frames are taken in [start, end) (seconds), all labelled `label`."""
    start: float
    end: float
    label: str


def check_label(label: str, where: str) -> str:
    """A label is a class folder's name: refuse what no file system can hold, naming the row."""
    text = str(label)
    if not text.strip() or text != text.strip() or text in (".", "..") or _BAD_NAME.search(text) or text.endswith("."):
        raise InputError(f"{where}: label {label!r} cannot be a folder name (it becomes the class folder): use "
                         "letters, digits, '-' or '_', without / \\ : * ? \" < > | or spaces at either end.")
    return text


def video_key(name: str) -> str:
    """The file name a row refers to: a path's last part, without Label Studio's upload prefix."""
    base = Path(str(name).replace("\\", "/").split("?")[0]).name
    return _LS_PREFIX.sub("", base)


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
        raise InputError(f"time {value!r} is not a duration: write 1.5, 500ms, 2s, 1m30s or 00:01:30")
    return sum(float(n) * units[u] for n, u in tokens)


def _time(value, where: str, what: str) -> float:
    try:
        t = parse_time(value)
    except (InputError, ValueError):
        t = None
    if t is None or t != t or t < 0:
        raise InputError(f"{where}: {what} {value!r} is not a time: write seconds (12.5), 1m30s or 00:01:30.500.")
    return t


def read_segments(path: str | Path, fps: dict[str, float] | None = None) -> pd.DataFrame:
    """The segments of a labels file (CSV or Label Studio JSON) as a table video,start,end,label (seconds),
    checked: no empty or half-written rows, no inverted or overlapping segments, labels that are folder names.

    `fps`: frames per second of each video by file name, for Label Studio's ranges in frames (its export holds
    the frame rate only when the project's config is included)."""
    path = Path(path)
    if not path.is_file():
        raise MissingInput(f"{path}: no such labels file (a CSV video,start,end,label or Label Studio's JSON export)")
    if path.stat().st_size == 0:
        raise InputError(f"{path} is empty: write the header video,start,end,label and one row per segment.")
    if path.suffix.lower() == ".json":
        table = _label_studio(path, fps or {})
    else:
        table = _csv(path)
    if table.empty:
        raise InputError(f"{path} has no segments: add one row video,start,end,label per stretch of video.")
    return check_segments(table, str(path))


def _csv(path: Path) -> pd.DataFrame:
    try:
        raw = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise InputError(f"{path} is not a readable CSV ({e}): save it as UTF-8 CSV with video,start,end,label.")
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        raise InputError(f"{path}: a segments file needs the columns video,start,end,label; {', '.join(missing)} "
                         f"missing (it has {', '.join(map(str, raw.columns))}). A whole-video CSV video,label goes "
                         "to --labels instead.")
    rows = []
    for i, r in enumerate(raw[COLUMNS].itertuples(index=False), start=2):  # line 1 is the header
        where = f"{path}, line {i}"
        empty = [c for c, v in zip(COLUMNS, r) if not str(v).strip()]
        if empty:
            raise InputError(f"{where}: {', '.join(empty)} empty (a half-written row?): fill it in or delete the row.")
        rows.append((video_key(r.video), _time(r.start, where, "start"), _time(r.end, where, "end"),
                     check_label(r.label, where), where))
    return pd.DataFrame(rows, columns=[*COLUMNS, "where"])


def _label_studio(path: Path, fps: dict[str, float]) -> pd.DataFrame:
    """Label Studio's JSON export: a list of tasks, each {data: {video: ...}, annotations: [{result: [...]}]};
    a result of type "timelinelabels" holds value.ranges [{start, end}] in frames (1-based, inclusive) and
    value.timelinelabels [label]. A single-annotation file (annotation + task + project) is read too."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{path} is not valid JSON ({e}): export again from Label Studio (Export > JSON); a file "
                         "cut short by a failed download looks like this.")
    if isinstance(doc, dict) and "task" in doc and "annotation" in doc:  # one annotation, as webhooks send it
        config = (doc.get("project") or {}).get("label_config", "")
        doc = [{**doc["task"], "annotations": [doc["annotation"]], "_config": config}]
    if not isinstance(doc, list):
        raise InputError(f"{path}: Label Studio's JSON export is a list of tasks; this file is not one. Export the "
                         "project with Export > JSON.")
    rows = []
    for n, task in enumerate(doc, start=1):
        data = task.get("data") or {}
        video = next((v for v in data.values() if isinstance(v, str) and Path(v.split("?")[0]).suffix), None)
        if video is None:
            raise InputError(f"{path}, task {n}: no video file in its data ({data}).")
        key = video_key(video)
        rate = _config_rate(task.get("_config", "")) or fps.get(key)
        for a, ann in enumerate(task.get("annotations") or [], start=1):
            if ann.get("was_cancelled"):
                continue
            for res in ann.get("result") or []:
                if res.get("type") != "timelinelabels":
                    continue
                where = f"{path}, task {n} ({key}), annotation {a}, region {res.get('id', '?')}"
                value = res.get("value") or {}
                labels = value.get("timelinelabels") or []
                if len(labels) != 1:
                    raise InputError(f"{where}: {len(labels)} labels on one range; tamgu needs exactly one class "
                                     "per stretch (make the TimelineLabels single-choice).")
                if rate is None:
                    raise InputError(f"{where}: ranges are in frames and the frame rate of {key} is unknown: give "
                                     "the video among the inputs (its own rate is read) or export with the project "
                                     "config (<Video frameRate=...>).")
                for rg in value.get("ranges") or []:
                    start, end = rg.get("start"), rg.get("end")
                    if not isinstance(start, (int, float)) or not isinstance(end, (int, float)):
                        raise InputError(f"{where}: a range without numeric start/end frames ({rg}).")
                    # frames are 1-based and inclusive: frame s starts at (s-1)/fps, frame e ends at e/fps
                    rows.append((key, (start - 1) / rate, end / rate, check_label(labels[0], where), where))
    return pd.DataFrame(rows, columns=[*COLUMNS, "where"])


def _config_rate(config: str) -> float | None:
    m = re.search(r"<Video\b[^>]*\bframe[Rr]ate=\"([\d.]+)\"", config or "")
    return float(m.group(1)) if m else None


def check_segments(table: pd.DataFrame, source: str = "segments") -> pd.DataFrame:
    """Refuse inverted and overlapping segments, naming the rows; returns video,start,end,label sorted."""
    if "where" not in table:
        table = table.assign(where=[f"{source}, row {i + 1}" for i in range(len(table))])
    bad = table[table["end"] <= table["start"]]
    if len(bad):
        r = bad.iloc[0]
        raise InputError(f"{r['where']}: the segment ends ({r['end']:g} s) before it starts ({r['start']:g} s): swap "
                         "start and end, or delete the row.")
    table = table.sort_values(["video", "start", "end"], kind="stable").reset_index(drop=True)
    for _, g in table.groupby("video", sort=False):
        prev = None
        for _, r in g.iterrows():
            if prev is not None and r["start"] < prev["end"] - 1e-6:
                if r["label"] == prev["label"]:  # the same class twice over one stretch: one longer segment
                    prev = prev.copy()
                    prev["end"] = max(prev["end"], r["end"])
                    continue
                raise InputError(f"{r['where']} ({r['label']} from {r['start']:g} s) overlaps {prev['where']} "
                                 f"({prev['label']} until {prev['end']:g} s): one moment has one class; move a "
                                 "boundary so that they meet.")
            prev = r
    return table[COLUMNS + ["where"]]


def windows(table: pd.DataFrame, video: str, margin: float = MARGIN) -> list[Window]:
    """The stretches of `video` frames are taken from: each segment less `margin` at every boundary where
    the label changes (to another class or to unlabelled time); segments of one class that meet join."""
    rows = table[table["video"] == video].sort_values("start")
    merged: list[list] = []
    for r in rows.itertuples(index=False):
        if merged and merged[-1][2] == r.label and r.start <= merged[-1][1] + 1e-6:
            merged[-1][1] = max(merged[-1][1], r.end)
        else:
            merged.append([r.start, r.end, r.label])
    out = []
    for start, end, label in merged:
        lo = start + margin if start > 0 else start  # the video's own beginning is no change of label
        hi = end - margin
        if hi > lo:
            out.append(Window(lo, hi, label))
    return out


def match_videos(table: pd.DataFrame, files: list[Path], source: str) -> dict[Path, str]:
    """Each input video's key in `table` (by file name, or by stem); refuse rows naming no input video and
    input videos without segments, so that nothing is silently dropped or mislabelled."""
    names = {f.name: f for f in files} | {f.stem: f for f in files}
    keys = set(table["video"])
    unknown = sorted(k for k in keys if k not in names and Path(k).stem not in names)
    if unknown:
        where = table.loc[table["video"] == unknown[0], "where"].iloc[0]
        raise InputError(f"{where}: video {unknown[0]!r} is not among the inputs ({len(unknown)} such: "
                         f"{', '.join(unknown[:5])}); give it as an input or fix the name.")
    found = {}
    for f in files:
        key = next((k for k in (f.name, f.stem) if k in keys), None) or \
            next((k for k in keys if Path(k).stem == f.stem), None)
        if key is not None:
            found[f] = key
    missing = [f.name for f in files if f not in found]
    if missing:
        raise InputError(f"{source} has no segments for {len(missing)} input video(s): {', '.join(missing[:5])}; "
                         "label them (tamgu label) or leave them out of the inputs.")
    return found
