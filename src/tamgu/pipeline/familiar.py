"""How familiar an image is to a run: the cosine distance of its ImageNet features (MobileNetV2, the verified
offline weights, at the run's image size) to the nearest training image's, against the distances of the first
fold's held-out images (known footage of people the split kept apart). `--familiar 0.95` calls a frame unfamiliar
when it lies farther from the training images than 95% of those held-out images do: a street, another camera, a
blank frame.

ImageNet's features, not the run's own: a fine-tuned network keeps what tells its classes apart and forgets what
a scene looks like. On the watch test's small driver run (MobileNetV2 at 64x48, 2 folds) its own features put
81% of a street's frames and 56% of a new driver's beyond the 95% line; ImageNet's put 100% and 0% (median
distances 0.53 and 0.25, the line at 0.31). It also judges every run alike, whatever its network.

The reference (training features, held-out distances) is computed once from the run's data and kept in
RUN/familiar.npz; a run whose data is gone cannot be calibrated, and the caller says so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..defaults import ACCELERATOR
from ..files import atomic_path
from ..errors import MissingInput

FAMILIAR = 0.95  # share of the run's held-out images that count as familiar (the calibration)
FEATURES = "mobilenetv2_100"  # the ImageNet network whose features judge familiarity (timm name)


def unit_rows(f: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1 (cosine similarity is then a dot product)."""
    return f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)


def nearest_distance(feats: np.ndarray, reference: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """1 - the largest cosine similarity of each (unit) row of `feats` to the (unit) rows of `reference`."""
    out = np.empty(len(feats), np.float32)
    for i in range(0, len(feats), chunk):
        out[i:i + chunk] = 1 - (feats[i:i + chunk] @ reference.T).max(1)
    return out


def reference(run: str | Path, accelerator: str = ACCELERATOR, progress: bool = False) -> dict:
    """{"train": unit ImageNet features of the first fold's training images (float16), "heldout": the sorted
    distances of that fold's validation images to them}; computed once, cached in RUN/familiar.npz."""
    from . import runfolder
    from .data import load_dataset
    from .inference import run_models

    source = runfolder.Run(run)
    first = min(source.checkpoints)
    key = f"{source.models_key}|{FEATURES}"
    cache = source.path / runfolder.FAMILIAR
    if cache.is_file():
        z = np.load(cache, allow_pickle=False)
        if str(z["key"]) == key:
            return {"train": z["train"], "heldout": z["heldout"], "fold": int(z["fold"])}
    cfg, folds = source.config, source.folds()
    if folds is None:
        raise MissingInput(f"{source.path} has no folds.csv: familiarity is calibrated on a fold's held-out images")
    try:
        ds = load_dataset(cfg.data, groups=cfg.groups, strict=False, fixes=cfg.fixes)
    except (MissingInput, ValueError) as e:
        raise MissingInput(f"the run's data ({cfg.data}) cannot be read ({e}); familiarity needs its images once "
                           "(then RUN/familiar.npz is enough)") from None
    paths = dict(zip(ds.train["img"], ds.train["path"]))
    mine = folds[folds["img"].isin(paths)]
    train_ids, held_ids = mine.loc[mine["fold"] != first, "img"], mine.loc[mine["fold"] == first, "img"]
    feats = run_models({0: imagenet_net()}, [paths[i] for i in [*train_ids, *held_ids]], cfg.image_size,
                       output="features", accelerator=accelerator, progress=progress).values[0]
    feats = unit_rows(feats.astype(np.float32))
    train, held = feats[: len(train_ids)], feats[len(train_ids):]
    heldout = np.sort(nearest_distance(held, train))
    with atomic_path(cache) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, train=train.astype(np.float16), heldout=heldout, fold=first, key=np.asarray(key))
    return {"train": train.astype(np.float16), "heldout": heldout, "fold": first}


def imagenet_net():
    """The network whose features judge familiarity: ImageNet MobileNetV2, its weights found offline and checked
    tensor by tensor (`tamgu weights` says where they come from)."""
    from .models import build_model

    return build_model(FEATURES, 1, weights="imagenet")[0].eval()


def embedder(run: str | Path, accelerator: str = ACCELERATOR, fold: int | None = None):
    """A function: uint8 RGB images (B, H, W, 3) at the run's size -> unit backbone features (B, F), through one
    fold's model (the first by default)."""
    from . import runfolder
    from .models import load_net

    ckpts = runfolder.Run(run).checkpoints
    return embed_with(load_net(ckpts[min(ckpts) if fold is None else fold])[0], accelerator)


def embed_with(net, accelerator: str = ACCELERATOR):
    """A function: uint8 RGB images (B, H, W, 3) -> unit features (B, F) of `net` (a tamgu Net)."""
    import torch

    from .inference import device_for

    device = device_for(accelerator)
    net = net.to(device).eval()

    def embed(images: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(images)).to(device).permute(0, 3, 1, 2).float() / 255
            return unit_rows(net.embed(x).float().cpu().numpy())
    return embed


def line_at(heldout: np.ndarray, share: float) -> float:
    """The distance within which `share` of the held-out images lie (no held-out image: nothing is far)."""
    return float(np.quantile(heldout, share)) if len(heldout) else float("inf")


class Familiarity:
    """uint8 RGB images (B, H, W, 3) at the run's size -> distance to the nearest training image; `threshold`:
    the distance `share` of the held-out images stay within."""

    def __init__(self, run: str | Path, share: float = FAMILIAR, accelerator: str = ACCELERATOR):
        ref = reference(run, accelerator)
        self.train = ref["train"].astype(np.float32)
        self.heldout = ref["heldout"]
        self.threshold = line_at(self.heldout, share)
        self.embed = embed_with(imagenet_net(), accelerator)

    def __call__(self, images: np.ndarray) -> np.ndarray:
        return nearest_distance(self.embed(images), self.train)

    def share_within(self, distance: float) -> float:
        """The share of held-out images at most this far: how ordinary a distance is."""
        return float(np.searchsorted(self.heldout, distance, side="right") / max(1, len(self.heldout)))


def distances(run: str | Path, paths: list[str], share: float = FAMILIAR, accelerator: str = ACCELERATOR,
              progress: bool = False) -> tuple[np.ndarray, float]:
    """Each image's distance to the nearest training image (ImageNet features), and the distance within which
    `share` of the held-out images lie: farther is unfamiliar."""
    from . import runfolder
    from .inference import run_models

    ref = reference(run, accelerator)
    source = runfolder.Run(run)
    feats = run_models({0: imagenet_net()}, paths, source.config.image_size, output="features",
                       accelerator=accelerator, progress=progress).values[0]
    return nearest_distance(unit_rows(feats.astype(np.float32)), ref["train"].astype(np.float32)), \
        line_at(ref["heldout"], share)
