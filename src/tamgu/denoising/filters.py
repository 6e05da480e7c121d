"""Denoising images, folders and videos with classical filters, BM3D or a trained Noise2Noise U-Net.

    tamgu denoise photo.jpg frames/ clip.mp4 --out clean/ --method nlm
    tamgu denoise train --out n2n.pt                  # Noise2Noise on scikit-image photos, synthetic noise
    tamgu denoise eval --noise gaussian:25 --out eval/ # every method, PSNR/SSIM/time, side-by-side picture

Every method takes the noise sigma (0..255 units; estimated from the image when not given) and a
`strength` multiplier of its default setting.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable, Literal

import cv2
import numpy as np
import pandas as pd

from ..errors import InputError, SetupError
from ..reports.figures import finish
from ..files import list_inputs, write_csv, no_bar
from .noise import NoiseSpec, estimate_sigma, psnr, ssim, to_float, to_uint8
from ..defaults import PROGRESS

log = logging.getLogger(__name__)



NLM_COLOUR = 0.7  # OpenCV's colour NLM filter strength per unit of noise sigma


def _nlm(img: np.ndarray, sigma: float, strength: float) -> np.ndarray:
    u8 = to_uint8(img)
    if u8.ndim == 2:
        h = sigma * strength  # h = sigma: OpenCV NLM at its best for grey Gaussian noise (camera, sigma 25: 28.5 dB)
        out = cv2.fastNlMeansDenoising(u8, None, h=h, templateWindowSize=7, searchWindowSize=21)
    else:
        # colour: h = hColor = 0.7 sigma (h = sigma over-smoothed: 25.4 dB against 26.4 at sigma 25, 0.7 also best
        # at 40, measured on astronaut, coffee and chelsea at 320x240; benchmarks/video_denoise.py)
        h = NLM_COLOUR * sigma * strength
        bgr = cv2.cvtColor(u8, cv2.COLOR_RGB2BGR)
        out = cv2.cvtColor(cv2.fastNlMeansDenoisingColored(bgr, None, h, h, 7, 21), cv2.COLOR_BGR2RGB)
    return to_float(out)


def _bilateral(img: np.ndarray, sigma: float, strength: float) -> np.ndarray:
    return cv2.bilateralFilter(img.astype(np.float32), d=7, sigmaColor=2.5 * sigma / 255 * strength, sigmaSpace=3)


def _median(img: np.ndarray, sigma: float, strength: float) -> np.ndarray:
    k = 3 if sigma * strength < 30 else 5
    return to_float(cv2.medianBlur(to_uint8(img), k))


def _gaussian(img: np.ndarray, sigma: float, strength: float) -> np.ndarray:
    return cv2.GaussianBlur(img.astype(np.float32), (0, 0), sigmaX=max(0.3, 0.04 * sigma * strength))


def _tv(img: np.ndarray, sigma: float, strength: float) -> np.ndarray:
    from skimage.restoration import denoise_tv_chambolle

    return denoise_tv_chambolle(img, weight=0.85 * sigma / 255 * strength, channel_axis=-1 if img.ndim == 3 else None)


def _wavelet(img: np.ndarray, sigma: float, strength: float) -> np.ndarray:
    from skimage.restoration import denoise_wavelet

    return denoise_wavelet(img, sigma=sigma / 255 * strength, method="BayesShrink", mode="soft", rescale_sigma=True,
                           channel_axis=-1 if img.ndim == 3 else None)


def _bm3d(img: np.ndarray, sigma: float, strength: float) -> np.ndarray:
    try:
        import bm3d
    except ImportError:
        raise SetupError("bm3d is an optional extra (non-commercial licence): pip install 'tamgu[bm3d]'") from None
    s = sigma / 255 * strength
    return bm3d.bm3d_rgb(img, s) if img.ndim == 3 else bm3d.bm3d(img, s)


METHODS: dict[str, Callable[[np.ndarray, float, float], np.ndarray]] = {
    "nlm": _nlm, "bilateral": _bilateral, "median": _median, "gaussian": _gaussian, "tv": _tv,
    "wavelet": _wavelet, "bm3d": _bm3d,
}


def available_methods(model: str | Path | None = None) -> list[str]:
    names = [m for m in METHODS if m != "bm3d"]
    try:
        import bm3d  # noqa: F401

        names.append("bm3d")
    except ImportError:
        pass
    if model:
        names.append("n2n")
    return names


def denoise_image(img: np.ndarray, method: str = "nlm", sigma: float | None = None, strength: float = 1.0,
                  model=None) -> np.ndarray:
    """Denoise one image (uint8 or float 0..1, grey or RGB); returns the same dtype as given.

    `model` is a path or a loaded U-Net for method "n2n"; `sigma` (0..255) is estimated when None.
    """
    f = to_float(img)
    if method == "n2n":
        from .n2n import apply, load_denoiser

        if model is None:
            raise InputError("method n2n needs --model PATH (train one with `tamgu denoise train`)")
        net = load_denoiser(model) if isinstance(model, (str, Path)) else model
        trained = getattr(net, "meta", {}).get("space")
        if trained == "raw":
            raise InputError("this model denoises RAW sensor data: use it with --space raw on RAW files")
        if trained == "srgb":  # trained on developed colour frames: all three channels at once
            from .rawnet import apply_net

            out = apply_net(net, f if f.ndim == 3 else np.repeat(f[..., None], 3, -1))
        else:
            out = apply(net, f)
    elif method in METHODS:
        s = estimate_sigma(f) if sigma is None else float(sigma)
        out = METHODS[method](f, max(s, 1e-3), strength)
    else:
        raise InputError(f"unknown method {method!r}: use one of {', '.join(list(METHODS) + ['n2n'])}")
    out = np.clip(out, 0, 1).astype(np.float32)
    return to_uint8(out) if img.dtype == np.uint8 else out




def denoise(inputs, out: str | Path,
            method: Literal["nlm", "bilateral", "median", "gaussian", "tv", "wavelet", "bm3d", "n2n", "temporal",
                            "burst"] = "nlm",
            sigma: float | None = None, strength: float = 1.0, model: str | Path | None = None,
            speckle: bool = False, space: Literal["auto", "raw", "srgb"] = "auto", **options) -> pd.DataFrame:
    """Denoise photos, folders, videos, cameras and streams into `out` (same names; videos become .mp4 with
    their sound kept when MP4 can carry it).

    `temporal` (videos) averages each pixel over the frames before it, moved by optical flow, then smooths
    lightly: real time on a CPU and better than any per-frame filter on video (docs/benchmarks.md). The
    other methods filter each frame alone. The noise sigma is estimated once per video (on its first frame
    with any detail) and per photo. Returns a table, one row per input: file, output, kind, frames, sigma,
    seconds, fps, latency_ms, audio, error; an unreadable input is reported (`error`) and skipped.

    Args:
        inputs: photos, folders, videos, a camera (0, /dev/video0) or a stream URL
        out: output folder (same file names; videos become .mp4)
        method: temporal (videos), nlm, bilateral, median, gaussian, tv, wavelet, bm3d or n2n
        sigma: noise sigma in 0..255 units (default: estimated)
        strength: multiplies the method's default setting (positive)
        model: trained Noise2Noise model (.pt) for --method n2n
        speckle: temporal: the noise is multiplicative (speckle: ultrasound, radar, some endoscopes)
        space: burst and RAW: raw merges (or denoises) the linear sensor data and develops once; srgb develops
            each frame first; auto = raw for RAW files
    """
    from ..runtime import set_threads
    from ..video.stream import Output, frame_file, frame_options, media_inputs, run_tool
    from ..video.writer import add_audio
    from .noise import estimate_sigma
    from .temporal import TemporalDenoiser

    if method == "burst" or (method == "n2n" and space == "raw"):
        # a burst (folder or video) is one scene, merged; a RAW file is developed once: not a frame stream
        from .night import denoise_bursts

        return denoise_bursts(inputs, out, space, model)
    if space == "raw":
        raise InputError("--space raw is for --method burst (a folder of RAW frames) or --method n2n with a RAW model")
    if not strength > 0:
        raise InputError(f"--strength {strength}: it multiplies the method's setting, so it must be positive "
                         "(1 = the default, 0.5 gentler, 2 stronger).")
    if sigma is not None and not sigma > 0:
        raise InputError(f"--sigma {sigma}: a noise level is positive, in 0..255 units (leave it out to estimate it).")
    opts = frame_options(options, "denoise", "denoise")
    frame_images = opts.frame_images
    if method == "n2n" and not model:  # refused once, before any input opens, not once per file
        raise InputError("--method n2n needs --model PATH (train one with `tamgu denoise train --out PATH`).")
    set_threads(opts.threads)
    items = media_inputs(inputs)
    # warm up before a live source opens (scikit-image's estimator takes a second to import): a camera's first
    # seconds are not lost to it
    estimate_sigma(np.random.default_rng(0).integers(0, 255, (16, 16, 3), dtype=np.uint8))
    if method == "temporal" and not any(i.is_video for i in items):
        raise InputError("--method temporal averages over the frames of a video; for photos use nlm, gaussian, "
                         "... or n2n.")
    out = Path(out)
    net = None
    if method == "n2n":
        from .n2n import load_denoiser

        net = load_denoiser(model) if model else None
    state: dict = {"item": None}
    sigmas: dict[str, float] = {}  # input -> the sigma used

    def tool(item, fr) -> Output:
        rgb = fr.image[..., ::-1]
        if state["item"] is not item:  # a new input: its own noise level and temporal state
            state.update(item=item, sigma=sigma, temporal=None)
            if method == "temporal":
                if not item.is_video:
                    raise InputError("--method temporal needs a video; this is a photo")
                state["temporal"] = TemporalDenoiser(sigma, speckle=speckle)
        if method == "temporal":
            clean = state["temporal"](fr.image)
            state["sigma"] = state["temporal"].sigma_used * (255 if speckle and sigma is None else 1)
        else:
            if state["sigma"] is None and method != "n2n":
                s = estimate_sigma(rgb)
                sigmas.setdefault(item.spec, s)
                if s > 0 or not item.is_video:  # a black first frame says nothing: measure a later one
                    state["sigma"] = s
            s = state["sigma"] if state["sigma"] is not None else 1.0
            clean = denoise_image(np.ascontiguousarray(rgb), method, s, strength, net)[..., ::-1]
        if state["sigma"] is not None:
            sigmas[item.spec] = float(state["sigma"])
        res = Output()
        if item.kind == "photo":
            res.files[item.path.name] = clean
        else:
            res.shown = clean
            if frame_images:
                res.files[f"{item.stem}/{frame_file(item, fr, '', '.png')}"] = clean
        return res

    t0 = time.perf_counter()
    def done(state) -> pd.DataFrame:
        rows = []
        for item, s in zip(items, state.summaries):
            audio = None
            if s["video"] and item.kind == "video":
                audio = add_audio(out / s["video"], item.path)
            output = out / (s["video"] or (item.path.name if item.kind == "photo" and not s["error"] else ""))
            rows.append({"file": item.spec, "output": str(output) if not s["error"] or s["video"] else "",
                         "kind": "image" if item.kind == "photo" else item.kind, "frames": s["frames_processed"],
                         "sigma": round(sigmas[item.spec], 2) if item.spec in sigmas else sigma,
                         "seconds": s["wall_seconds"], "fps": s["achieved_fps"],
                         "latency_ms": (s["latency_ms"] or {}).get("mean"), "audio": audio or "",
                         "error": s["error"] or ""})
        table = pd.DataFrame(rows, columns=["file", "output", "kind", "frames", "sigma", "seconds", "fps",
                                            "latency_ms", "audio", "error"])
        write_csv(table, out / "denoise.csv")
        table.attrs.update(summaries=state.summaries, errors=state.errors, interrupted=state.interrupted,
                           seconds=time.perf_counter() - t0)
        return table

    return run_tool(items, tool, out, f"denoise ({method})", opts.model_copy(update={"video": True}), done,
                    video_name="{stem}.mp4")


def _add_options_doc() -> None:
    from ..video.stream import options_doc

    denoise.__doc__ += options_doc("denoise")


_add_options_doc()


VIDEO_METHODS = ("temporal", "gaussian", "median", "bilateral", "nlm")


def evaluate_video_denoisers(noise: str = "gaussian:25", methods: list[str] | None = None, size: str = "640x480",
                   frames: int = 60, step: int = 2, seed: int = 0, skip: int = 8, model: str | Path | None = None,
                   progress: bool = PROGRESS) -> pd.DataFrame:
    """Video denoising measured: a slow pan (`step` px a frame) across real photos (scikit-image's astronaut,
    coffee and chelsea), noised with a fixed seed; each method's PSNR and SSIM against the clean frames
    (after the first `skip`, which a temporal method needs to fill its average) and its frames per second
    (denoising alone; `tamgu denoise` reports the whole process). Returns one row per method, noisy first."""
    import skimage.data
    from tqdm.auto import tqdm

    from ..runtime import parse_image_size
    from .temporal import TemporalDenoiser, pan

    spec = NoiseSpec.parse(noise)
    w, h = parse_image_size(size)
    clean = pan([skimage.data.astronaut(), skimage.data.coffee(), skimage.data.chelsea()], (w, h), frames, step)
    rng = np.random.default_rng(seed)
    noisy = [to_uint8(spec.add(to_float(c), rng)) for c in clean]
    rows = []

    def row(name: str, outs: list[np.ndarray], seconds: float | None) -> dict:
        pairs = list(zip(clean[skip:], outs[skip:]))
        return {"method": name, "noise": str(spec), "psnr": float(np.mean([psnr(c, o) for c, o in pairs])),
                "ssim": float(np.mean([ssim(c, o) for c, o in pairs[::5]])),
                "fps": round(len(outs) / seconds, 1) if seconds else None}

    rows.append(row("noisy", noisy, None))
    net = None
    if model:  # a trained Noise2Noise U-Net, frame by frame (its first pass sets up its kernels: not timed)
        from .n2n import load_denoiser

        net = load_denoiser(model)
        denoise_image(noisy[0], "n2n", None, 1.0, net)
    for m in tqdm(list(methods or VIDEO_METHODS) + (["n2n"] if net is not None else []), desc="methods",
                  disable=no_bar(progress)):
        t0 = time.perf_counter()
        if m == "n2n":
            outs = [denoise_image(n, "n2n", None, 1.0, net) for n in noisy]
        elif m == "temporal":
            d = TemporalDenoiser(speckle=spec.kind == "speckle")
            outs = [d(n) for n in noisy]
        else:
            sigma = estimate_sigma(noisy[0])  # once per video, as `tamgu denoise` does
            outs = [denoise_image(n, m, sigma) for n in noisy]
        rows.append(row(m, outs, time.perf_counter() - t0))
    return pd.DataFrame(rows)


def evaluate_denoisers(images: str | Path | None = None, noise: str = "gaussian:25", methods: list[str] | None = None,
             model: str | Path | None = None, out: str | Path | None = None, seed: int = 0,
             known_sigma: bool = True, progress: bool = PROGRESS) -> pd.DataFrame:
    """Add noise (fixed seed) to clean images, run every method, measure PSNR, SSIM and time per megapixel.

    `images`: a folder of clean images, or None for scikit-image's evaluation photos (never used for
    training by `tamgu denoise train`). Writes `results.csv`, `results.md` and `side_by_side.png` to `out`.

    Args:
        images: folder of clean images (default: scikit-image's evaluation photos)
        noise: noise added with a fixed seed: gaussian:25, poisson:30, speckle:25, saltpepper:0.05
        methods: comma-separated methods (default: every available one)
        model: a trained Noise2Noise model to include as n2n
        out: folder for results.csv, results.md and side_by_side.png
        known_sigma: give each filter the true noise sigma (off: each estimates it)
    """
    from tqdm.auto import tqdm

    from .n2n import EVAL_IMAGES, load_denoiser, skimage_images

    spec = NoiseSpec.parse(noise)
    if images is None:
        clean = skimage_images(EVAL_IMAGES)
    else:
        clean = {}
        for f in list_inputs(images):
            img = cv2.imread(str(f), cv2.IMREAD_UNCHANGED)
            if img is not None:
                clean[f.stem] = to_float(cv2.cvtColor(img[..., :3], cv2.COLOR_BGR2RGB) if img.ndim == 3 else img)
    # `model` may name several trained U-Nets, e.g. {"n2n": "n2n.pt", "n2c": "n2c.pt"}: each becomes a method
    models = model if isinstance(model, dict) else ({"n2n": model} if model else {})
    nets = {k: load_denoiser(v) for k, v in models.items()}
    for net in nets.values():  # the first pass through a network sets up its kernels: not a per-image cost
        denoise_image(np.zeros((64, 64), np.float32), "n2n", None, 1.0, net)
    methods = methods or [m for m in available_methods() if m != "n2n"] + list(nets)
    rows, shown = [], {}
    rng = np.random.default_rng(seed)
    for name, img in tqdm(clean.items(), desc="images", disable=no_bar(progress)):
        noisy = to_float(to_uint8(spec.add(img, rng)))  # stored as 8-bit, as real photos are
        mp = img.shape[0] * img.shape[1] / 1e6
        rows.append({"image": name, "method": "noisy", "psnr": psnr(img, noisy), "ssim": ssim(img, noisy),
                     "sec_per_mp": 0.0})
        shown.setdefault(name, {"clean": img, "noisy": noisy})
        sigma = spec.low if (known_sigma and spec.kind == "gaussian" and spec.low == spec.high) else None
        for m in methods:
            t0 = time.perf_counter()
            res = denoise_image(noisy, "n2n", None, 1.0, nets[m]) if m in nets else denoise_image(noisy, m, sigma)
            dt = time.perf_counter() - t0
            rows.append({"image": name, "method": m, "psnr": psnr(img, res), "ssim": ssim(img, res),
                         "sec_per_mp": dt / mp})
            shown[name][m] = res
    table = pd.DataFrame(rows)
    table.insert(1, "noise", str(spec))
    if out is not None:
        out = Path(out)
        write_csv(table, out / "results.csv")
        summary = table.groupby("method", sort=False)[["psnr", "ssim", "sec_per_mp"]].mean()
        (out / "results.md").write_text(summary.to_markdown(floatfmt=".3f"))
        side_by_side(shown, out / "side_by_side.png", str(spec))
    return table



def side_by_side(shown: dict[str, dict[str, np.ndarray]], path: Path, title: str = "") -> Path:
    """One row per image: clean, noisy, then each method's result (a crop, so detail is visible)."""
    import matplotlib.pyplot as plt  # no backend forced: headless picks Agg, a notebook keeps inline

    names = list(shown)
    cols = list(next(iter(shown.values())))
    fig, axes = plt.subplots(len(names), len(cols), figsize=(2.2 * len(cols), 2.2 * len(names)), squeeze=False)
    for r, n in enumerate(names):
        for c, k in enumerate(cols):
            im = shown[n][k]
            h, w = im.shape[:2]
            crop = im[h // 4: h // 4 + min(h, w) // 2, w // 4: w // 4 + min(h, w) // 2]
            axes[r, c].imshow(crop, cmap="gray" if crop.ndim == 2 else None, vmin=0, vmax=1)
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
            if r == 0:
                axes[r, c].set_title(k, fontsize=9)
        axes[r, 0].set_ylabel(n, fontsize=9)
    fig.suptitle(title)
    finish(fig, path)  # in a notebook the figure stays open and displays under the cell
    return path
