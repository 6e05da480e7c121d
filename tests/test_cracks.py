"""Crack detection: measurements on drawn lines, the two methods on drawn cracks and distractors, the crack-set
layout, a tiny U-Net training, the command on photos and a video, and the report."""

import json

import cv2
import numpy as np
import pandas as pd
import pytest

import tamgu
from tamgu.inspection.synth import HELD_OUT_TEXTURES
from tamgu.cli import main
from tamgu.inspection.data import CrackSetError, read_crack_set
from tamgu.inspection.measure import match_scores, measure, skeleton_match


def plain_surface(size=256, seed=0) -> np.ndarray:
    """A smooth grey concrete with mild noise (BGR)."""
    rng = np.random.default_rng(seed)
    grey = 150 + cv2.GaussianBlur(rng.normal(0, 12, (size, size)), (0, 0), 2)
    return np.clip(np.repeat(grey[..., None], 3, axis=2), 0, 255).astype(np.uint8)


def drawn_crack(img: np.ndarray, seed=1) -> np.ndarray:
    """A dark meandering crack drawn onto `img`; returns its true mask."""
    rng = np.random.default_rng(seed)
    h, w = img.shape[:2]
    pts = [(20, int(h * 0.3))]
    for _ in range(22):
        x, y = pts[-1]
        pts.append((x + 10, int(np.clip(y + rng.integers(-6, 7), 10, h - 10))))
    mask = np.zeros((h, w), np.uint8)
    cv2.polylines(mask, [np.array(pts, np.int32)], False, 255, 3)
    img[mask > 0] = (img[mask > 0] * 0.45).astype(np.uint8)
    return mask


def with_distractors(img: np.ndarray) -> np.ndarray:
    """A straight construction joint across the whole image and a round hole (both dark)."""
    h, w = img.shape[:2]
    joint = np.zeros((h, w), np.uint8)
    cv2.line(joint, (0, int(h * 0.75)), (w - 1, int(h * 0.75)), 255, 4)
    cv2.circle(joint, (int(w * 0.8), int(h * 0.5)), 8, 255, -1)
    img[joint > 0] = (img[joint > 0] * 0.5).astype(np.uint8)
    return joint


# ------------------------------------------------------------------------------------------ measuring
def drawn_bar(length: float, width: float, angle: float, size: int = 300) -> np.ndarray:
    """A bar of exactly this length and width (area-true: drawn at 8x and reduced), centred, at `angle` degrees."""
    s = 8
    c = np.array([size / 2 + 0.3, size / 2 + 0.3])
    d = np.array([np.cos(np.radians(angle)), -np.sin(np.radians(angle))]) * length / 2
    n = np.array([d[1], -d[0]]) / np.linalg.norm(d) * width / 2
    big = np.zeros((size * s, size * s), np.uint8)
    cv2.fillPoly(big, [np.round(np.array([c - d - n, c + d - n, c + d + n, c - d + n]) * s).astype(np.int32)], 255)
    return np.where(cv2.resize(big, (size, size), interpolation=cv2.INTER_AREA) >= 128, 255, 0).astype(np.uint8)


@pytest.mark.parametrize("length,width,angle", [(200, 5, 0), (160, 3, 90), (150, 7, 45), (180, 4, 30), (180, 2, 10),
                                                (180, 1, 60)])
def test_a_drawn_bar_measures_its_length_width_and_angle(length, width, angle):
    mask = drawn_bar(length, width, angle)
    (row,) = measure(mask, mm_per_px=0.5)
    assert row["length_px"] == pytest.approx(length, rel=0.04)
    assert row["mean_width_px"] == pytest.approx(width, abs=0.5)
    assert row["max_width_px"] == pytest.approx(width, abs=1.5)
    assert min(abs(row["orientation_deg"] - angle), 180 - abs(row["orientation_deg"] - angle)) < 2
    assert row["length_mm"] == pytest.approx(row["length_px"] * 0.5, abs=0.05)
    assert row["direction"] == {0: "horizontal", 10: "horizontal", 90: "vertical"}.get(angle, "diagonal")
    ys, xs = np.nonzero(mask)
    assert (row["x"], row["y"], row["w"], row["h"]) == (xs.min(), ys.min(), np.ptp(xs) + 1, np.ptp(ys) + 1)


def test_cracks_are_numbered_longest_first_and_tolerance_matching_counts_both_ways():
    mask = np.zeros((100, 200), np.uint8)
    cv2.line(mask, (10, 20), (60, 20), 255, 3)
    cv2.line(mask, (10, 70), (190, 70), 255, 3)
    rows = measure(mask)
    assert [r["crack"] for r in rows] == [1, 2] and rows[0]["length_px"] > rows[1]["length_px"]
    shifted = np.roll(mask, 2, axis=0)  # 2 px off: still a hit
    assert match_scores(skeleton_match(shifted, mask))["f1"] == pytest.approx(1.0, abs=0.02)
    far = np.roll(mask, 6, axis=0)      # 6 px off: a miss
    assert match_scores(skeleton_match(far, mask))["f1"] < 0.1
    assert match_scores(skeleton_match(np.zeros_like(mask), np.zeros_like(mask)))["f1"] == 1.0


# ---------------------------------------------------------------------------------- the two methods
@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A crack U-Net trained for a few epochs on a few generated surfaces (ImageNet encoder, offline)."""
    out = tmp_path_factory.mktemp("crackmodel") / "cracks.pt"
    res = tamgu.train_cracks(out, n=32, epochs=6, patches=128, patch=96, batch_size=12, progress=False)
    return out, res


def test_tiny_training_lowers_the_validation_loss_and_writes_a_checked_model(tiny_model, tmp_path):
    path, res = tiny_model
    val = res["history"]["val_loss"]
    assert min(val[1:]) < val[0], val
    assert res["weights"]["encoder_tensors"] > 100 and res["weights"]["origin"].startswith("package")
    assert res["threshold"] in (0.3, 0.4, 0.5, 0.6, 0.7) and res["format"] == "tamgu-cracks-1"
    assert not list(path.parent.glob(".*work*")), "the scratch folder is removed"
    # a file that is not a crack model, or one with tensors missing, is refused before any work
    import torch

    bad = tmp_path / "bad.pt"
    torch.save({"format": "something-else"}, bad)
    with pytest.raises(tamgu.TamguError, match="not a tamgu crack model"):
        tamgu.cracks([], out=tmp_path / "o", model=bad)
    model = torch.load(path, weights_only=True)
    model["state_dict"].pop(next(iter(model["state_dict"])))
    torch.save(model, bad)
    with pytest.raises(tamgu.TamguError, match="do not fit"):
        tamgu.cracks([], out=tmp_path / "o", model=bad)


@pytest.mark.parametrize("method", ["ridge", "unet"])
def test_each_method_finds_a_drawn_crack_and_ignores_a_straight_joint_and_a_hole(method, tiny_model, tmp_path):
    from tamgu.inspection.cracks import crack_finder

    find = crack_finder(method, tiny_model[0] if method == "unet" else None, "cpu")[0]
    img = plain_surface(seed=3)
    true = drawn_crack(img)
    distract = with_distractors(img)
    pred = find(img)
    s = match_scores(skeleton_match(pred, true))
    assert s["recall"] > 0.7 and s["precision"] > 0.7, s
    on_distractors = (pred > 0) & (cv2.dilate(distract, np.ones((5, 5), np.uint8)) > 0) & (true == 0)
    assert on_distractors.sum() < 0.1 * (distract > 0).sum(), "the joint and the hole are not cracks"
    clean = plain_surface(seed=4)
    with_distractors(clean)
    assert not (find(clean) > 0).any(), "a crack-free surface with a joint and a hole reports nothing"


def test_the_learned_masks_cleaning_keeps_cracks_and_drops_blades_courses_and_joints():
    """What a patch-sized view gets wrong, judged on the whole mask: a short blade alone goes, the same piece
    where the frame cuts it stays, a crack broken into pieces counts whole, straight pieces in a row go."""
    from tamgu.inspection.ridge import EDGE_LENGTH, GROUP_LENGTH, clean_learned

    def curve(mask, x0, y0, length, bend=0.04):
        xs = np.arange(length)
        pts = np.stack([x0 + xs, y0 + bend * (xs - length / 2) ** 2 / 4], 1).astype(np.int32)
        cv2.polylines(mask, [pts], False, 255, 2)

    blade = np.zeros((256, 256), np.uint8)
    curve(blade, 100, 100, int(GROUP_LENGTH * 0.6))
    assert not clean_learned(blade).any(), "a short piece on its own is texture"
    cut = np.zeros((256, 256), np.uint8)
    curve(cut, 0, 100, int(max(EDGE_LENGTH * 1.3, GROUP_LENGTH * 0.6)))
    assert clean_learned(cut).any(), "the same piece at the image's edge is a crack the frame cuts"
    broken = np.zeros((256, 256), np.uint8)
    for x0 in (40, 90, 140):  # three pieces of one crack, 8 px apart where it is faint
        curve(broken, x0, 120 + (x0 - 40) // 10, 42, bend=0.08)
    assert (clean_learned(broken) > 0).sum() == (broken > 0).sum(), "a broken crack counts whole"
    course = np.zeros((256, 256), np.uint8)
    cv2.line(course, (40, 60), (100, 66), 255, 2)
    cv2.line(course, (110, 67), (150, 71), 255, 2)  # a brick course the model saw in two stretches
    assert not clean_learned(course).any(), "straight pieces in a row are a joint or a course, not a crack"


def test_the_vote_keeps_what_every_view_sees_and_drops_what_one_orientation_sees():
    """The U-Net votes over flips and turns of the image: a pixel counts when three quarters of the views put
    it above the threshold. A response tied to the view's orientation is voted out; one that follows the image
    itself survives every view unchanged."""
    import torch
    from torch import nn

    from tamgu.inspection.unet import agreeing, voted

    x = torch.rand(1, 3, 64, 96)

    class LeftHalf(nn.Module):  # "crack" wherever the view has its left half, whatever the image shows
        def forward(self, v):
            logits = torch.full_like(v[:, :1], -9.0)
            logits[..., : v.shape[-1] // 2] = 9.0
            return logits

    follows = nn.Conv2d(3, 1, 1)  # a per-pixel function of the image: the same answer in every view
    assert [agreeing(n) for n in (1, 2, 4, 8)] == [1, 2, 3, 6]
    assert torch.allclose(voted(follows, x, 1), torch.sigmoid(follows(x))[0, 0])
    for views in (2, 4, 8):
        assert torch.allclose(voted(follows, x, views), torch.sigmoid(follows(x))[0, 0], atol=1e-6)
    assert (voted(LeftHalf(), x, 1)[:, :48] > 0.5).all(), "one view: the left half is reported"
    for views in (2, 4, 8):
        assert not (voted(LeftHalf(), x, views) > 0.5).any(), f"{views} views: nothing agrees"
    with pytest.raises(ValueError, match="--views 3: use one of 1, 2, 4, 8"):
        tamgu.cracks([], out="unused", model="missing.pt", views=3)  # refused before the model is looked for


# ------------------------------------------------------------------------------------------ the data
def test_synth_cracks_writes_the_public_layout_with_true_masks(tmp_path):
    out = tamgu.synth_cracks(tmp_path / "set", n=10, seed=2, progress=False)
    pairs = read_crack_set(out)
    table = pd.read_csv(out / "surfaces.csv")
    assert len(pairs) == 10 and table["generated"].all()
    assert (table["cracks"] == 0).any() and (table["cracks"] > 0).any()
    for p, r in zip(pairs, table.itertuples()):
        m = cv2.imread(str(p.mask), cv2.IMREAD_GRAYSCALE)
        assert set(np.unique(m)) <= {0, 255} and (m.any() == (r.cracks > 0))
    again = tamgu.synth_cracks(tmp_path / "again", n=10, seed=2, progress=False)
    assert (again / "images" / pairs[3].name).read_bytes() == pairs[3].image.read_bytes()  # seeded
    free = tamgu.synth_cracks(tmp_path / "free", n=4, seed=2, crack_free=1.0, progress=False)
    assert pd.read_csv(free / "surfaces.csv")["cracks"].eq(0).all()  # a set to count false alarms on
    with pytest.raises(ValueError, match="--crack-free 1.5"):
        tamgu.synth_cracks(tmp_path / "bad", n=4, crack_free=1.5)


def test_the_layout_reader_refuses_mismatched_pairs_naming_the_file(tmp_path):
    out = tamgu.synth_cracks(tmp_path / "set", n=4, seed=0, progress=False)
    names = sorted(p.name for p in (out / "masks").iterdir())
    (out / "masks" / names[1]).rename(out / "masks" / "other.png")
    with pytest.raises(CrackSetError, match=rf"{names[1][:-4]}.*has no mask"):
        read_crack_set(out)
    (out / "masks" / "other.png").rename(out / "masks" / names[1])
    small = cv2.imread(str(out / "masks" / names[2]))[:100]
    cv2.imwrite(str(out / "masks" / names[2]), small)
    with pytest.raises(CrackSetError, match=rf"{names[2]} is 256x100 but its image"):
        read_crack_set(out)
    cv2.imwrite(str(out / "masks" / names[2]), np.zeros((256, 256), np.uint8))
    cv2.imwrite(str(out / "masks" / "stray.png"), np.zeros((256, 256), np.uint8))
    with pytest.raises(CrackSetError, match="stray.png has no image"):
        read_crack_set(out)
    with pytest.raises(CrackSetError, match="no images folder"):
        read_crack_set(out / "masks")


# ------------------------------------------------------------------------------------------ the command
def test_the_command_writes_masks_overlays_and_tables_and_the_report_renders(tiny_model, tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    img = plain_surface(seed=5)
    true_length = measure(drawn_crack(img, seed=2))[0]["length_px"]
    cv2.imwrite(str(photos / "wall.png"), img)
    cv2.imwrite(str(photos / "clean.png"), plain_surface(seed=6))
    out = tmp_path / "out"
    assert main(["cracks", str(photos), "--out", str(out), "--mm-per-px", "0.2"]) == 0
    assert "1 cracks in 2 image(s), 1 with any (ridge)" in capsys.readouterr().out
    table = pd.read_csv(out / "cracks.csv")
    images = pd.read_csv(out / "images.csv")
    assert len(table) == 1 and table["length_mm"].iloc[0] == pytest.approx(table["length_px"].iloc[0] * 0.2, abs=0.02)
    assert table["length_px"].iloc[0] == pytest.approx(true_length, rel=0.1)
    assert images.set_index("img").loc["clean.png", "cracks"] == 0
    mask = cv2.imread(str(out / "wall_mask.png"), cv2.IMREAD_GRAYSCALE)
    assert mask.shape == img.shape[:2] and set(np.unique(mask)) == {0, 255}
    assert (out / "wall_overlay.jpg").is_file() and (out / "clean_mask.png").is_file()
    assert json.loads((out / "cracks.json").read_text())["method"] == "ridge"
    page = tamgu.report(out)
    assert (out / "report.html").is_file() and "wall.png" in page.html()


def test_a_video_of_a_wall_skips_near_duplicate_frames(tmp_path):
    """A camera moving along a wall, then standing still: the still frames are analysed once."""
    clip = tamgu.synth_wall_clip(tmp_path / "wall.mp4", seconds=2, fps=10, seed=1)  # moves 12 frames, then holds
    table = tamgu.cracks(clip, out=tmp_path / "out", progress=False)
    images = table.attrs["images"]
    skipped = table.attrs["skipped"]
    assert skipped["dedupe"] >= 6 and len(images) + skipped["dedupe"] == 20
    assert 0.5 < images["cracks"].gt(0).mean()
    every = tamgu.cracks(clip, out=tmp_path / "every", every=1.0, dedupe=0, progress=False)
    assert len(every.attrs["images"]) == 2 and every.attrs["skipped"]["every"] == 18
    assert (tmp_path / "out" / "wall_overlay.mp4").is_file()
    assert {"frame", "time_s"} <= set(table.columns)


def test_eval_puts_both_methods_side_by_side(tiny_model, tmp_path):
    data = tamgu.synth_cracks(tmp_path / "judge", n=6, seed=9, textures=list(HELD_OUT_TEXTURES), progress=False)
    table = tamgu.evaluate_cracks(data, model=tiny_model[0], out=tmp_path / "eval", progress=False)
    s = table.attrs["summary"].set_index("method")
    assert list(s.index) == ["ridge", "unet"] and s["images"].eq(6).all()
    assert {"precision", "recall", "f1", "false_alarms", "length_error"} <= set(s.columns)
    assert (tmp_path / "eval" / "summary.csv").is_file()
