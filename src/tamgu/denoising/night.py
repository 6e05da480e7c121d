"""Night shots from bursts: read a burst, merge it (RAW or developed), develop once, and judge it.

    tamgu denoise BURST_DIR --method burst --out night/                # RAW merged, then developed
    tamgu denoise BURST_DIR --method burst --space srgb --out night/   # each frame developed, then merged
    tamgu denoise IMG_0001.dng --method n2n --space raw --model raw.pt --out night/
    tamgu denoise eval-raw --out eval/       # every way side by side, three lights (`night_eval`)

A burst is a folder of RAW files (DNG or camera RAW; or 16-bit mosaics with raw.json), a folder of developed
photos, or a video (its first `frames` frames). RAW frames are merged in linear space unless `--space srgb`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Literal, Sequence

import numpy as np
import pandas as pd

from ..errors import InputError, MissingInput
from ..files import IMAGE_EXTS, VIDEO_EXTS, write_csv, write_image
from .noise import to_float, to_uint8
from .raw import RawFrame, auto_gain, develop, is_raw, read_raw, with_gain

BURST_FRAMES = 8


def _jpeg(img: np.ndarray) -> np.ndarray:
    """What a camera stores of a developed frame: 8 bits, clipped."""
    return to_float(to_uint8(img))


def read_burst(source: str | Path, frames: int = BURST_FRAMES) -> tuple[list[np.ndarray], object, list[str]]:
    """A burst's frames: (RAW planes and their RawMeta) or (developed float RGB images and None), with names.

    Refuses a folder with fewer than two frames, frames that differ in size, RAW mixed with developed images,
    and RAW files without black/white levels (`raw.read_raw`)."""
    src = Path(source)
    if not src.exists():
        raise MissingInput(f"{src}: no such burst (a folder of RAW files or photos, or a video)")
    if src.is_file() and src.suffix.lower() in VIDEO_EXTS:
        from ..video.reader import iter_frames

        imgs, names = [], []
        for fr in iter_frames(src, fmt="rgb24"):
            imgs.append(to_float(fr.image))
            names.append(f"{src.name}#{len(imgs) - 1}")
            if len(imgs) >= frames:
                break
        files = names
    else:
        files = sorted(f for f in src.iterdir() if f.is_file() and (is_raw(f) or f.suffix.lower() in IMAGE_EXTS)
                       and f.name != "truth.png") if src.is_dir() else [src]
        files = files[:frames]
        raws = [f for f in files if is_raw(f)]
        if raws and len(raws) != len(files):
            raise InputError(f"{src}: {len(raws)} RAW file(s) and {len(files) - len(raws)} developed photo(s): a burst "
                             "is one kind (move truth or preview images out of the folder)")
        imgs = None
        if raws:
            loaded: list[RawFrame] = [read_raw(f) for f in raws]
            meta = loaded[0].meta
            for f, fr in zip(raws, loaded):
                if fr.meta.pattern != meta.pattern:
                    raise InputError(f"{f}: Bayer pattern {fr.meta.pattern}, the first frame's is {meta.pattern}: "
                                     "one camera's frames only")
            imgs = [fr.planes for fr in loaded]
        else:
            from ..files import read_image

            imgs = []
            for f in files:
                im = read_image(str(f))
                if im is None:
                    raise InputError(f"{f}: not a readable image")
                imgs.append(to_float(np.ascontiguousarray(im[..., ::-1]) if im.ndim == 3 else np.repeat(im[..., None], 3, -1)))
        names = [Path(f).name for f in files]
    if len(imgs) < 2:
        raise InputError(f"{src}: {len(imgs)} frame(s); a burst needs at least two captures of the scene "
                         "(8 is typical: `tamgu denoise simulate` makes some)")
    for name, im in zip(names[1:], imgs[1:]):
        if im.shape != imgs[0].shape:
            raise InputError(f"{src}: {name} is {_size(im)}, {names[0]} is {_size(imgs[0])}: a burst's frames are "
                             "all one size (same camera, same mode)")
    if src.is_dir() and is_raw(Path(files[0])):  # meta: the first RAW frame's, read above
        info = src / "burst.json"  # the simulator's record: the exposure gain the scene was shot for
        gain = json.loads(info.read_text()).get("gain") if info.is_file() else None
        meta = with_gain(meta, gain if gain else auto_gain(imgs[0], meta))
        return imgs, meta, names
    return imgs, None, names


def _size(im: np.ndarray) -> str:
    h, w = im.shape[:2]
    return f"{w * 2}x{h * 2}" if im.shape[-1] == 4 else f"{w}x{h}"


def night(frames: list[np.ndarray], meta, space: str = "auto", model=None, spatial: bool = True) -> dict:
    """Merge a burst read by `read_burst` and develop it: {'image': sRGB float, 'frames_used', 'aligned', 'space'}.

    With `model` (a RAW denoiser), the network replaces the spatial pass; a single frame (len 1) is only denoised."""
    from . import burst as B

    if space == "auto":
        space = "raw" if meta is not None else "srgb"
    if space == "raw" and meta is None:
        raise InputError("--space raw needs RAW frames (DNG, camera RAW, or 16-bit mosaics with raw.json): these are "
                         "developed images, whose RAW is gone; use --space srgb")
    if space == "srgb" and meta is not None:
        frames = [_jpeg(develop(f, meta)) for f in frames]
    if len(frames) > 1:
        m = B.merge(frames)
        img, used, aligned = m.image, m.frames_used, int(sum(m.aligned))
        noise = m.noise
    else:
        img, used, aligned, noise = frames[0], np.ones(frames[0].shape[:2], np.float32), 1, None
    if model is not None:
        if space != "raw":
            raise InputError("a RAW denoiser works on RAW frames: use --space raw")
        from .rawnet import denoise_planes
        from .unet import load_denoiser

        net = load_denoiser(model) if isinstance(model, (str, Path)) else model
        profile = meta.noise or B.profile_of(noise, img)
        img = denoise_planes(net, img, profile, meta.gain, float(np.median(used)))
    elif spatial:
        if noise is None:
            raise InputError("a single frame has no second capture to measure its noise: give a burst, or a RAW "
                             "denoiser (--model)")
        img = B.spatial(img, noise, used)
    out = develop(img, meta) if space == "raw" else np.clip(img, 0, 1)
    return {"image": out, "frames_used": float(np.median(used)), "aligned": aligned, "space": space}


def denoise_bursts(inputs, out: str | Path, space: str = "auto", model: str | Path | None = None,
                   frames: int = BURST_FRAMES) -> pd.DataFrame:
    """`tamgu denoise --method burst` (and `--method n2n --space raw`): each input is a burst (or one RAW file);
    OUT/<name>.png is its night shot, OUT/denoise.csv the table (file, output, kind, frames, aligned,
    frames_used, space, seconds, error)."""
    out = Path(out)
    items = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
    if not items:
        raise InputError("no burst given: name a folder of RAW files, a folder of photos or a video")
    rows = []
    for item in items:
        t0 = time.perf_counter()
        row = {"file": str(item), "output": "", "kind": "burst", "frames": 0, "aligned": 0, "frames_used": None,
               "space": space, "seconds": None, "error": ""}
        try:
            p = Path(item)
            if p.is_file() and is_raw(p):  # one RAW file: denoised by the model alone
                fr = read_raw(p)
                imgs, meta, names = [fr.planes], with_gain(fr.meta, auto_gain(fr.planes, fr.meta)), [p.name]
                if model is None:
                    raise InputError(f"{p}: one RAW file is denoised by a RAW model (--model, from `tamgu denoise "
                                     "train --space raw`); a burst is a folder of frames")
                row["kind"] = "raw"
            else:
                imgs, meta, names = read_burst(p, frames)
            res = night(imgs, meta, space, model)
            target = out / f"{p.stem if p.is_file() else p.name}.png"
            out.mkdir(parents=True, exist_ok=True)
            write_image(to_uint8(res["image"])[..., ::-1].copy(), target)
            row.update(output=str(target), frames=len(imgs), aligned=res["aligned"],
                       frames_used=round(res["frames_used"], 2), space=res["space"])
        except InputError as e:
            if len(items) == 1:
                raise
            row["error"] = str(e)
        row["seconds"] = round(time.perf_counter() - t0, 2)
        rows.append(row)
    table = pd.DataFrame(rows)
    write_csv(table, out / "denoise.csv")
    return table
