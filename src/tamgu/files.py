"""Small I/O helpers shared by every step: atomic writes and image decoding from folders or zips."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import cv2
import numpy as np
import pandas as pd
import yaml

from .errors import MissingInput
from .console import in_notebook
from .defaults import PROGRESS

_UMASK = os.umask(0)
os.umask(_UMASK)
IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
VIDEO_EXTS = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".ts", ".3gp"}
ZIP_SEP = "::"  # an image reference inside a zip: "/path/to/file.zip::imgs/train/c0/img_1.jpg"


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; it replaces `path` only if the block finishes.

    An interrupted run therefore never leaves a half-written CSV or checkpoint behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; outputs should have normal permissions
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_csv(df: pd.DataFrame, path: str | os.PathLike, **kwargs: Any) -> Path:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, **kwargs)
    return Path(path)


def write_json(obj: Any, path: str | os.PathLike) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return Path(path)


def write_text(text: str, path: str | os.PathLike) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_yaml(obj: Any, path: str | os.PathLike) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(yaml.safe_dump(obj, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return Path(path)


def write_image(img: np.ndarray, path: str | os.PathLike, params: list[int] | None = None) -> Path:
    """Encode with OpenCV (BGR input) and write atomically; the format follows the suffix."""
    path = Path(path)
    ok, buf = cv2.imencode(path.suffix or ".png", img, params or [])
    if not ok:
        raise OSError(f"OpenCV could not encode an image for {path}: check the file suffix (.jpg or .png).")
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.tobytes())
    return path


# One open ZipFile per (process, thread, archive): DataLoader workers each get their own handle.
_zip_handles: dict[tuple[int, int, str], zipfile.ZipFile] = {}


def _zip(archive: str) -> zipfile.ZipFile:
    key = (os.getpid(), threading.get_ident(), archive)
    if key not in _zip_handles:
        _zip_handles[key] = zipfile.ZipFile(archive)
    return _zip_handles[key]


def zip_member_info(ref: str) -> zipfile.ZipInfo:
    """Size and CRC of `archive.zip::member` from the archive's directory (kept open, not re-read)."""
    archive, member = ref.split(ZIP_SEP, 1)
    return _zip(archive).getinfo(member)


def read_bytes(ref: str) -> bytes:
    """Bytes of an image given as a path or as `archive.zip::member`."""
    if ZIP_SEP in ref:
        archive, member = ref.split(ZIP_SEP, 1)
        return _zip(archive).read(member)
    with open(ref, "rb") as f:
        return f.read()


def decode_image(data: bytes, reduce: int = 1) -> np.ndarray | None:
    """Decode to an RGB uint8 array (H, W, 3), or None when the bytes are not a readable image.

    `reduce` (1, 2, 4 or 8) lets libjpeg decode at a fraction of the size, much faster when the
    model wants far fewer pixels than the file has (640x480 photos for a 224 px model).
    """
    if not data:
        return None
    flag = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
            8: cv2.IMREAD_REDUCED_COLOR_8}[reduce]
    try:
        img = cv2.imdecode(np.frombuffer(data, np.uint8), flag)
    except cv2.error:  # e.g. a header claiming more than CV_IO_MAX_IMAGE_PIXELS (a decompression bomb)
        return None
    if img is None:
        return None
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def read_image(ref: str, reduce: int = 1) -> np.ndarray | None:
    """RGB image from a path or zip reference; None if it is missing, empty or corrupt."""
    try:
        return decode_image(read_bytes(ref), reduce)
    except (OSError, KeyError, zipfile.BadZipFile):
        return None


def reduce_factor(src_hw: tuple[int, int], dst_hw: tuple[int, int]) -> int:
    """Largest JPEG reduction (1, 2, 4, 8) that still leaves at least the target size."""
    factor = 1
    for f in (2, 4, 8):
        if src_hw[0] // f >= dst_hw[0] and src_hw[1] // f >= dst_hw[1]:
            factor = f
    return factor


def no_bar(progress: bool = PROGRESS) -> bool:
    """tqdm's `disable`: progress bars only on a terminal or in a notebook; plain output in logs and pipes."""
    return not progress or not (sys.stderr.isatty() or in_notebook())


def list_inputs(inputs, exts: set[str] = IMAGE_EXTS | VIDEO_EXTS, what: str = "images, folders or videos") -> list[Path]:
    """Files named directly, plus every file with one of `exts` below each folder named (sorted)."""
    files = []
    for inp in [inputs] if isinstance(inputs, (str, Path)) else inputs:
        p = Path(inp)
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.suffix.lower() in exts and f.is_file())
        elif p.exists():
            files.append(p)
        else:
            raise MissingInput(f"{p} does not exist: give {what}")
    return files
