"""One frame per second from a 720p H.264 clip: tamgu frames (each mode) against ffmpeg and a naive OpenCV loop.

Run by hand (needs Debian's ffmpeg for the reference and for making the clip):

    .venv/bin/python benchmarks/frames_vs_ffmpeg.py [--clip CLIP] [--seconds 40] [--repeat 3]

Every contender writes JPEGs of the same frames into its own folder, in the same run, on the same clip;
the table quotes each one's time as a ratio of ffmpeg's and the worst distance, in frames, between a
saved frame and its requested time (read from the barcode drawn in each frame of the generated clip).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import cv2

from tamgu.video.clips import read_index
from tamgu.video.frames import frames


def make_clip(path: Path, seconds: int) -> None:
    """720p30 H.264 with the frame number drawn as the barcode tamgu.clips reads, x264 defaults (B-frames)."""
    from tamgu.video.clips import write_clip

    write_clip(path, seconds=seconds, fps=30, size=(1280, 720), codec="libx264")


def naive_opencv(clip: Path, out: Path) -> None:
    cap = cv2.VideoCapture(str(clip))
    fps = cap.get(cv2.CAP_PROP_FPS)
    i = 0
    while True:
        ok, img = cap.read()
        if not ok:
            break
        if i % round(fps) == 0:
            cv2.imwrite(str(out / f"{i:06d}.jpg"), img)
        i += 1


def worst_error(folder: Path, fps: float, barcode: bool) -> int | None:
    """Largest distance, in frames, between a saved frame and its requested time (k seconds): from the barcode
    in each frame of a generated clip, else from the times tamgu records in frames.csv."""
    if barcode:
        files = sorted(folder.rglob("*.jpg"))
        return max(abs(read_index(cv2.imread(str(f))) - round(k * fps)) for k, f in enumerate(files))
    if (folder / "frames.csv").exists():
        import pandas as pd

        t = pd.read_csv(folder / "frames.csv")["time_ms"] / 1000
        return int(round(max(abs(t - t.round()) * fps)))
    return None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clip", help="a clip to use (default: a generated 720p barcode clip)")
    p.add_argument("--seconds", type=int, default=40)
    p.add_argument("--repeat", type=int, default=3, help="runs per contender; the best is kept")
    a = p.parse_args()
    tmp = Path(tempfile.mkdtemp())
    clip = Path(a.clip) if a.clip else tmp / "clip720.mp4"
    if not a.clip:
        make_clip(clip, a.seconds)
    ffmpeg = shutil.which("ffmpeg")
    contenders = {
        "tamgu frames (default)": lambda o: frames(clip, o, every="1s", progress=False, workers=1),
        "tamgu frames --parts 1 (one pass)": lambda o: frames(clip, o, every="1s", parts=1, progress=False,
                                                              workers=1),
        "tamgu frames --exact": lambda o: frames(clip, o, every="1s", exact=True, progress=False, workers=1),
        "tamgu frames --keyframes": lambda o: frames(clip, o, every="1s", keyframes=True, progress=False, workers=1),
        "naive OpenCV loop (reads every frame)": lambda o: naive_opencv(clip, o),
    }
    if ffmpeg:
        contenders = {"ffmpeg -vf fps=1": lambda o: subprocess.run(
            [ffmpeg, "-v", "error", "-i", str(clip), "-vf", "fps=1", str(o / "out%04d.jpg")], check=True),
            **contenders}
    rows = []
    for name, fn in contenders.items():
        best = float("inf")
        for _ in range(a.repeat):
            out = tmp / f"out_{len(rows)}"
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            t0 = time.perf_counter()
            fn(out)
            best = min(best, time.perf_counter() - t0)
        n = len(list(out.rglob("*.jpg")))
        fps = float(cv2.VideoCapture(str(clip)).get(cv2.CAP_PROP_FPS))
        err = None if "keyframes" in name else worst_error(out, fps, barcode=not a.clip)
        rows.append((name, best, n, err))
    base = rows[0][1]
    print(f"\nclip: {clip.name if a.clip else f'generated 1280x720 30 fps H.264, {a.seconds} s'}; best of {a.repeat}\n")
    print(f"| method | seconds | vs {rows[0][0]} | frames | worst error (frames) |")
    print("|---|---:|---:|---:|---:|")
    for name, sec, n, err in rows:
        print(f"| {name} | {sec:.2f} | {sec / base:.2f}x | {n} | {err if err is not None else '-'} |")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
