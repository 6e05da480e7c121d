"""RAW bursts: DNG files LibRaw reads, a merge that beats every per-frame filter, refusals, the RAW denoiser."""

import json

import cv2
import numpy as np
import pandas as pd
import pytest
import skimage.data

import tamgu
from tamgu.cli import main
from tamgu.denoising import burst as B
from tamgu.denoising import night, raw, unprocess as sim
from tamgu.denoising.filters import denoise_image
from tamgu.denoising.noise import psnr, to_float


@pytest.fixture(scope="module")
def photo():
    return to_float(skimage.data.coffee()[60:316, 160:416])  # a real photo, 256x256


@pytest.fixture(scope="module")
def bursts(tmp_path_factory):
    """Two simulated bursts written as DNG files, as `tamgu denoise simulate` writes them."""
    out = tmp_path_factory.mktemp("bursts")
    table = tamgu.simulate_bursts(out, light="1/32", frames=4, size=128, names=["chelsea", "rocket"])
    return out, table


def test_simulated_dngs_are_read_back_by_libraw_with_their_levels_pattern_and_colours(bursts):
    out, table = bursts
    assert len(table) == 2 and (out / "bursts.csv").is_file()
    fr = raw.read_raw(out / "chelsea" / "frame_000.dng")
    expect = sim.camera_meta(1 / 32)
    assert fr.meta.pattern == "RGGB" and fr.meta.black == (512.0,) * 4 and fr.meta.white == 16383
    assert np.allclose(fr.meta.wb, expect.wb, atol=1e-3)
    assert np.allclose(fr.meta.ccm, expect.ccm, atol=0.02)  # LibRaw's camera->sRGB from the DNG's ColorMatrix1
    assert fr.meta.noise == pytest.approx((sim.SHOT, sim.READ))  # the DNG's NoiseProfile
    assert fr.planes.shape == (56, 56, 4) and fr.planes.min() < 0  # noise below black is kept
    mosaic = np.arange(16, dtype=np.uint16).reshape(4, 4)
    for pattern in raw.PATTERNS:
        assert np.array_equal(raw.unpack(raw.pack(mosaic, pattern), pattern), mosaic)
    assert list(raw.pack(mosaic, "GBRG")[0, 0]) == [4, 0, 5, 1]  # R, G, G, B


def test_the_raw_merge_beats_the_best_per_frame_filter_and_the_same_merge_in_srgb(photo):
    b = sim.simulate_burst(photo, 8, 1 / 64, 1.5, seed=1)
    one = night._jpeg(raw.develop(b.frames[0], b.meta))
    best = max(psnr(b.truth, denoise_image(one, m)) for m in ("nlm", "bilateral", "gaussian", "median", "tv"))
    merged_raw = psnr(b.truth, night.night(b.frames, b.meta, "raw")["image"])
    merged_srgb = psnr(b.truth, night.night(b.frames, b.meta, "srgb")["image"])
    assert merged_raw > best + 3, (merged_raw, best)
    assert merged_raw > merged_srgb, (merged_raw, merged_srgb)


def test_something_crossing_the_burst_leaves_no_ghost(photo):
    b = sim.simulate_burst(photo, 6, 1 / 16, 1.0, moving=True, seed=2)
    robust, mean = B.merge(b.frames), B.merge(b.frames, robust=False)
    assert psnr(b.truth, raw.develop(robust.image, b.meta)) > psnr(b.truth, raw.develop(mean.image, b.meta)) + 1
    assert robust.frames_used.min() < 1.5 and np.median(robust.frames_used) > 5  # rejected where it moved only


def test_the_command_merges_bursts_in_raw_or_srgb_and_writes_the_table(bursts, tmp_path, capsys):
    out, _ = bursts
    assert main(["denoise", str(out / "chelsea"), str(out / "rocket"), "--method", "burst", "--out",
                 str(tmp_path / "n")]) == 0
    assert "4 of 4 frame(s) aligned" in capsys.readouterr().out
    table = pd.read_csv(tmp_path / "n" / "denoise.csv")
    assert list(table["space"]) == ["raw", "raw"] and (table["frames_used"] > 3.5).all()
    truth = cv2.imread(str(out / "chelsea" / "truth.png"))
    first = night._jpeg(raw.develop(raw.read_raw(out / "chelsea" / "frame_000.dng").planes, sim.camera_meta(1 / 32)))
    assert psnr(truth, cv2.imread(str(tmp_path / "n" / "chelsea.png"))) > psnr(to_float(truth[..., ::-1]), first) + 3
    res = tamgu.denoise(out / "chelsea", tmp_path / "s", method="burst", space="srgb")
    assert res["space"].iloc[0] == "srgb" and (tmp_path / "s" / "chelsea.png").is_file()


def test_bad_bursts_are_refused_with_what_and_how(bursts, tmp_path):
    out, _ = bursts
    one = tmp_path / "one"
    one.mkdir()
    (one / "a.dng").write_bytes((out / "chelsea" / "frame_000.dng").read_bytes())
    with pytest.raises(tamgu.TamguError, match="at least two captures"):
        night.read_burst(one)
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for k, name in enumerate(("chelsea", "rocket")):
        (mixed / f"f{k}.dng").write_bytes((out / name / "frame_000.dng").read_bytes())
    sim.write_dng(mixed / "f2.dng", np.zeros((40, 40, 4), np.float32), sim.camera_meta(1 / 32))
    with pytest.raises(tamgu.TamguError, match="all one size"):
        night.read_burst(mixed)
    import tifffile

    bare = tmp_path / "bare.dng"
    tifffile.imwrite(bare, np.full((32, 32), 600, np.uint16), photometric=32803, metadata=None,
                     extratags=[(50706, "B", 4, (1, 4, 0, 0), True), (33421, "H", 2, (2, 2), True),
                                (33422, "B", 4, (0, 1, 1, 2), True)])
    with pytest.raises(tamgu.TamguError, match="no BlackLevel"):
        raw.read_raw(bare)
    png = tmp_path / "png"
    png.mkdir()
    for k in range(2):
        cv2.imwrite(str(png / f"f{k}.png"), np.full((32, 32), 600, np.uint16))
    with pytest.raises(tamgu.TamguError, match="raw.json"):
        raw.read_raw(png / "f0.png")
    (png / "raw.json").write_text(json.dumps({"black": 512, "white": 16383, "pattern": "RGGB", "wb": [2, 1, 1.6]}))
    frames, meta, _ = night.read_burst(png)
    assert meta.pattern == "RGGB" and frames[0].shape == (16, 16, 4)
    photos = tmp_path / "photos"
    photos.mkdir()
    for k in range(2):
        cv2.imwrite(str(photos / f"p{k}.jpg"), np.full((32, 32, 3), 90, np.uint8))
    with pytest.raises(tamgu.TamguError, match="use --space srgb"):
        tamgu.denoise(photos, tmp_path / "x", method="burst", space="raw")


def test_a_tiny_raw_denoiser_trains_loads_and_denoises_a_dng(bursts, tmp_path, capsys):
    out, _ = bursts
    model = tmp_path / "raw.pt"
    res = tamgu.train_denoiser(model, space="raw", epochs=1, steps=3, batch_size=4, patch=32, base=8, depth=2,
                               progress=False, images=[to_float(skimage.data.astronaut())] * 2)
    assert res["space"] == "raw" and np.isfinite(res["best_val_loss"])
    assert main(["denoise", str(out / "rocket" / "frame_000.dng"), "--method", "n2n", "--space", "raw",
                 "--model", str(model), "--out", str(tmp_path / "o")]) == 0
    assert "denoised by the RAW model" in capsys.readouterr().out and (tmp_path / "o" / "frame_000.png").is_file()
    with pytest.raises(tamgu.TamguError, match="RAW sensor data"):
        denoise_image(np.zeros((16, 16, 3), np.float32), "n2n", model=model)
