"""CNNs by timm name, with timm's own head or the book's chapter-5 head, normalisation built in."""

from __future__ import annotations

import copy
import logging

import timm
import torch
from torch import nn

from ..errors import InputError
from .weights import load_weights, resolve_weights

log = logging.getLogger(__name__)


class BookHead(nn.Module):
    """Chapter 5's head: flatten -> dense 2048 relu -> dropout .5 -> dense 2048 relu -> dropout .5 -> classes.

    The softmax is left to the loss (cross-entropy on logits is the same maths, computed stably).
    """

    def __init__(self, in_features: int, num_classes: int, width: int = 2048, dropout: float = 0.5):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(in_features, width), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(width, width), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(width, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Net(nn.Module):
    """Backbone + head; takes RGB float images in 0..1, (B, 3, H, W), and normalises them itself
    so that training, prediction and any later user agree on the preprocessing."""

    def __init__(self, backbone: nn.Module, head: nn.Module | None, mean: tuple, std: tuple):
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # channels-last: about 1.4x faster convolutions on CPU (oneDNN) and on GPU tensor cores
        x = ((x - self.mean) / self.std).contiguous(memory_format=torch.channels_last)
        if self.head is None:
            return self.backbone(x)  # timm's own pooling and classifier
        return self.head(self.backbone.forward_features(x))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled backbone features (B, F): what the classifier reads, for nearest-neighbour look-ups."""
        f = self.backbone.forward_features(((x - self.mean) / self.std).contiguous(memory_format=torch.channels_last))
        if f.ndim == 4:  # (B, C, H, W) -> (B, C)
            return f.mean(dim=(2, 3))
        return f.mean(dim=1) if f.ndim == 3 else f  # (B, tokens, C) -> (B, C)


class ProbeNet(nn.Module):
    """`tamgu_probe`: a network that costs almost nothing (an 8x average pool, one 3x3 convolution, a linear
    layer), registered in timm like any model. For timing the data path at full size (benchmarks/full_scale.py)
    and smoke runs, where the model must not be what is measured; it learns little."""

    def __init__(self, num_classes: int = 1000, global_pool: str = "avg", in_chans: int = 3, **_: object):
        super().__init__()
        self.num_classes, self.num_features, self.global_pool = num_classes, 16, global_pool
        self.stem = nn.Sequential(nn.AvgPool2d(8), nn.Conv2d(in_chans, 16, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(16), nn.ReLU(inplace=True))
        self.fc = nn.Linear(16, num_classes) if num_classes else nn.Identity()
        self.pretrained_cfg = {"mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225),
                               "input_size": (3, 224, 224), "num_classes": num_classes}

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.stem(x)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = x.mean(dim=(2, 3)) if self.global_pool and x.ndim == 4 else x
        return x if pre_logits else self.fc(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def get_classifier(self) -> nn.Module:
        return self.fc

    def reset_classifier(self, num_classes: int, global_pool: str = "avg") -> None:
        self.num_classes, self.global_pool = num_classes, global_pool
        self.fc = nn.Linear(16, num_classes) if num_classes else nn.Identity()


@timm.models.register_model
def tamgu_probe(pretrained: bool = False, **kwargs) -> ProbeNet:
    return ProbeNet(**kwargs)


def build_model(name: str, num_classes: int, head: str = "timm", weights: str = "none",
                image_size: tuple[int, int] = (224, 224), mean: tuple | None = None, std: tuple | None = None,
                head_init: str = "zero") -> tuple[Net, dict]:
    """Create a model and return it with the facts that rebuild it (name, head, size, mean/std, weights).

    `weights`: "none", "imagenet" (found offline, see `weights`), or a checkpoint file. Loaded weights are
    counted tensor by tensor and a partial load is refused; their own mean/std normalise the input.
    `head_init`: "zero" starts timm's classifier at zero (see `zero_last_layer`); "timm" keeps the library's
    own initialisation. The book's head always keeps PyTorch's default initialisation.
    """
    if name not in timm.list_models() and name.split(".")[0] not in timm.list_models():
        close = timm.list_models(f"*{name.split('.')[0][:6]}*")[:8]
        raise InputError(f"timm has no model {name!r}; similar names: {close or 'none'} (see timm.list_models()).")
    source = resolve_weights(name, weights)
    if head == "book":
        backbone = timm.create_model(name, pretrained=False, num_classes=0, global_pool="")
    elif head == "timm":
        backbone = timm.create_model(name, pretrained=False, num_classes=num_classes)
    else:
        raise InputError(f"unknown head {head!r}: use timm or book.")
    report = load_weights(backbone, source) if source else None
    head_mod: nn.Module | None = None
    if head == "book":
        w, h = image_size
        with torch.no_grad():
            backbone.eval()
            feat = backbone.forward_features(torch.zeros(1, 3, h, w))  # (1, C, h', w')
        backbone.train()
        head_mod = BookHead(feat[0].numel(), num_classes)
    if head_init not in ("zero", "timm"):
        raise InputError(f"unknown head_init {head_init!r}: use zero or timm.")
    if head_init == "zero" and head_mod is None:
        # timm's classifier reads the pretrained features directly. The book's head keeps PyTorch's default
        # init: its last layer reads 2048 fresh ReLU units and already starts near zero, and zeroing it was
        # worse in a trial of chapter 5 --small's step 6 (held-out 0.62 against 0.20)
        zero_last_layer(backbone.get_classifier())
    data_cfg = timm.data.resolve_model_data_config(backbone)
    mean = tuple(mean or (source.mean if source else data_cfg["mean"]))
    std = tuple(std or (source.std if source else data_cfg["std"]))
    meta = {"model": name, "head": head, "num_classes": num_classes, "image_size": list(image_size),
            "mean": list(mean), "std": list(std),
            "weights": {"file": str(source.path), "origin": source.origin, "loaded": report.loaded,
                        "backbone_tensors": report.backbone} if source else "none"}
    return Net(backbone, head_mod, mean, std).to(memory_format=torch.channels_last), meta


def zero_last_layer(head: nn.Module) -> None:
    """Start the layer that outputs class scores at zero, so a new model predicts the uniform guess (loss
    log(classes)) until it has learnt something: the new-head practice of big-transfer fine-tuning (BiT).

    Why it matters: timm initialises MobileNet/EfficientNet classifiers uniformly in +-1/sqrt(classes), which
    for 10 classes over 1280 non-negative pooled ImageNet features gives logits of several units at step 0.
    Measured on generated State Farm data (MobileNetV2, AdamW 1e-3; docs/benchmarks.md, recipes table): epoch
    0's training loss is 3.8-4.9 with timm's init against the uniform guess's 2.30, the pretrained features
    are damaged repairing the head, and one fold's model alone scores 1.03 held-out (median) against 0.16
    started from zero."""
    last = [m for m in head.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    if not last:
        raise InputError(f"no linear layer to initialise in the head {type(head).__name__}: use head_init='timm'.")
    nn.init.zeros_(last[-1].weight)
    if last[-1].bias is not None:
        nn.init.zeros_(last[-1].bias)


def fold_batchnorm(net: Net, image_size: tuple[int, int]) -> Net:
    """An inference copy of `net` with every batch norm that directly follows a convolution folded into that
    convolution's weights (PyTorch's `fuse_conv_bn_eval`): the same function with one memory pass fewer per
    layer, about 1.3x faster prediction for MobileNetV2 on a CPU. timm's norm+activation layers keep their
    activation. The copy is checked against `net` on a probe batch; if they differ (a layer order this
    pairing does not understand), `net` itself is returned, so folding can only ever change speed."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    fused = copy.deepcopy(net).eval()
    pairs = 0

    def walk(module: nn.Module) -> None:
        nonlocal pairs
        children = list(module.named_children())
        for (prev_name, prev), (name, child) in zip([(None, None)] + children[:-1], children):
            if isinstance(child, nn.BatchNorm2d) and isinstance(prev, nn.Conv2d) and child.track_running_stats:
                setattr(module, prev_name, fuse_conv_bn_eval(prev, child))
                rest = [m for m in (getattr(child, "drop", None), getattr(child, "act", None)) if m is not None]
                setattr(module, name, nn.Sequential(*rest) if rest else nn.Identity())
                pairs += 1
            elif not isinstance(child, nn.BatchNorm2d):
                walk(child)

    walk(fused.backbone)
    if not pairs:
        return net
    w, h = image_size  # the book's head reads a flattened map: probe at the size the model was built for
    x = torch.rand(2, 3, h, w, generator=torch.Generator().manual_seed(0)).to(next(net.parameters()).device)
    with torch.inference_mode():
        was = net.training
        net.eval()
        want, got = net(x), fused(x)
        net.train(was)
    if want.shape != got.shape or not torch.allclose(want, got, rtol=1e-3, atol=1e-4 * (1 + want.abs().max().item())):
        log.debug("batch-norm folding changed the outputs of %s; predicting without it", type(net.backbone).__name__)
        return net
    return fused.to(memory_format=torch.channels_last)


def classifier_parameters(net: Net) -> list[nn.Parameter]:
    """The parameters of the layers that map features to classes (trained even while the backbone is frozen)."""
    if net.head is not None:
        return list(net.head.parameters())
    clf = net.backbone.get_classifier()
    return list(clf.parameters()) if isinstance(clf, nn.Module) else []


def load_net(path) -> tuple[Net, list[str], dict]:
    """A fold's best.ckpt as (network, classes, meta) for prediction, without Lightning: the network is rebuilt
    from the facts the checkpoint holds and every one of its tensors must load (a partial load is refused)."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    hp = ckpt["hyper_parameters"]
    meta, classes = hp["meta"], hp["classes"]
    net, _ = build_model(meta["model"], len(classes), meta["head"], "none", tuple(meta["image_size"]),
                         tuple(meta["mean"]), tuple(meta["std"]))
    state = {k[len("net."):]: v for k, v in ckpt["state_dict"].items() if k.startswith("net.")}
    net.load_state_dict(state, strict=True)
    return net.eval(), list(classes), meta
