"""Decode once: every image resized to a run's size is kept on disk and reused by every fold, epoch, model
and run that asks for the same image at the same size.

An entry's key is the image's identity — its path, byte size and modification time (for a zip member: the
archive's path and mtime plus the member's name, size and CRC) — and the target size, so a changed file
is decoded again. Entries are small .npy files (uint8, H x W x 3, RGB) under `TAMGU_CACHE` (default
~/.cache/tamgu/images), written atomically, so parallel runs and interrupted runs leave no broken entry.
An image that cannot be read is never cached: it is reported and skipped as before.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from ..files import ZIP_SEP, atomic_path, decode_image, read_bytes, reduce_factor, zip_member_info
from ..runtime import resize

log = logging.getLogger(__name__)

MAGIC = b"\x93NUMPY"  # what a .npy file starts with: anything else in the cache is not ours


def cache_dir() -> Path | None:
    """The cache folder; None when TAMGU_CACHE=off."""
    env = os.environ.get("TAMGU_CACHE")
    if env and env.lower() in ("off", "none", "0"):
        return None
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return Path(base).expanduser() / "tamgu" / "images"


def identity(ref: str) -> str:
    """What changes when the image's bytes change (without reading them)."""
    if ZIP_SEP in ref:
        archive, member = ref.split(ZIP_SEP, 1)
        st = os.stat(archive)
        info = zip_member_info(ref)
        return f"{os.path.abspath(archive)}|{st.st_mtime_ns}|{member}|{info.file_size}|{info.CRC}"
    st = os.stat(ref)
    return f"{os.path.abspath(ref)}|{st.st_size}|{st.st_mtime_ns}"


def decode_resized(ref: str, size: tuple[int, int]) -> np.ndarray | None:
    """RGB uint8 (H, W, 3) at `size` (width, height); None if unreadable. A JPEG much larger than `size` is
    decoded at 1/2, 1/4 or 1/8 scale by libjpeg (its size read from the header first), then resized."""
    w, h = size
    try:
        data = read_bytes(ref)
    except (OSError, KeyError, zipfile.BadZipFile):
        return None
    factor = 1
    if data[:2] == b"\xff\xd8":
        try:
            with Image.open(io.BytesIO(data)) as im:  # reads the header only
                factor = reduce_factor((im.height, im.width), (h, w))
        except (OSError, ValueError):
            return None
    img = decode_image(data, factor)
    if img is None:
        return None
    return resize(img, size)


class ImageCache:
    """Resized images for one target size, from disk when cached, decoded (and stored) otherwise."""

    def __init__(self, size: tuple[int, int], root: Path | None = None, enabled: bool = True):
        self.size = (int(size[0]), int(size[1]))
        self.root = (root or cache_dir()) if enabled else None
        self.hits = self.misses = 0

    def _entry(self, ref: str) -> Path | None:
        if self.root is None:
            return None
        try:
            key = hashlib.sha1(f"{identity(ref)}|{self.size[0]}x{self.size[1]}".encode()).hexdigest()
        except (OSError, KeyError, zipfile.BadZipFile):
            return None  # missing file: read_image reports it
        return self.root / key[:2] / f"{key}.npy"

    def get(self, ref: str) -> np.ndarray | None:
        entry = self._entry(ref)
        if entry is not None and entry.is_file():
            img = self._load(entry)
            if img is not None:
                self.hits += 1
                return img
        self.misses += 1
        img = decode_resized(ref, self.size)
        if img is not None and entry is not None:
            try:
                with atomic_path(entry) as tmp:
                    np.save(tmp, img, allow_pickle=False)
            except OSError as e:  # a full or read-only cache disk slows runs down, never stops them
                log.warning("could not write the image cache in %s (%s); decoding without it", self.root, e)
                self.root = None
        return img

    def _load(self, entry: Path) -> np.ndarray | None:
        try:
            with open(entry, "rb") as f:
                if f.read(6) != MAGIC:
                    raise ValueError("not a .npy file")
                f.seek(0)
                img = np.load(f, allow_pickle=False)
        except (OSError, ValueError) as e:
            log.warning("ignoring a damaged cache entry %s (%s)", entry, e)
            return None
        if img.dtype != np.uint8 or img.shape != (self.size[1], self.size[0], 3):
            log.warning("ignoring a cache entry of the wrong shape %s", entry)
            return None
        return img

    def load_all(self, refs: list[str], workers: int = 2) -> tuple[np.ndarray, np.ndarray]:
        """Every image as one array (N, H, W, 3) uint8 plus a mask of the readable ones (unreadable rows are 0)."""
        w, h = self.size
        out = np.zeros((len(refs), h, w, 3), np.uint8)
        ok = np.zeros(len(refs), bool)

        def fill(i: int) -> None:
            img = self.get(refs[i])
            if img is not None:
                out[i], ok[i] = img, True

        with ThreadPoolExecutor(max(1, workers)) as pool:  # OpenCV decodes without holding the GIL
            list(pool.map(fill, range(len(refs))))
        return out, ok
