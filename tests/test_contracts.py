"""The contracts every command keeps, checked on cheap inputs: one error base (exit 2 for a refusal, 1 when some
inputs failed, 70 and a bug report otherwise), frame options checked once before any input opens, honest help,
reconnection with back-off, outputs of two runs that add up, and files that are not what their name says."""

import json
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import skimage.data

import tamgu
from tamgu import commands, printers
from tamgu.cli import BUG_EXIT, main
from tamgu.errors import InputError, InputsFailed, MissingInput, SetupError, TamguError
from tamgu.video.live import backoff
from tamgu.video.reader import VideoError
from tamgu.video.stream import FrameOptions, frame_options

sys.path.insert(0, str(Path(__file__).parent))
from streams import StreamServer  # noqa: E402


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    d = tmp_path_factory.mktemp("photo")
    cv2.imwrite(str(d / "astronaut.png"), cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR))
    return d / "astronaut.png"


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    from tamgu.video.clips import write_clip

    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    write_clip(path, seconds=4.0, fps=10, size=(64, 48))
    return path


# ------------------------------------------------------------------------------------------- one error base
def test_every_kind_of_refusal_is_a_tamgu_error_and_the_standard_class_it_always_was():
    assert issubclass(MissingInput, FileNotFoundError) and issubclass(SetupError, RuntimeError)
    assert all(issubclass(k, (TamguError, ValueError)) for k in (InputError, MissingInput, SetupError, VideoError))
    assert TamguError.exit_code == 2 and InputsFailed.exit_code == 1


@pytest.mark.parametrize("raised, code, words", [
    (InputError("--x 3: use 1 or 2"), 2, "error: --x 3: use 1 or 2"),
    (InputsFailed("2 input(s) could not be read (listed above)"), 1, "2 input(s) could not be read"),
    (KeyError("oops"), BUG_EXIT, "This is a bug in tamgu"),
])
def test_the_cli_tells_a_refusal_a_partial_failure_and_a_bug_apart(raised, code, words, monkeypatch, capsys):
    def broken(out):
        raise raised

    monkeypatch.setitem(commands.BY_NAME, "synth", commands.Command("synth", "x:y", shape=commands.Shape(
        positional=("out",))))
    monkeypatch.setattr(commands.Command, "function", lambda self: broken)
    assert main(["synth", "somewhere"]) == code
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    if code == BUG_EXIT:
        assert main(["-v", "synth", "somewhere"]) == code
        assert "Traceback" in capsys.readouterr().err  # -v shows where, for the report


def test_no_plain_builtin_errors_are_left_for_users_to_meet():
    import re

    src = Path(tamgu.__file__).parent
    plain = [f"{p.relative_to(src)}:{i}" for p in src.rglob("*.py") for i, line in enumerate(p.read_text().splitlines(), 1)
             if re.search(r"raise (ValueError|RuntimeError|FileNotFoundError)\(", line)]
    assert len(plain) <= 15, plain  # what is left are internal invariants, not refusals


# ---------------------------------------------------------------------------- frame options, checked once
def test_frame_options_have_one_default_each_and_refuse_unknown_or_out_of_range_values():
    assert FrameOptions().frame_step == 1 and FrameOptions().timeout == 5.0 and FrameOptions().reconnect == 0
    with pytest.raises(InputError, match=r"no option 'frame_stp' \(did you mean 'frame_step'\?\)"):
        frame_options({"frame_stp": 2}, "detect faces")
    with pytest.raises(InputError, match="--reconnect -1: use 0 or more"):
        frame_options({"reconnect": -1}, "detect faces")
    with pytest.raises(InputError, match="no option 'video'"):
        frame_options({"video": False}, "denoise", "denoise")  # denoise always writes the denoised video


def test_no_frame_option_default_is_written_more_than_three_times_in_signatures():
    """Each default lives in tamgu.defaults or FrameOptions; a signature names it (`progress=PROGRESS`), it does not
    repeat the value (an AST scan of every function in src/tamgu)."""
    import ast
    import collections

    written = collections.Counter()
    for path in Path(tamgu.__file__).parent.rglob("*.py"):
        for fn in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                a = fn.args
                pos = a.posonlyargs + a.args
                pairs = list(zip(pos[len(pos) - len(a.defaults):], a.defaults)) + list(zip(a.kwonlyargs, a.kw_defaults))
                for arg, default in pairs:
                    if arg.arg in FrameOptions.model_fields and isinstance(default, ast.Constant):
                        written[arg.arg, default.value] += 1
    assert max(written.values()) <= 3, written.most_common(5)


@pytest.mark.parametrize("argv, message", [
    (["detect", "people", "{photo}", "--min-score", "-1"], "--min-score -1.0: give a detection score from 0 to 1"),
    (["find", "{photo}", "{photo}", "--threshold", "-0.5"], "--threshold -0.5: give a normalised correlation"),
    (["find", "{photo}", "{photo}", "--threshold", "5"], "--threshold 5.0: give a normalised correlation"),
    (["background", "{photo}", "--out", "{out}", "--replace", "nosuch.jpg"], "--replace 'nosuch.jpg': give blur"),
    (["denoise", "{photo}", "{photo}", "--out", "{out}", "--method", "n2n"], "--method n2n needs --model"),
    (["detect", "faces", "{photo}", "--timeout", "0"], "--timeout 0.0: use more than 0"),
])
def test_options_are_refused_once_before_any_input_opens(argv, message, photo, tmp_path, capsys):
    out = tmp_path / "out"
    assert main([a.format(photo=photo, out=out) for a in argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not out.exists() or not any(out.iterdir())  # nothing was written


def test_the_help_says_the_real_defaults_and_every_kind_of_source(capsys):
    main(["--help"])
    top = capsys.readouterr().out
    assert "Haar (default)" not in top and "BlazeFace (default" in top and "COCO's SSD (default)" in top
    assert "SSDLite (default)" not in top  # people: COCO's person since it found more walkers on vtest.avi
    with pytest.raises(SystemExit):
        main(["detect", "faces", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "turn off:" not in text and "--no-video" in text and "stream URL" in text and "camera" in text
    assert "frame options" in text


# ------------------------------------------------------------------------------------- sources that end
def test_reconnect_waits_longer_each_time_and_keeps_trying_while_the_server_refuses(clip, tmp_path, capsys):
    assert [backoff(k) for k in (1, 2, 3, 4, 5, 9)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    with StreamServer(clip, drop_after=0.3, refuse_for=1.0) as server:
        t = tamgu.detect_faces(server.url, tmp_path / "o", method="haar", reconnect=2, timeout=2, video=False,
                               progress=False)
        refused = server.refused
    s = t.attrs["summaries"][0]
    assert refused == 1 and s["reconnects"] == 2 and server.requests == 2  # a refused try counts; then it played
    assert s["frames_read"] > 30  # the second connection gave the whole clip
    printers.detections(t, {"out": str(tmp_path / "o")})
    printed = capsys.readouterr().out  # every tool says why a live source ended
    assert f"{server.url}: the stream" in printed and "(after 2 reconnects)" in printed


def test_the_progress_bar_knows_seconds_cut_a_video_short():
    from tamgu.video.stream import expected_frames

    info = {"duration": 20.0, "fps": 25.0}
    assert expected_frames(info, 1, None) == 500 and expected_frames(info, 1, 6) == 150
    assert expected_frames(info, 5, 6) == 30 and expected_frames({"duration": None, "fps": 25.0}, 1, 6) is None


# ----------------------------------------------------------------------------------- outputs that add up
def test_a_second_run_into_the_same_folder_adds_its_inputs_and_replaces_only_its_own(photo, tmp_path):
    other = tmp_path / "again.png"
    shutil.copy(photo, other)
    out = tmp_path / "faces"
    tamgu.detect_faces(photo, out, progress=False)
    tamgu.detect_faces(other, out, progress=False)
    tamgu.detect_faces(other, out, progress=False)  # the same input again: its rows are replaced, not doubled
    table = pd.read_csv(out / "detections.csv")
    assert sorted(table["img"].unique()) == ["again.png", "astronaut.png"]
    assert (table["img"] == "again.png").sum() == (table["img"] == "astronaut.png").sum() >= 1
    summary = json.loads((out / "summary.json").read_text())
    assert sorted(Path(s["input"]).name for s in summary["inputs"]) == ["again.png", "astronaut.png"]
    assert {p.name for p in (out / "annotated").iterdir()} == {"again.png", "astronaut.png"}


# ------------------------------------------------------------------------- files that are not what they say
@pytest.mark.parametrize("make, message", [
    (lambda p, photo: p.write_bytes(b""), "the file is empty (0 bytes)"),
    (lambda p, photo: shutil.copy(photo, p), "is a picture (png"),
])
def test_an_empty_file_or_a_picture_named_mp4_is_said_to_be_so(make, message, photo, tmp_path, capsys):
    bad = tmp_path / "clip.mp4"
    make(bad, photo)
    assert main(["frames", str(bad), "--out", str(tmp_path / "f")]) == 1  # it was tried, and is listed
    err = capsys.readouterr().err
    assert message in err and "moov atom" not in err and "OpenCV" not in err, err
    t = tamgu.detect_faces([bad, photo], tmp_path / "d", progress=False)  # a tool reports it and goes on
    assert any(message in e for e in t.attrs["errors"]) and "astronaut.png" in set(t["img"])


def test_frames_says_how_many_near_duplicates_it_left_out(clip, tmp_path, capsys):
    assert main(["frames", str(clip), "--out", str(tmp_path / "f"), "--fps", "5", "--dedupe", "64"]) == 0
    out = capsys.readouterr().out
    kept = len(pd.read_csv(tmp_path / "f" / "frames.csv"))
    assert kept < 20 and f"{20 - kept} sampled frame(s) left out as near-duplicates" in out
    assert np.isfinite(kept)


def test_a_tool_streams_frame_by_frame_and_keeps_its_table(clip, tmp_path):
    run = tamgu.detect_faces(clip, tmp_path / "o", method="haar", stream=True, progress=False)
    frames = list(run)  # list() loses nothing: the table and the summary stay on the run
    assert len(frames) == 40 and {"input", "frame", "time_s", "rows"} <= set(frames[0])
    assert isinstance(run.value, pd.DataFrame) and run.summary[0]["frames_processed"] == 40
    assert (tmp_path / "o" / "detections.csv").is_file()
