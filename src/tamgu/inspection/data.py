"""The crack-set layout, read and checked: DIR/images/* and DIR/masks/* paired by file stem (CRACK500,
DeepCrack and `tamgu synth-cracks` all look like this). A mask may carry a suffix after the stem
(`_mask`, `_label`, `_gt`) and be 0/255 or 0/1. Every pair is checked before any work: an image without a
mask, a mask without an image, or a pair of different sizes is an error naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import TamguError
from ..files import IMAGE_EXTS

IMAGE_DIRS = ("images", "image", "imgs", "train_img", "test_img")  # how the public sets name their folders
MASK_DIRS = ("masks", "mask", "labels", "gt", "train_lab", "test_lab")
MASK_SUFFIXES = ("_mask", "_label", "_gt", "_lab")


class CrackSetError(TamguError):
    """A crack set whose layout or pairs are wrong; the message names the file and the fix."""


@dataclass(frozen=True)
class Pair:
    name: str     # the image's file name
    image: Path
    mask: Path


def _folder(root: Path, names: tuple[str, ...], what: str) -> Path:
    for n in names:
        if (root / n).is_dir():
            return root / n
    raise CrackSetError(f"{root} has no {what} folder: give a folder holding {names[0]}/ and masks/ "
                        f"(the CRACK500 / DeepCrack layout; also accepted: {', '.join(names[1:])}).")


def _stem(path: Path) -> str:
    s = path.stem
    for suffix in MASK_SUFFIXES:
        if s.lower().endswith(suffix):
            return s[: -len(suffix)]
    return s


def read_crack_set(root: str | Path, check_sizes: bool = True) -> list[Pair]:
    """The image/mask pairs of a crack set, sorted by name; CrackSetError for anything unpaired or mismatched."""
    root = Path(root)
    if not root.is_dir():
        raise CrackSetError(f"{root} is not a folder: give a crack set (images/ and masks/), e.g. one written by "
                            "tamgu synth-cracks.")
    images_dir, masks_dir = _folder(root, IMAGE_DIRS, "images"), _folder(root, MASK_DIRS, "masks")
    files = lambda d: sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS)
    images, masks = files(images_dir), {}
    for m in files(masks_dir):
        if _stem(m) in masks:
            raise CrackSetError(f"{m} and {masks[_stem(m)]} are masks of the same image: keep one.")
        masks[_stem(m)] = m
    if not images:
        raise CrackSetError(f"{images_dir} holds no images ({', '.join(sorted(IMAGE_EXTS))}).")
    pairs, seen = [], set()
    for img in images:
        if img.stem not in masks:
            raise CrackSetError(f"{img} has no mask: expected {masks_dir / (img.stem + '.png')} (same stem; an "
                                f"image without cracks needs an all-black mask).")
        pairs.append(Pair(img.name, img, masks[img.stem]))
        seen.add(img.stem)
    extra = sorted(set(masks) - seen)
    if extra:
        raise CrackSetError(f"{masks[extra[0]]} has no image in {images_dir}" +
                            (f" (and {len(extra) - 1} more masks)" if len(extra) > 1 else "") +
                            ": remove it or add its image.")
    if check_sizes:
        for p in pairs:
            a, b = _size(p.image), _size(p.mask)
            if a is None:
                raise CrackSetError(f"{p.image} is not a readable image: replace or remove it (and its mask).")
            if b is None:
                raise CrackSetError(f"{p.mask} is not a readable mask: replace or remove it (and its image).")
            if a != b:
                raise CrackSetError(f"{p.mask} is {b[0]}x{b[1]} but its image {p.image.name} is {a[0]}x{a[1]}: "
                                    "a mask must have its image's size.")
    return pairs


def _size(path: Path) -> tuple[int, int] | None:
    from PIL import Image

    try:
        with Image.open(path) as im:
            return im.size
    except Exception:  # noqa: BLE001 - any unreadable file is reported by name by the caller
        return None


def read_mask(path: Path) -> np.ndarray:
    """A mask file as uint8 0/255 (0/1 masks and anti-aliased edges included)."""
    m = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if m is None:
        raise CrackSetError(f"{path} is not a readable mask.")
    return np.where(m > (127 if m.max() > 1 else 0), 255, 0).astype(np.uint8)


def read_pair(p: Pair) -> tuple[np.ndarray, np.ndarray]:
    img = cv2.imread(str(p.image), cv2.IMREAD_COLOR)
    if img is None:
        raise CrackSetError(f"{p.image} is not a readable image.")
    return img, read_mask(p.mask)
