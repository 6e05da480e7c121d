"""Bad input, table-driven: every kind a study group will feed tamgu, through the commands they type.

Each case breaks one thing and names the message the command must show (None: the input is odd but
valid and must work). Files that existed before the command must be byte-for-byte intact afterwards:
a failed command never costs earlier work."""

from __future__ import annotations

import errno
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import pandas as pd
import pytest
from PIL import Image

import tamgu
from tamgu.cli import main
from tamgu.files import read_image

TINY = ["--model", "test_resnet", "--weights", "none", "--image-size", "32x24", "--workers", "0"]


@pytest.fixture(scope="module")
def run(tiny_data, tmp_path_factory):
    """A finished tiny run (2 folds) of the tiny dataset, for the commands that read runs."""
    out = tmp_path_factory.mktemp("bad") / "run"
    assert main(["train", str(tiny_data), "--out", str(out), "--folds", "2", "--epochs", "1", *TINY]) == 0
    return out


@dataclass
class Ctx:
    tmp: Path
    data: Path          # a private copy of the tiny dataset
    run: Path           # a private copy of the finished run
    truth: Path         # the held-out labels of the tiny dataset
    keep: list[Path]    # files that must survive the command unchanged


def first(ctx: Ctx, cls: str = "c0", k: int = 0) -> Path:
    return sorted((ctx.data / "imgs" / "train" / cls).glob("*.jpg"))[k]


def submission(ctx: Ctx) -> pd.DataFrame:
    return pd.read_csv(ctx.run / "submission.csv")


def write_sub(ctx: Ctx, df: pd.DataFrame, **kw) -> list[str]:
    path = ctx.tmp / "sub.csv"
    df.to_csv(path, index=False, **kw)
    return ["score", str(path), "--truth", str(ctx.truth)]


def folders_set(ctx: Ctx) -> Path:
    """A class-per-folder copy of the training images (for formats the Kaggle layout does not list)."""
    root = ctx.tmp / "folders"
    for cls in ("c0", "c1"):
        shutil.copytree(ctx.data / "imgs" / "train" / cls, root / cls)
    return root


# --- images ----------------------------------------------------------------------------------------
def zero_byte(c): first(c).write_bytes(b""); return ["check", str(c.data)]
def truncated(c): d = first(c).read_bytes(); first(c).write_bytes(d[: len(d) // 2]); return ["check", str(c.data)]
def not_an_image(c): first(c).write_text("hello, I am text"); return ["check", str(c.data)]


def decompression_bomb(c):
    import struct
    import zlib

    def chunk(t, b):
        return struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)  # claims 10 gigapixels
    first(c).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 99)) + chunk(b"IEND", b""))
    return ["check", str(c.data)]


def cmyk_jpeg(c):
    Image.open(first(c)).convert("CMYK").save(first(c), "JPEG")
    return ["check", str(c.data)], lambda: read_image(str(first(c))).shape == (30, 40, 3)


def grey_jpeg(c):
    Image.open(first(c)).convert("L").save(first(c), "JPEG")
    return ["check", str(c.data)], lambda: read_image(str(first(c))).shape == (30, 40, 3)


def png_16bit(c):
    root = folders_set(c)
    target = root / "c0" / "deep.png"
    cv2.imwrite(str(target), (np.random.default_rng(0).random((30, 40, 3)) * 65535).astype(np.uint16))
    return ["check", str(root)], lambda: (lambda im: im.dtype == np.uint8 and im.shape == (30, 40, 3))(read_image(str(target)))


def exif_rotated(c):
    im = Image.open(first(c))  # 40x30, stored turned on its side with an EXIF "rotate 90" tag
    exif = Image.Exif()
    exif[0x0112] = 6
    im.save(first(c), "JPEG", exif=exif)
    return ["check", str(c.data)], lambda: read_image(str(first(c))).shape == (40, 30, 3)


def huge_image(c):
    big = cv2.resize(cv2.imread(str(first(c))), (6000, 4500), interpolation=cv2.INTER_NEAREST)
    cv2.imwrite(str(first(c)), big)
    return ["check", str(c.data)], lambda: read_image(str(first(c)), reduce=8).shape == (563, 750, 3)


# --- CSVs ------------------------------------------------------------------------------------------
def sub_wrong_header(c): return write_sub(c, submission(c).rename(columns={"img": "image"}))
def sub_missing_column(c): return write_sub(c, submission(c).drop(columns=["c9"]))
def sub_extra_column(c): return write_sub(c, submission(c).assign(c10=0.0))
def sub_duplicate_rows(c): s = submission(c); return write_sub(c, pd.concat([s, s.head(1)]))
def sub_nan(c): s = submission(c); s.loc[3, "c2"] = np.nan; return write_sub(c, s)
def sub_negative(c): s = submission(c); s.loc[3, "c2"] = -0.1; return write_sub(c, s)
def sub_missing_rows(c): return write_sub(c, submission(c).iloc[2:])
def sub_extra_rows(c): s = submission(c); return write_sub(c, pd.concat([s, s.head(1).assign(img="img_elsewhere.jpg")]))


def sub_with_bom(c):
    return write_sub(c, submission(c), encoding="utf-8-sig"), lambda: True


def sub_rows_not_summing_to_one(c):
    s = submission(c)
    s[[f"c{i}" for i in range(10)]] *= 0.5
    s.to_csv(c.tmp / "sub.csv", index=False)
    return lambda: tamgu.validate_submission(c.tmp / "sub.csv", c.data / "sample_submission.csv")


def truth_wrong_header(c):
    pd.read_csv(c.truth).rename(columns={"classname": "label"}).to_csv(c.tmp / "labels.csv", index=False)
    return ["score", str(c.run / "submission.csv"), "--truth", str(c.tmp / "labels.csv")]


def driver_list_with_bom(c):
    f = c.data / "driver_imgs_list.csv"
    f.write_bytes(b"\xef\xbb\xbf" + f.read_bytes())
    return ["check", str(c.data)], lambda: True


# --- paths -----------------------------------------------------------------------------------------
def spaces_and_korean(c):
    moved = c.tmp / "내 데이터" / "state farm"
    shutil.copytree(c.data, moved)
    out = c.tmp / "보고서 폴더" / "eda.html"
    return ["eda", str(moved), "--out", str(out)], out.is_file


def dotdot_escape(c):
    f = c.data / "driver_imgs_list.csv"
    df = pd.read_csv(f)
    df.loc[0, "img"] = "../../../outside.jpg"
    df.to_csv(f, index=False)
    return ["check", str(c.data)]


def symlink_out_of_the_folder(c):
    outside = c.tmp / "outside.jpg"
    shutil.move(first(c), outside)
    first_name = c.data / "imgs" / "train" / "c0" / outside.name
    first_name.symlink_to(outside)
    return ["check", str(c.data)]


def empty_folder(c):
    (c.tmp / "empty").mkdir()
    return ["check", str(c.tmp / "empty")]


def output_under_a_file(c):
    (c.tmp / "notes.txt").write_text("a file, not a folder")
    return ["eda", str(c.data), "--out", str(c.tmp / "notes.txt" / "eda.html")]


def existing_run_other_settings(c):
    c.keep += [c.run / "oof.csv", c.run / "submission.csv", c.run / "config.yaml"]
    return ["train", str(c.data), "--out", str(c.run), "--folds", "2", "--epochs", "3", *TINY]


def disk_full_while_writing(c, monkeypatch):
    (c.tmp / "sub.csv").write_text("earlier work\n")
    c.keep.append(c.tmp / "sub.csv")
    real = pd.DataFrame.to_csv

    def full(self, path=None, *a, **kw):
        if path is not None and "sub" in str(path):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(self, path, *a, **kw)

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    return ["predict", str(c.run), "--out", str(c.tmp / "sub.csv"), "--workers", "0"]


def read_only_output(c, monkeypatch):
    """A folder the user may not write to (simulated: the suite runs as root, which ignores permissions)."""
    import tempfile

    locked = c.tmp / "locked"
    locked.mkdir()
    (locked / "eda.html").write_text("an earlier page")
    c.keep.append(locked / "eda.html")
    real = tempfile.mkstemp

    def refuse(*a, dir=None, **kw):
        if dir is not None and Path(dir) == locked:
            raise PermissionError(errno.EACCES, "Permission denied", str(locked))
        return real(*a, dir=dir, **kw)

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    return ["eda", str(c.data), "--out", str(locked / "eda.html")]


# --- videos ----------------------------------------------------------------------------------------
def _clip(path: Path, frames: int = 40):
    import av

    with av.open(str(path), "w") as out:
        s = out.add_stream("mpeg4", rate=10)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for i in range(frames):
            img = np.full((48, 64, 3), (i * 6) % 255, np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(p)
        for p in s.encode():
            out.mux(p)


def not_a_video(c):
    (c.tmp / "clip.mp4").write_text("not a video")
    return ["frames", str(c.tmp / "clip.mp4"), "--out", str(c.tmp / "frames")]


def truncated_video(c):
    _clip(c.tmp / "clip.mkv", 80)
    d = (c.tmp / "clip.mkv").read_bytes()
    (c.tmp / "clip.mkv").write_bytes(d[: len(d) // 2])
    return ["frames", str(c.tmp / "clip.mkv"), "--out", str(c.tmp / "frames"), "--every", "1s"]


def zero_frame_video(c):
    w = cv2.VideoWriter(str(c.tmp / "empty.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 25, (64, 48))
    w.release()
    return ["frames", str(c.tmp / "empty.avi"), "--out", str(c.tmp / "frames")]


# --- configs ---------------------------------------------------------------------------------------
def config_unknown_key(c):
    (c.tmp / "exp.yaml").write_text("modle: resnet18\n")
    return ["train", str(c.data), "--config", str(c.tmp / "exp.yaml"), "--out", str(c.run)]


def config_wrong_type(c):
    (c.tmp / "exp.yaml").write_text("epochs: many\n")
    return ["train", str(c.data), "--config", str(c.tmp / "exp.yaml"), "--out", str(c.run)]


CASES: list[tuple[Callable, str | None]] = [
    (zero_byte, r"empty \(zero-byte\) file"),
    (truncated, r"not a readable image \(corrupt or truncated\)"),
    (not_an_image, r"not a readable image"),
    (decompression_bomb, r"not a readable image"),
    (cmyk_jpeg, None),
    (grey_jpeg, None),
    (png_16bit, None),
    (exif_rotated, None),
    (huge_image, None),
    (sub_wrong_header, r"no 'img' column .*header must be img,c0"),
    (sub_missing_column, r"class columns differ: missing \['c9'\]"),
    (sub_extra_column, r"unexpected \['c10'\]"),
    (sub_with_bom, None),
    (sub_duplicate_rows, r"appears 2 times; keep one row per image"),
    (sub_nan, r"1 row\(s\) have missing, non-numeric, negative or >1 probabilities"),
    (sub_negative, r"1 row\(s\) have missing, non-numeric, negative or >1 probabilities"),
    (sub_rows_not_summing_to_one, r"rows must each sum to 1"),
    (sub_missing_rows, r"2 labelled images have no prediction row"),
    (sub_extra_rows, r"1 prediction row\(s\) are for images the labels do not have \(e.g. img_elsewhere.jpg\)"),
    (truth_wrong_header, r"needs the columns img,classname"),
    (driver_list_with_bom, None),
    (spaces_and_korean, None),
    (dotdot_escape, r"img '../../../outside.jpg' is a path, not a file name"),
    (symlink_out_of_the_folder, r"is a link to .*outside.jpg, outside the dataset folder"),
    (empty_folder, r"has no class folders with images"),
    (output_under_a_file, r"notes.txt is a file, so it cannot hold outputs"),
    (existing_run_other_settings, r"other settings \(.*epochs: 1 -> 3\).*--fresh"),
    (disk_full_while_writing, r"No space left on device.*earlier ones are intact"),
    (read_only_output, r"cannot read or write .*locked: Permission denied"),
    (not_a_video, r"clip.mp4: .*cannot open"),
    (truncated_video, r"clip.mkv"),
    (zero_frame_video, r"empty.avi: no frame could be read"),
    (config_unknown_key, r"unknown key 'modle'"),
    (config_wrong_type, r"epochs"),
]


READ_AND_FAILED = {not_a_video, truncated_video, zero_frame_video}


def _snapshot(paths: list[Path]) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in paths if p.is_file()}


@pytest.mark.parametrize("breaker,message", CASES, ids=[b.__name__ for b, _ in CASES])
def test_bad_input_gives_its_message_and_loses_nothing(breaker, message, tiny_data, run, tmp_path, capsys, monkeypatch):
    ctx = Ctx(tmp_path, shutil.copytree(tiny_data, tmp_path / "data"), shutil.copytree(run, tmp_path / "run"),
              tiny_data.with_name(tiny_data.name + "_test_labels.csv"), [])
    ctx.keep += [ctx.data / "driver_imgs_list.csv", ctx.run / "summary.json"]
    args = (breaker(ctx, monkeypatch) if "monkeypatch" in breaker.__code__.co_varnames else breaker(ctx))
    check = None
    if isinstance(args, tuple):
        args, check = args
    before = _snapshot(ctx.keep)
    capsys.readouterr()
    if callable(args):  # a Python-only step (the functions are commands too)
        if message is None:
            args()
        else:
            with pytest.raises(ValueError, match=message):
                args()
    else:
        rc = main(args)
        err = capsys.readouterr().err
        if message is None:
            assert rc == 0, err
        else:
            # 1: the command read its inputs and some failed (listed); 2: refused before any work
            assert rc == (1 if breaker in READ_AND_FAILED else 2) and f"tamgu {args[0]}: error" in err, err
            assert __import__("re").search(message, err, flags=__import__("re").S), err
            assert "Traceback" not in err
    if check is not None:
        assert check()
    after = _snapshot(ctx.keep)
    assert after == before, "a failed command must leave earlier files intact"
