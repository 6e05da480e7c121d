"""Image loading and transforms shared by training and prediction (torchvision-references style).

Every image is decoded once, resized to the run's (width, height) without keeping the aspect ratio (as
the book does with 640x480 -> 224x224) and cached; then augmented (training only) and scaled to 0..1. The
model normalises with its own mean/std, so nothing here depends on the backbone.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler
from torchvision.transforms import v2

from ..errors import InputError
from .cache import ImageCache

log = logging.getLogger(__name__)

PRELOAD_BYTES = 2 * 1024**3  # image sets up to this size are held in memory (22,424 images at 176 px fit)


def train_transform(augment: str, image_size: tuple[int, int]) -> v2.Transform | None:
    """Augmentations on a uint8 (3, H, W) tensor. No flips: a mirrored driver swaps left and right hands
    (c1 <-> c3, c2 <-> c4), so a flip would teach the model wrong labels."""
    w, _ = image_size
    if augment == "none":
        return None
    if augment == "book":
        # the book: rotation -20..20 deg, shift -30..30 px at 224 px, centre zoom to 0.8..1.0 of the side
        shift = 30 / 224
        return v2.RandomAffine(degrees=20, translate=(shift, shift), scale=(1.0, 1.25))
    if augment == "light":
        return v2.Compose([
            v2.RandomAffine(degrees=10, translate=(0.06, 0.06), scale=(0.9, 1.1)),
            v2.ColorJitter(brightness=0.25, contrast=0.25, saturation=0.25, hue=0.02),
        ])
    raise InputError(f"unknown augment {augment!r}: use none, book or light.")


class ImageTable(Dataset):
    """Rows of a table (paths, optional labels) as (image, label, row index) samples.

    Images come through the decode-once cache (`cache.ImageCache`): resized once, reused by every fold, epoch
    and run. Sets that fit in PRELOAD_BYTES are held in memory as one array, so an epoch decodes nothing.
    An unreadable image yields None, which `collate_skip` drops, so one bad file never stops a run.
    """

    def __init__(self, paths: list[str], labels: list[int] | None, image_size: tuple[int, int],
                 transform: v2.Transform | None = None, cache: ImageCache | None = None):
        self.paths = list(paths)
        # class indices, or (N, C) target distributions for soft (pseudo-label) training
        if labels is None or np.ndim(labels) == 2:
            self.labels = None if labels is None else np.asarray(labels, np.float32)
        else:
            self.labels = [int(v) for v in labels]
        self.size = tuple(image_size)
        self.transform = transform
        self.cache = cache or ImageCache(self.size)
        self.images: np.ndarray | None = None
        if len(self.paths) * self.size[0] * self.size[1] * 3 <= PRELOAD_BYTES:
            self.images, ok = self.cache.load_all(self.paths)
            self.bad = {i for i in np.flatnonzero(~ok)}
            for i in sorted(self.bad):
                log.warning("skipping unreadable image %s", self.paths[i])

    def __len__(self) -> int:
        return len(self.paths)

    def image(self, i: int) -> np.ndarray | None:
        """The resized RGB image of row i (H, W, 3) uint8, or None when it cannot be read."""
        if self.images is not None:
            return None if i in self.bad else self.images[i]
        img = self.cache.get(self.paths[i])
        if img is None:
            log.warning("skipping unreadable image %s", self.paths[i])
        return img

    def __getitem__(self, key: int | tuple[int, int]):
        # key: a row, or (row, augmentation seed) from EpochShuffle
        i, seed = key if isinstance(key, tuple) else (key, None)
        img = self.image(i)
        if img is None:
            return None
        x = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)  # (3, H, W) uint8
        if self.transform is not None and seed is None:
            x = self.transform(x)
        elif self.transform is not None:
            with torch.random.fork_rng(devices=[]):  # this image's own draw; the process's RNG is untouched
                torch.manual_seed(seed)
                x = self.transform(x)
        x = x.float().div_(255)
        y = -1 if self.labels is None else self.labels[i]
        return x, y, i


class EpochShuffle(Sampler):
    """The training order and each image's augmentation as a pure function of (seed, epoch).

    Yields (row, augmentation seed) pairs for `ImageTable`. An epoch therefore sees the same batches with
    the same augmentations whether the run went straight through or was killed and resumed, and whatever
    the number of loader workers (each worker would otherwise draw from its own RNG). `epoch` is a
    callable read when iteration starts (see `training.SeedByEpoch`, which knows the epoch even before
    Lightning has restored its counters).
    """

    def __init__(self, n: int, seed: int, epoch: Callable[[], int]):
        self.n, self.seed, self.epoch = n, seed, epoch

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        rng = np.random.default_rng([self.seed, int(self.epoch())])
        order = rng.permutation(self.n)
        seeds = rng.integers(0, 2**31 - 1, self.n)
        return iter([(int(i), int(s)) for i, s in zip(order, seeds)])


def collate_skip(batch):
    """Default collation without the unreadable (None) samples; an all-bad batch becomes empty."""
    batch = [b for b in batch if b is not None]
    if not batch:
        return torch.empty(0, 3, 1, 1), torch.empty(0, dtype=torch.long), torch.empty(0, dtype=torch.long)
    xs, ys, idx = zip(*batch)
    y = torch.from_numpy(np.stack(ys)) if isinstance(ys[0], np.ndarray) else torch.tensor(ys, dtype=torch.long)
    return torch.stack(xs), y, torch.tensor(idx, dtype=torch.long)


TTA_MOVES = ((0.04, 0, 0), (-0.04, 0, 0), (0, 0.04, 0), (0, -0.04, 0), (0, 0, 5), (0, 0, -5))  # (dx, dy, degrees)


@functools.lru_cache(maxsize=16)
def _tta_maps(h: int, w: int) -> tuple[torch.Tensor, ...]:
    """For each TTA move, the source pixel of every output pixel (-1 = outside, filled with 0): torchvision's
    nearest-neighbour affine applied to a picture of pixel numbers. A view is then one gather, which runs
    the same in PyTorch and in an exported ONNX graph."""
    numbers = torch.arange(h * w, dtype=torch.float64).view(1, 1, h, w) + 1  # 0 stays "outside"
    maps = []
    for dx, dy, deg in TTA_MOVES:
        moved = v2.functional.affine(numbers, angle=deg, translate=[dx * w, dy * h], scale=1.0, shear=[0.0, 0.0])
        maps.append(moved.view(-1).round().long() - 1)
    return tuple(maps)


def tta_views(x: torch.Tensor, passes: int) -> list[torch.Tensor]:
    """`passes` deterministic views of a batch (B, 3, H, W): the image, then small shifts and rotations
    (never flips: see train_transform)."""
    views = [x]
    b, c, h, w = x.shape
    flat = x.reshape(b, c, h * w)
    for src in _tta_maps(int(h), int(w))[: passes - 1]:
        src = src.to(x.device)
        picked = flat.index_select(2, src.clamp(min=0))
        views.append(torch.where(src >= 0, picked, torch.zeros((), dtype=x.dtype, device=x.device)).reshape(b, c, h, w))
    return views


# Loader workers start from a clean forkserver process, not by forking this one: a process that has run live
# readers, page servers or onnxruntime holds threads, and a fork taken while one of them holds a lock leaves the
# worker waiting forever (a test worker hung so in CI, in futex_do_wait). macOS and Windows spawn anyway.
def _worker_start():
    """The forkserver context, with torch and the dataset's modules imported once in the server (so each
    worker starts as fast as a fork), on Linux; the platform's default elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    import multiprocessing

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["torch", "numpy", "cv2", "tamgu.pipeline.transforms"])
    return ctx


WORKER_START = _worker_start()  # DataLoader(multiprocessing_context=...) wherever workers > 0
