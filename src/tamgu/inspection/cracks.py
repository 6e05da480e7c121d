"""`tamgu cracks` and `tamgu cracks eval`: crack masks, measurements and scores, for photos, folders, videos,
cameras and streams (through the frame loop every image tool runs).

    crack_finder(method, model)    BGR image -> crack mask (255 = crack)
    cracks(inputs, out)            per image: NAME_mask.png, NAME_overlay.jpg; DIR/cracks.csv (one row per crack),
                                   DIR/images.csv (one row per image), DIR/cracks.json (settings and totals)
    evaluate_cracks(data)          ridge and U-Net side by side on a labelled crack set: skeleton precision,
                                   recall and F1 within 2 px, false alarms on crack-free images, length error
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import pandas as pd

from ..errors import InputError, check_range
from ..files import write_csv, write_json
from .measure import MIN_LENGTH_PX, TOLERANCE_PX, match_scores, measure, skeleton_match
from ..defaults import ACCELERATOR, PROGRESS

log = logging.getLogger(__name__)

CRACK_COLUMNS = ["img", "frame", "time_s", "crack", "length_px", "mean_width_px", "max_width_px", "orientation_deg",
                 "direction", "x", "y", "w", "h", "area_px"]
MM_COLUMNS = ["length_mm", "mean_width_mm", "max_width_mm"]
OVERLAY = (0, 0, 255)      # BGR red


def crack_finder(method: str | None = None, model: str | Path | None = None, accelerator: str = ACCELERATOR,
                 min_length: float = MIN_LENGTH_PX, views: int | None = None,
                 ) -> tuple[Callable[[np.ndarray], np.ndarray], str, dict]:
    """(finder, method, facts): `ridge` needs nothing; `unet` needs a model file (its threshold is inside) and
    votes over `views` views of each image (default `unet.VIEWS`). The finder's mask holds the cracks at least
    `min_length` px long, as the tables count them."""
    method = method or ("unet" if model else "ridge")
    if method == "ridge":
        from .ridge import HIGH, LOW, ridge_mask

        return (lambda bgr: ridge_mask(bgr, min_length=min_length)), "ridge", {"high": HIGH, "low": LOW}
    if method != "unet":
        raise InputError(f"--method {method}: use ridge (classical, no training) or unet (with --model).")
    if not model:
        raise InputError("--method unet needs --model MODEL.pt: train one with tamgu cracks train --out MODEL.pt "
                         "(or use --method ridge, which needs no training).")
    from .ridge import clean_learned
    from .unet import VIEWS, agreeing, load_crack_model

    views = VIEWS if views is None else int(views)
    agreeing(views)  # a wrong count is refused before the model loads
    m = load_crack_model(model, accelerator, views)
    return (lambda bgr: clean_learned(m(bgr) > m.threshold, min_length)), "unet", {
        "model": str(model), "encoder": m.meta["encoder"], "threshold": m.threshold,
        "views": views, "agreeing": agreeing(views), "trained_on": m.meta.get("trained_on")}


def overlay(bgr: np.ndarray, mask: np.ndarray, rows: list[dict]) -> np.ndarray:
    """The image with its cracks in red and each numbered with its length."""
    out = bgr.copy()
    red = np.zeros_like(out)
    red[:] = OVERLAY
    on = mask > 0
    out[on] = cv2.addWeighted(out, 0.35, red, 0.65, 0)[on]
    scale = max(0.35, min(out.shape[:2]) / 700)
    for r in rows:
        text = f"#{r['crack']} {r['length_mm']:.0f}mm" if "length_mm" in r else f"#{r['crack']} {r['length_px']:.0f}px"
        org = (int(r["x"]), max(12, int(r["y"]) - 3))
        cv2.putText(out, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(out, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def image_summary(rows: list[dict], mm_per_px: float | None) -> dict:
    s = {"cracks": len(rows), "total_length_px": round(sum(r["length_px"] for r in rows), 1),
         "widest_px": max((r["max_width_px"] for r in rows), default=0.0)}
    if mm_per_px:
        s.update(total_length_mm=round(s["total_length_px"] * mm_per_px, 2), widest_mm=round(s["widest_px"] * mm_per_px, 3))
    return s


def cracks(inputs, out: str | Path, method: Literal["ridge", "unet"] | None = None, model: str | Path | None = None,
           mm_per_px: float | None = None, min_length: float = MIN_LENGTH_PX, every: float | None = None,
           dedupe: int | None = 4, views: int | None = None, **options) -> pd.DataFrame:
    """`tamgu cracks INPUT... --out DIR`: crack masks and measurements of photos, folders, videos, cameras and
    streams. Per image (or analysed video frame): NAME_mask.png (255 = crack, the input's size) and
    NAME_overlay.jpg; DIR/cracks.csv one row per crack (length, mean and max width, orientation, box; mm with
    --mm-per-px), DIR/images.csv one row per image (cracks, total length, widest), DIR/cracks.json the settings.
    Returns the crack table (its `attrs["images"]` is the per-image one). `tamgu report DIR` shows it as a page.

    Args:
        inputs: photos, folders, videos, a camera (0, /dev/video0) or a stream URL
        out: output folder
        method: ridge (classical, no training) or unet (needs --model); default: unet with --model, else ridge
        model: a model written by tamgu cracks train
        mm_per_px: millimetres per pixel on the surface, for lengths and widths in mm
        min_length: shortest crack reported, px
        every: videos and cameras: analyse a frame at most every this many seconds (a camera moving along a wall)
        dedupe: videos and cameras: skip a frame whose perceptual hash is this close to the last analysed one
            (0 to 64 bits; 0 keeps every frame)
        views: unet: views of each image it votes over, 1, 2, 4 or 8 (default 8: every flip and quarter turn,
            three quarters agreeing; fewer is faster and raises more false alarms)
    """
    from ..runtime import set_threads
    from ..video.frames import Dedupe
    from ..video.stream import Media, Output, frame_file, frame_options, media_inputs, run_tool

    opts = frame_options(options, "cracks", "cracks")
    if mm_per_px is not None and not mm_per_px > 0:
        raise InputError(f"--mm-per-px {mm_per_px}: give the millimetres one pixel spans on the surface (> 0).")
    check_range("min_length", min_length, 0, what="a length in pixels")
    check_range("every", every, 0, what="seconds between analysed frames")
    check_range("dedupe", dedupe, 0, 64, what="a hash distance in bits")
    items = media_inputs(inputs)  # every input checked before the model loads
    set_threads(opts.threads)
    find, method, facts = crack_finder(method, model, opts.accelerator, min_length, views)
    out = Path(out)
    per_image: list[dict] = []
    state: dict[str, tuple[float, Dedupe]] = {}
    skipped = {"every": 0, "dedupe": 0}

    def tool(item: Media, fr) -> Output:
        if item.is_video:
            last, dd = state.setdefault(item.spec, (-np.inf, Dedupe(threshold=dedupe or None)))
            if every and fr.time - last < every:
                skipped["every"] += 1
                return Output(analysed=False)
            if dedupe and not dd.keep(dd.features(fr.image)):
                skipped["dedupe"] += 1
                return Output(analysed=False)
            state[item.spec] = (fr.time, dd)
        mask = find(fr.image)  # holds what the table counts
        rows = measure(mask, mm_per_px)
        shown = overlay(fr.image, mask, rows)
        mask_file, overlay_file = frame_file(item, fr, "mask", ".png"), frame_file(item, fr, "overlay", ".jpg")
        per_image.append({"img": item.name, "frame": fr.index, "time_s": round(float(fr.time), 3),
                          **image_summary(rows, mm_per_px), "mask": mask_file, "overlay": overlay_file})
        return Output(rows, {mask_file: mask, overlay_file: shown}, shown)

    def done(state) -> pd.DataFrame:
        table = pd.DataFrame(state.rows, columns=CRACK_COLUMNS + (MM_COLUMNS if mm_per_px else []))
        images = pd.DataFrame(per_image)
        write_csv(table, out / "cracks.csv")
        write_csv(images, out / "images.csv")
        write_json({"tool": "cracks", "method": method, **facts, "mm_per_px": mm_per_px, "min_length_px": min_length,
                    "every_s": every, "dedupe": dedupe, "skipped_frames": skipped, "inputs": len(items),
                    "images": len(images), "cracks": len(table), "interrupted": state.interrupted,
                    "errors": state.errors}, out / "cracks.json")
        table.attrs.update(images=images, errors=state.errors, summaries=state.summaries,
                           interrupted=state.interrupted, method=method, skipped=skipped, files=len(items))
        return table

    return run_tool(items, tool, out, f"cracks ({method})", opts, done, video_name="{stem}_overlay.mp4")


def _add_options_doc() -> None:
    from ..video.stream import options_doc

    cracks.__doc__ += options_doc("cracks")


_add_options_doc()


def evaluate_cracks(data: str | Path, model: str | Path | None = None, methods: list[str] | None = None,
                    out: str | Path | None = None, tolerance: float = TOLERANCE_PX, views: int | None = None,
                    accelerator: str = ACCELERATOR, progress: bool = PROGRESS) -> pd.DataFrame:
    """`tamgu cracks eval DIR`: each method against a labelled crack set (DIR/images, DIR/masks), one row per
    image and method: skeleton precision, recall and F1 within `tolerance` px, true and predicted length, and
    on crack-free images whether anything was reported (a false alarm). `attrs["summary"]` pools them per method.

    Args:
        data: a crack set: images/ and masks/ with the same stems (CRACK500, DeepCrack, tamgu synth-cracks)
        model: a model from tamgu cracks train (adds unet)
        methods: comma-separated, of ridge and unet (default: ridge, and unet with --model)
        out: folder for eval.csv, summary.csv and a picture of the worst images
        tolerance: px a predicted skeleton may be off and still count
        views: unet: views of each image it votes over, 1, 2, 4 or 8 (default 8, as tamgu cracks)
        accelerator: unet: cpu, gpu, mps or auto
    """
    from tqdm.auto import tqdm

    from ..files import no_bar
    from .data import read_crack_set, read_pair

    pairs = read_crack_set(data)
    methods = list(methods) if methods else (["ridge", "unet"] if model else ["ridge"])
    finders = {m: crack_finder(m, model, accelerator, views=views)[0] for m in methods}  # as `tamgu cracks` reports
    rows = []
    for p in tqdm(pairs, desc="cracks eval", disable=no_bar(progress)):
        img, true = read_pair(p)
        true_len = sum(r["length_px"] for r in measure(true))
        for m, find in finders.items():
            pred = find(img)
            c = skeleton_match(pred, true, tolerance)
            pred_len = sum(r["length_px"] for r in measure(pred))
            rows.append({"image": p.name, "method": m, **c, **match_scores(c), "true_length_px": round(true_len, 1),
                         "pred_length_px": round(pred_len, 1), "crack_free": not true.any(),
                         "false_alarm": bool(not true.any() and pred_len > 0)})
    table = pd.DataFrame(rows)
    table.attrs["summary"] = summary = eval_summary(table)
    if out is not None:
        out = Path(out)
        write_csv(table, out / "eval.csv")
        write_csv(summary, out / "summary.csv")
    return table


def eval_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per method: pooled skeleton precision, recall, F1; false-alarm rate on crack-free images; median relative
    length error on images with cracks."""
    out = []
    for m, g in table.groupby("method", sort=False):
        counts = g[["pred_px", "pred_hit", "true_px", "true_hit"]].sum().to_dict()
        cracked = g[~g["crack_free"]]
        err = ((cracked["pred_length_px"] - cracked["true_length_px"]).abs() / cracked["true_length_px"]).median()
        free = g[g["crack_free"]]
        out.append({"method": m, **{k: round(v, 4) for k, v in match_scores(counts).items()},
                    "false_alarms": f"{int(free['false_alarm'].sum())}/{len(free)}",
                    "false_alarm_rate": round(float(free["false_alarm"].mean()), 4) if len(free) else float("nan"),
                    "length_error": round(float(err), 4) if len(cracked) else float("nan"), "images": len(g)})
    return pd.DataFrame(out)
