import importlib.util

import cv2
import numpy as np
import pandas as pd
import pytest
import skimage.data
import torch

import tamgu
from tamgu.cli import main
from tamgu.video.clips import write_clip
from tamgu.denoising.filters import available_methods, denoise_image, evaluate_denoisers
from tamgu.denoising.n2n import SyntheticPairs, UNet, apply, apply_tiled, apply_whole, load_denoiser, train_denoiser
from tamgu.denoising.noise import NoiseSpec, estimate_sigma, psnr, to_float, to_uint8

CLASSICAL = ["nlm", "bilateral", "median", "gaussian", "tv", "wavelet", "bm3d"]


@pytest.fixture(scope="module")
def clean():
    return to_float(skimage.data.camera()[128:256, 192:320])  # a real photo, 128x128


@pytest.fixture(scope="module")
def noisy(clean):
    return to_float(to_uint8(NoiseSpec.parse("gaussian:25").add(clean, np.random.default_rng(0))))


@pytest.fixture(scope="module")
def tiny_n2n(tmp_path_factory):
    """A small Noise2Noise U-Net trained for seconds on noisy copies of scikit-image photos."""
    path = tmp_path_factory.mktemp("n2n") / "n2n.pt"
    imgs = [to_float(skimage.data.astronaut()), to_float(skimage.data.coffee()), to_float(skimage.data.brick())]
    res = train_denoiser(path, noise="gaussian:15-35", epochs=4, steps=40, batch_size=8, patch=48, base=12, depth=2,
                         lr=3e-3, images=imgs, progress=False)
    return path, res


@pytest.mark.parametrize("method", CLASSICAL)
def test_every_classical_method_improves_psnr(method, clean, noisy):
    if method == "bm3d" and importlib.util.find_spec("bm3d") is None:
        pytest.skip("bm3d is an optional extra (non-commercial licence)")
    out = denoise_image(noisy, method, sigma=25)
    assert out.shape == noisy.shape and out.dtype == np.float32
    assert psnr(clean, out) > psnr(clean, noisy) + 1.0


def test_colour_and_uint8_round_trip():
    img = skimage.data.astronaut()[:96, :96]
    noisy = to_uint8(NoiseSpec.parse("gaussian:20").add(to_float(img), np.random.default_rng(1)))
    out = denoise_image(noisy, "nlm")  # sigma estimated
    assert out.dtype == np.uint8 and out.shape == img.shape
    assert psnr(img, out) > psnr(img, noisy)


def test_sigma_is_estimated(noisy):
    assert estimate_sigma(noisy) == pytest.approx(25, abs=4)


def test_tiny_n2n_training_lowers_validation_loss_and_improves_psnr(tiny_n2n, clean, noisy):
    path, res = tiny_n2n
    net = load_denoiser(path)
    assert net.meta["target"] == "noisy" and net.meta["noise"] == "gaussian:15-35"
    # the network starts as the identity, whose loss against a noisy target is about 2 sigma^2
    identity_loss = 2 * (25 / 255) ** 2
    assert res["best_val_loss"] < 0.9 * identity_loss
    assert psnr(clean, denoise_image(noisy, "n2n", model=path)) > psnr(clean, noisy) + 1.0


def test_speckle_model_handles_multiplicative_noise(tmp_path, clean):
    spec = NoiseSpec.parse("speckle:50")
    assert spec.loss == "l2"  # E[x (1 + n)] = x: the mean is still the clean value
    imgs = [to_float(skimage.data.coffee()), to_float(skimage.data.astronaut())]
    train_denoiser(tmp_path / "speckle.pt", noise=str(spec), epochs=4, steps=40, batch_size=8, patch=48, base=12,
                   depth=2, lr=3e-3, images=imgs, progress=False)
    speckled = spec.add(clean, np.random.default_rng(3))
    # multiplicative: the noise grows with brightness
    assert np.std((speckled - clean)[clean > 0.7]) > 2 * np.std((speckled - clean)[clean < 0.2])
    out = denoise_image(speckled, "n2n", model=tmp_path / "speckle.pt")
    assert psnr(clean, out) > psnr(clean, speckled) + 1.0


def test_saltpepper_uses_l1():
    assert NoiseSpec.parse("saltpepper:0.05").loss == "l1"


@pytest.mark.parametrize("text", ["gauss:25", "gaussian:abc", "gaussian:50-5"])
def test_bad_noise_spec(text):
    with pytest.raises(ValueError, match="noise"):
        NoiseSpec.parse(text)


def test_tiled_inference_equals_whole_image_away_from_borders():
    torch.manual_seed(0)
    net = UNet(base=8, depth=2).eval()
    torch.nn.init.normal_(net.out.weight, std=0.1)  # not the identity: make the network do something
    img = to_float(skimage.data.camera()[:200, :232])
    whole = apply_whole(net, img)
    tiled = apply_tiled(net, img, tile=64, overlap=32)
    inner = (slice(24, -24), slice(24, -24))
    assert np.abs(whole[inner] - tiled[inner]).max() < 1e-4
    assert tiled.shape == img.shape


def test_large_images_go_in_tiles_and_colour_channels_in_one_batch():
    torch.manual_seed(0)
    net = UNet(base=8, depth=2).eval()
    torch.nn.init.normal_(net.out.weight, std=0.1)
    img = to_float(skimage.data.astronaut()[:96, :128])
    assert np.array_equal(apply(net, img, max_pixels=96 * 128), apply_whole(net, img))
    assert np.array_equal(apply(net, img, max_pixels=96 * 128 - 1), apply_tiled(net, img))
    per_channel = np.stack([apply_whole(net, img[..., c]) for c in range(3)], -1)
    assert np.abs(apply_whole(net, img) - per_channel).max() < 1e-5


def test_noise2noise_targets_are_unbiased_on_black_and_white():
    """A clipped noisy target averages brighter than black and darker than white, and the network would learn
    that bias; the synthetic targets keep the noise whole, while inputs stay clipped like stored photos."""
    img = np.zeros((64, 128), np.float32)
    img[:, 64:] = 1.0
    pairs = SyntheticPairs([img], NoiseSpec.parse("gaussian:25"), patch=64, length=200, target="noisy", seed=0)
    inp, tgt, clean = (torch.stack(t).numpy() for t in zip(*(pairs[i] for i in range(200))))
    assert 0 <= inp.min() and inp.max() <= 1
    black, white = clean == 0, clean == 1
    assert black.sum() > 1000 and white.sum() > 1000
    for where in (black, white):  # zero-mean noise: the target averages to the clean image
        assert abs((tgt - clean)[where].mean()) < 2e-3
    # the clipped input is biased by about sigma / sqrt(2 pi) = 0.04
    assert (inp - clean)[black].mean() > 0.03 and (inp - clean)[white].mean() < -0.03


def test_denoise_folder_video_and_bad_file(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    noisy = to_uint8(NoiseSpec.parse("gaussian:25").add(to_float(skimage.data.coins()), np.random.default_rng(0)))
    cv2.imwrite(str(src / "coins.png"), noisy)
    (src / "broken.jpg").write_bytes(b"not an image")
    write_clip(src / "clip.mp4", seconds=1, fps=10, size=(64, 48))
    assert main(["denoise", str(src), "--out", str(tmp_path / "out"), "--method", "median"]) == 1
    captured = capsys.readouterr()
    assert "broken.jpg" in captured.err and "denoised 2 of 3" in captured.out
    out = cv2.imread(str(tmp_path / "out" / "coins.png"), cv2.IMREAD_GRAYSCALE)
    assert psnr(skimage.data.coins(), out) > psnr(skimage.data.coins(), noisy)
    import av

    with av.open(str(tmp_path / "out" / "clip.mp4")) as c:
        assert sum(1 for _ in c.decode(video=0)) == 10


def test_eval_table_and_picture(tmp_path, tiny_n2n):
    path, _ = tiny_n2n
    table = evaluate_denoisers(noise="gaussian:25", methods=["nlm", "median", "n2n"], model=path, out=tmp_path, progress=False)
    assert set(table["method"]) == {"noisy", "nlm", "median", "n2n"}
    means = table.groupby("method")["psnr"].mean()
    assert means["nlm"] > means["noisy"]
    assert (tmp_path / "results.csv").exists() and (tmp_path / "side_by_side.png").exists()
    assert pd.read_csv(tmp_path / "results.csv")["sec_per_mp"].ge(0).all()


def test_cli_eval_and_train_words(tmp_path, capfd):
    assert main(["denoise", "eval", "--methods", "gaussian", "--out", str(tmp_path)]) == 0
    assert "gaussian" in capfd.readouterr().out
    assert "n2n" in available_methods("x.pt")
    assert main(["denoise", "train", "--out", str(tmp_path / "m.pt"), "--epochs", "1", "--steps", "2",
                 "--batch-size", "2", "--patch", "32", "--base", "4", "--depth", "2"]) == 0
    out, err = capfd.readouterr()  # quiet: a line an epoch in a log, none of Lightning's banners or tips
    assert "m epoch 0: train_loss" in out and "GPU available" not in out + err and "Tip" not in out + err
    assert tamgu.denoise_image is not None


@pytest.fixture(scope="module")
def noisy_pan():
    """A slow pan over three real photos (320x240, 30 frames) with Gaussian noise sigma 25."""
    from tamgu.denoising.temporal import pan

    clean = pan([skimage.data.astronaut(), skimage.data.coffee(), skimage.data.chelsea()], (320, 240), 30, 2)
    rng = np.random.default_rng(0)
    noisy = [np.clip(f + rng.normal(0, 25, f.shape), 0, 255).astype(np.uint8) for f in clean]
    return clean, noisy


def test_temporal_denoising_beats_every_per_frame_filter_by_a_decibel(noisy_pan):
    from tamgu.denoising.temporal import TemporalDenoiser

    clean, noisy = noisy_pan
    denoiser = TemporalDenoiser()
    temporal = [denoiser(n) for n in noisy]
    score = lambda outs: np.mean([psnr(c, o) for c, o in zip(clean[8:], outs[8:])])  # noqa: E731
    best_frame_alone = max(score([denoise_image(n, m) for n in noisy]) for m in ("gaussian", "median", "bilateral", "nlm"))
    assert score(temporal) >= best_frame_alone + 1.0
    assert score(temporal) > score(noisy) + 6


def test_temporal_denoising_restarts_where_the_picture_changes(noisy_pan):
    """A cut to another picture must not leave a ghost of the old one."""
    from tamgu.denoising.temporal import TemporalDenoiser

    clean, noisy = noisy_pan
    denoiser = TemporalDenoiser()
    for n in noisy[:10]:
        denoiser(n)
    other = np.ascontiguousarray(np.flipud(clean[0]))
    out = denoiser(np.clip(other + np.random.default_rng(1).normal(0, 25, other.shape), 0, 255).astype(np.uint8))
    assert psnr(other, out) > 24  # the new picture, lightly smoothed, not the old one blended in


def test_temporal_denoising_of_speckle(noisy_pan):
    from tamgu.denoising.temporal import TemporalDenoiser

    clean, _ = noisy_pan
    rng = np.random.default_rng(2)
    speckled = [np.clip(c * (1 + rng.normal(0, 25 / 255, c.shape)), 0, 255).astype(np.uint8) for c in clean]
    denoiser = TemporalDenoiser(speckle=True)
    outs = [denoiser(s) for s in speckled]
    assert np.mean([psnr(c, o) for c, o in zip(clean[8:], outs[8:])]) > \
        np.mean([psnr(c, s) for c, s in zip(clean[8:], speckled[8:])]) + 5


def test_video_denoising_keeps_the_sound_and_black_frames_do_not_break_it(tmp_path, capsys):
    import av

    megamind = "/usr/share/doc/opencv-doc/examples/data/Megamind.avi"
    if importlib.util.find_spec("av") is None or not __import__("os").path.exists(megamind):
        pytest.skip("Debian opencv-doc is not installed (make test installs it)")
    assert main(["denoise", megamind, "--out", str(tmp_path), "--method", "temporal", "--seconds", "1"]) == 0
    with av.open(str(tmp_path / "Megamind.mp4")) as v:
        assert [s.type for s in v.streams] == ["video", "audio"] and v.duration / 1e6 < 2
    table = pd.read_csv(tmp_path / "denoise.csv")
    assert table.loc[0, "audio"] == "kept" and table.loc[0, "fps"] > 0
    from tamgu.video.writer import VideoOut

    black = VideoOut(tmp_path / "black.mp4", 10)
    for i in range(6):
        black.write(np.zeros((48, 64, 3), np.uint8) if i < 3 else np.full((48, 64, 3), 90 + 10 * i, np.uint8))
    black.close()
    with __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("error", RuntimeWarning)
        t = tamgu.denoise(tmp_path / "black.mp4", tmp_path / "b", method="nlm", progress=False)
    assert np.isfinite(t.loc[0, "sigma"]) and t.loc[0, "frames"] == 6
