"""ImageNet weights found offline, loaded tensor by tensor, refused when they do not fit."""

import json
import logging
import shutil

import numpy as np
import pytest
import timm
import torch
from safetensors.torch import save_file
from skimage import data as skdata
from timm.data import ImageNetInfo

import tamgu
from tamgu.pipeline.models import build_model, fold_batchnorm
from tamgu.pipeline.weights import (KNOWN, WeightsError, load_weights, map_state_dict, read_state_dict,
                                    resolve_weights)


@pytest.fixture
def empty_caches(tmp_path, monkeypatch):
    """Torch hub and Hugging Face caches that hold nothing, so only packages and named files count."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    return tmp_path


def _imagenet_top5(model: torch.nn.Module, img: np.ndarray, mean, std) -> list[str]:
    x = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).float()[None] / 255  # (1, 3, H, W)
    x = torch.nn.functional.interpolate(x, size=(224, 224), mode="bilinear", antialias=True)
    x = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    with torch.no_grad():
        top = model.eval()(x).topk(5).indices[0]
    info = ImageNetInfo()
    return [info.index_to_description(int(i)) for i in top]


@pytest.mark.parametrize("name", ["mobilenetv2_100", "efficientnet_lite0"])
@pytest.mark.parametrize("photo,expected", [("coffee", "espresso"), ("chelsea", "Egyptian cat")])
def test_offline_imagenet_weights_recognise_real_photos(name, photo, expected, empty_caches):
    source = resolve_weights(name, "imagenet")
    assert source.origin.startswith("package ")
    model = timm.create_model(name, pretrained=False)
    report = load_weights(model, source, keep_classifier=True)
    assert report.loaded == report.backbone == len(model.state_dict())
    top5 = _imagenet_top5(model, getattr(skdata, photo)(), source.mean, source.std)
    assert top5[0] == expected, top5


def test_the_load_is_counted_and_logged(empty_caches, caplog):
    caplog.set_level(logging.INFO, logger="tamgu")
    net, meta = build_model("mobilenetv2_100", 10, weights="imagenet", image_size=(64, 48))
    assert "312 of 312 backbone tensors loaded" in caplog.text  # 314 less the 1000-class classifier
    assert meta["weights"]["loaded"] == meta["weights"]["backbone_tensors"] == 312
    assert meta["mean"] == pytest.approx([0.485, 0.456, 0.406])
    lite, lite_meta = build_model("efficientnet_lite0", 10, weights="imagenet", image_size=(64, 48))
    assert lite_meta["mean"] == lite_meta["std"] == [0.5, 0.5, 0.5]  # the weights' own normalisation


def test_the_book_head_loads_the_whole_backbone(empty_caches):
    net, meta = build_model("mobilenetv2_100", 10, head="book", weights="imagenet", image_size=(64, 48))
    assert meta["weights"]["loaded"] == 312
    ref = read_state_dict(resolve_weights("mobilenetv2_100", "imagenet").path)
    assert torch.equal(net.backbone.conv_stem.weight, ref["features.0.0.weight"])


def test_a_checkpoint_of_another_architecture_is_refused(tmp_path, empty_caches):
    other = tmp_path / "resnet18.pth"
    torch.save(timm.create_model("resnet18").state_dict(), other)
    with pytest.raises(WeightsError, match="does not fit mobilenetv2_100.*nothing was loaded"):
        build_model("mobilenetv2_100", 10, weights=str(other))
    with pytest.raises(tamgu.ConfigError, match="weights"):
        tamgu.load_config(weights=str(tmp_path / "nowhere.pth"))


def test_a_checkpoint_missing_one_tensor_is_refused(tmp_path, empty_caches):
    sd = read_state_dict(resolve_weights("mobilenetv2_100", "imagenet").path)
    del sd["features.5.conv.1.1.running_var"]
    cut = tmp_path / "cut.pth"
    torch.save(sd, cut)
    model = timm.create_model("mobilenetv2_100", num_classes=10)
    before = model.conv_stem.weight.clone()
    with pytest.raises(WeightsError, match="nothing was loaded"):
        load_weights(model, cut)
    assert torch.equal(model.conv_stem.weight, before)  # refused means untouched


def test_a_file_that_is_not_a_checkpoint_is_refused(tmp_path, empty_caches):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match="not a readable weights checkpoint"):
        build_model("mobilenetv2_100", 10, weights=str(junk))


def test_the_torch_hub_cache_is_searched_first(empty_caches):
    package_file = resolve_weights("mobilenetv2_100", "imagenet").path
    hub = empty_caches / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    shutil.copy(package_file, hub / "mobilenet_v2-b0353104.pth")
    found = resolve_weights("mobilenetv2_100", "imagenet")
    assert found.origin == "torch hub cache" and found.path == hub / "mobilenet_v2-b0353104.pth"
    net, meta = build_model("mobilenetv2_100", 10, weights="imagenet", image_size=(64, 48))
    assert meta["weights"]["origin"] == "torch hub cache" and meta["weights"]["loaded"] == 312


def test_timm_weights_in_the_hugging_face_cache_load_by_name(empty_caches):
    model = timm.create_model("mobilenetv2_100")
    mapped, _ = map_state_dict(model, read_state_dict(resolve_weights("mobilenetv2_100", "imagenet").path),
                               keep_classifier=True)
    snap = empty_caches / "hf" / "models--timm--mobilenetv2_100.ra_in1k" / "snapshots" / "abc123"
    snap.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in mapped.items()}, str(snap / "model.safetensors"))
    (snap / "config.json").write_text(json.dumps({"pretrained_cfg": {"mean": [0.5, 0.5, 0.5], "std": [0.25] * 3}}))
    found = resolve_weights("mobilenetv2_100", "imagenet")
    assert found.origin == "Hugging Face cache" and found.std == (0.25, 0.25, 0.25)
    report = load_weights(timm.create_model("mobilenetv2_100", num_classes=10), found)
    assert report.loaded == 312 and report.mapping == "by name"


@pytest.mark.parametrize("model,file", [("vgg16", "vgg16-397923af.pth"), ("resnet50", "resnet50-0676ba61.pth")])
def test_missing_weights_say_which_file_where_and_how(model, file, empty_caches):
    with pytest.raises(WeightsError) as err:
        build_model(model, 10, weights="imagenet")
    msg = str(err.value)
    assert model in msg and file in msg
    assert str(empty_caches / "torch" / "hub" / "checkpoints") in msg  # where to put it
    assert f"torchvision.models.{model}(weights='IMAGENET1K_V1')" in msg  # the command that fetches it
    assert "mobilenetv2_100" in msg and "efficientnet_lite0" in msg  # what works offline instead


def test_a_user_file_in_torchvision_layout_loads(tmp_path, empty_caches):
    src = resolve_weights("mobilenetv2_100", "imagenet").path
    folder = tmp_path / "weights"
    folder.mkdir()
    shutil.copy(src, folder / KNOWN["mobilenetv2_100"].files[0])
    for given in (folder, folder / KNOWN["mobilenetv2_100"].files[0]):
        found = resolve_weights("mobilenetv2_100", str(given))
        assert found.origin == "file"
        assert load_weights(timm.create_model("mobilenetv2_100", num_classes=3), found).loaded == 312


@pytest.mark.parametrize("name,head", [("mobilenetv2_100", "timm"), ("mobilenetv2_100", "book"), ("resnet18", "timm")])
def test_batch_norms_folded_for_prediction_give_the_same_outputs(name, head, empty_caches):
    net, _ = build_model(name, 10, head, "imagenet" if name == "mobilenetv2_100" else "none", (48, 32))
    net.eval()
    folded = fold_batchnorm(net, (48, 32))
    assert folded is not net
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())  # the original is left as it was
    x = torch.rand(4, 3, 32, 48)
    with torch.inference_mode():
        assert torch.allclose(torch.softmax(net(x), 1), torch.softmax(folded(x), 1), atol=1e-5)


def test_a_batch_norm_that_does_not_follow_its_convolution_is_not_folded(empty_caches):
    # a net whose batch norm reads a channel shuffle, not the convolution before it in the module list
    class Shuffled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3)
            self.bn = torch.nn.BatchNorm2d(4)
            self.head = torch.nn.Linear(4, 10)

        def forward_features(self, x):
            return self.bn(self.conv(x).flip(1))

        def forward(self, x):
            return self.head(self.forward_features(x).mean((2, 3)))

    from tamgu.pipeline.models import Net
    net = Net(Shuffled(), None, (0.5,) * 3, (0.5,) * 3).eval()
    with torch.no_grad():
        net.backbone.bn.running_mean.uniform_(-1, 1)
        net.backbone.bn.running_var.uniform_(0.5, 2)
    assert fold_batchnorm(net, (16, 16)) is net  # the check caught it: predict unfolded rather than wrongly
