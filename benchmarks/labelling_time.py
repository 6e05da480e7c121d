"""Time to label a minute of video: the labelling page (`tamgu label`) against typing the CSV by hand.

Run by hand, not in CI, on an otherwise idle machine:

    .venv/bin/python benchmarks/labelling_time.py                 # opencv-doc's vtest.avi, its first minute
    .venv/bin/python benchmarks/labelling_time.py --changes 12    # a busier minute

No person is timed here: a scripted labeller drives the page in headless Chromium as a person would (space to
play at 1x, a digit at each change of activity, E at the end), and the page's CSV is read back. Measured: the
whole session's wall time, how fast the page plays (frames decoded by tamgu on these cores, shown per second
while playing), the keys pressed, how far each saved boundary is from the scripted change, and the characters a
person would have typed for the same rows.

Estimated, for a person, with the keystroke-level model (Card, Moran and Newell, "The Psychology of
Human-Computer Interaction", 1983; operator times as in Kieras's KLM guide): K = 0.28 s a keystroke (an average
typist), M = 1.35 s to decide or read, H = 0.4 s to move a hand between mouse and keyboard, P = 1.1 s to point.
Both ways watch the minute once at 1x. On the page each change costs M + K while the video plays; typing the CSV
costs, for each row, pausing the player (K), finding the exact moment (M + 4 K of frame steps), reading the time
off the player (M), going to the editor (H + P), typing the row and Enter (its characters x K) and coming back
(H + P + K to resume). Both estimates use the same operators; they are a model, not a user study.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from tamgu.runtime import processor

K, M, H, P = 0.28, 1.35, 0.4, 1.1  # KLM operators (seconds)
VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
CLASSES = ["walk", "stop", "run"]


def schedule(changes: int, minute: float, seed: int) -> list[tuple[float, str]]:
    """(start, label) of each scripted segment: `changes` changes of label spread over the minute."""
    rng = np.random.default_rng(seed)
    cuts = np.sort(rng.uniform(2.0, minute - 2.0, changes))
    while len(cuts) > 1 and np.diff(cuts).min() < 2.0:  # at least 2 s per segment, as real activities last
        cuts = np.sort(rng.uniform(2.0, minute - 2.0, changes))
    labels, last = [], None
    for _ in range(changes + 1):
        last = rng.choice([c for c in CLASSES if c != last])
        labels.append(str(last))
    return list(zip([0.0, *np.round(cuts, 2).tolist()], labels))


def drive_page(video: Path, out: Path, plan: list[tuple[float, str]], minute: float) -> dict:
    """The scripted labeller on the page; returns what was measured."""
    from playwright.sync_api import sync_playwright

    from tamgu.curation.label import LabelServer

    key = {c: str(i + 1) for i, c in enumerate(CLASSES)}
    server = LabelServer([video], out, CLASSES, port=0)
    frames, pressed = [0], []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium") or shutil.which("chromium-browser"),
                                        args=["--no-sandbox", "--disable-gpu"])
            tab = browser.new_page(viewport={"width": 1000, "height": 800})
            tab.on("response", lambda r: frames.__setitem__(0, frames[0] + ("/frame.jpg" in r.url)))
            tab.goto(server.url)
            tab.wait_for_function("document.body.dataset.shown === '0'")
            started = time.perf_counter()
            tab.keyboard.press(key[plan[0][1]])  # the first label starts at 0 s
            pressed.append(key[plan[0][1]])
            frames[0] = 0
            tab.keyboard.press(" ")
            pressed.append(" ")
            play_started, errors = time.perf_counter(), []
            for start, label in [*plan[1:], (minute, None)]:
                while (now := tab.evaluate("t")) < start:
                    time.sleep(0.005)
                errors.append(now - start)
                if label is None:
                    tab.keyboard.press(" ")
                    tab.keyboard.press("e")
                    pressed += [" ", "e"]
                else:
                    tab.keyboard.press(key[label])
                    pressed.append(key[label])
            played = time.perf_counter() - play_started
            shown = frames[0]
            tab.wait_for_function(f"+(document.body.dataset.saves || 0) >= {len(plan)}")
            session = time.perf_counter() - started
            browser.close()
    finally:
        server.close()
    rows = pd.read_csv(out)
    truth = np.array([s for s, _ in plan])
    return {"session_s": session, "played_s": played, "rate": minute / played, "frames_per_s": shown / played,
            "keys": len(pressed), "rows": len(rows), "labels_right": rows["label"].tolist() == [lbl for _, lbl in plan],
            "boundary_error_s": float(np.abs(rows["start"].to_numpy()[1:] - truth[1:]).max()) if len(plan) > 1 else 0.0,
            "key_lag_s": float(np.mean(errors)), "csv": rows}


def typed_characters(rows: pd.DataFrame) -> list[int]:
    """Characters a person types for each row, times to a tenth of a second as read off a player, plus Enter."""
    return [len(f"{r.video},{r.start:.1f},{r.end:.1f},{r.label}") + 1 for r in rows.itertuples()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--video", type=Path, default=VTEST)
    ap.add_argument("--minute", type=float, default=60.0, help="seconds of video to label")
    ap.add_argument("--changes", type=int, default=8, help="changes of label within them")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tamgu-labelling-"))
    try:
        plan = schedule(args.changes, args.minute, args.seed)
        got = drive_page(args.video, work / "labels.csv", plan, args.minute)
        chars = typed_characters(got["csv"])
        header = len("video,start,end,label") + 1
        page = args.minute + len(plan) * M + got["keys"] * K
        per_row = [K + (M + 4 * K) + M + (H + P) + c * K + (H + P + K) for c in chars]
        typing = args.minute + header * K + sum(per_row)
        print(f"\n{processor()}, {os.cpu_count()} cores; {args.video.name}, "
              f"{args.minute:g} s with {args.changes} changes ({len(plan)} segments)\n")
        print("measured, the scripted labeller on the page in headless Chromium:")
        print(f"  session {got['session_s']:.1f} s (played {got['played_s']:.1f} s: {got['rate']:.2f}x real time, "
              f"{got['frames_per_s']:.1f} pictures fetched from tamgu a second); {got['keys']} keys; {got['rows']} rows saved, "
              f"labels {'all right' if got['labels_right'] else 'WRONG'}; boundaries within "
              f"{got['boundary_error_s']:.2f} s of the script (key lag {got['key_lag_s'] * 1000:.0f} ms)")
        print(f"  typing the same rows: {sum(chars) + header} characters ({np.mean(chars):.0f} a row)\n")
        print("estimated for a person (keystroke-level model):")
        print(f"  the page {page:.0f} s; typing the CSV {typing:.0f} s ({typing / page:.1f}x the page; "
              f"{(typing - args.minute) / max(page - args.minute, 1e-9):.1f}x beyond watching the minute once)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
