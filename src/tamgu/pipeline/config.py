"""The one typed config of a training run.

Defaults live here, in code. A YAML file (`--config exp.yaml`) sets any field; command-line flags and
keyword arguments override it; unknown keys and wrong types are rejected; the resolved config is
written beside the outputs as `config.yaml`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from ..errors import ConfigError, InputError, did_you_mean
from ..runtime import parse_image_size
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class TrainConfig(BaseModel):
    """Every option of a run, with its default and what it does: `tamgu train --help` is generated from here."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    name: str | None = Field(None, description="run name (default: the --out folder's name)")
    data: str | None = Field(None, description="dataset folder or Kaggle zip")
    groups: str | None = Field(None, description="CSV with img,group for a class-per-folder dataset")
    fixes: str | None = Field(None, description="CSV img,action,label (tamgu audit writes one to edit): drop or "
                              "relabel training images for this run; the image files stay where they are")
    out: str | None = Field(None, description="run folder")
    # model
    model: str = Field("mobilenetv2_100", description="any timm model name (this one has ImageNet weights offline; "
                       "the book: vgg16, vgg19, resnet50)")
    weights: str = Field("imagenet", description="imagenet (found offline) | none (from scratch) | PATH of a weights "
                         "file or folder")
    head: Literal["timm", "book"] = Field("timm", description="timm's classifier, or the book's 2048-2048 head")
    head_init: Literal["zero", "timm"] = Field(
        "zero", description="zero: timm's class layer starts at zero, the uniform guess; timm: timm's own init (the "
        "book's head keeps PyTorch's init either way)")
    image_size: tuple[int, int] = Field((224, 224), description="one number (square) or WxH, e.g. 224 or 160x120; "
                                        "the book resizes 640x480 to 224x224")
    augment: Literal["none", "book", "light"] = Field("none", description="real-time augmentation")
    # optimisation
    optimizer: Literal["adamw", "sgd"] = Field("adamw", description="adamw, or the book's sgd (momentum .9, nesterov)")
    lr: float | None = Field(None, gt=0, description="learning rate (default 1e-3 for adamw, the book's 1e-4 for sgd)")
    weight_decay: float = Field(0.05, ge=0, description="AdamW weight decay")
    backbone_lr: float = Field(1.0, gt=0, description="backbone learning rate as a fraction of --lr (e.g. 0.1)")
    freeze_epochs: int = Field(0, ge=0, description="train only the classifier for this many epochs first")
    label_smoothing: float = Field(0.0, ge=0, lt=1, description="spread this much target mass over the other classes")
    schedule: Literal["cosine", "constant"] = Field("cosine", description="after warm-up: cosine to zero at --epochs, "
                                                    "or constant")
    warmup_epochs: float = Field(1.0, ge=0, description="linear warm-up length in epochs")
    batch_size: int | Literal["auto"] = Field(32, description="images per batch, or auto: the largest that fits the "
                                              "device, found by Lightning's Tuner on fold 0 (one device)")
    lr_find: bool = Field(False, description="choose --lr with Lightning's learning-rate finder on fold 0 (the curve "
                          "goes to RUN/tuned.json)")
    epochs: int = Field(500, ge=1, description="most epochs per fold (early stopping ends sooner)")
    patience: int = Field(3, ge=1, description="validation checks without a better val log loss before stopping")
    precision: Literal["32-true", "16-mixed", "bf16-mixed", "bf16-true", "16-true", "64-true"] = Field(
        "32-true", description="Lightning precision: 32-true, or mixed precision on a GPU: 16-mixed, bf16-mixed "
        "(bf16-mixed also runs on a CPU)")
    limit_batches: int | float | None = Field(None, description="smoke runs: batches per epoch (a whole number) or a fraction")
    # folds
    split: Literal["random", "driver", "group"] = Field("driver", description="how folds are made")
    folds: int = Field(5, ge=2, description="number of folds")
    fold: int | None = Field(None, ge=0, description="train only this fold (0-based): spread folds over machines")
    seed: int = Field(42, description="seed for folds and training")
    # hardware
    workers: int = Field(2, ge=0, description="data-loading processes")
    accelerator: str = Field("auto", description="cpu, gpu, mps or auto")
    devices: str | int = Field("auto", description="Lightning devices: auto, a count, or a list like 0,1")
    num_nodes: int = Field(1, ge=1, description="machines in one DDP job, each with --devices devices (e.g. under srun)")
    channels_last: Literal["auto", "on", "off"] = Field("auto", description="NHWC memory layout, faster convolutions "
                                                        "on GPUs (auto: on for a GPU, off on a CPU)")
    logger: Literal["csv", "tensorboard"] = Field("csv", description="csv: RUN/fold<k>/metrics.csv; tensorboard: "
                                                  "also RUN/fold<k>/tensorboard/ (watch with tensorboard --logdir RUN)")
    tta: int = Field(1, ge=1, le=7, description="test-time passes: 1 plain, up to 7 with shifts/rotations")
    # judging
    truth: str | None = Field(None, description="held-out test labels CSV (img,classname), the private leaderboard; "
                              "found beside generated data")

    @field_validator("image_size", mode="before")
    @classmethod
    def _size(cls, v: Any) -> tuple[int, int]:
        return parse_image_size(v)

    @field_validator("limit_batches", mode="before")
    @classmethod
    def _limit(cls, v: Any) -> Any:
        # Lightning reads a float as a fraction of the epoch and an int as a number of batches: "8" from the
        # command line (or 8.0 from YAML) means 8 batches
        if v is not None and float(v) > 1 and float(v).is_integer():
            return int(float(v))
        return v

    @field_validator("batch_size", mode="before")
    @classmethod
    def _batch(cls, v: Any) -> Any:
        if isinstance(v, str) and v.strip().isdigit():
            v = int(v)
        if isinstance(v, int) and not isinstance(v, bool) and v < 1:
            raise InputError("batch size must be at least 1, or auto")
        return v

    @field_validator("devices", mode="before")
    @classmethod
    def _devices(cls, v: Any) -> Any:
        return int(v) if isinstance(v, str) and v.isdigit() else v

    @field_validator("weights")
    @classmethod
    def _weights(cls, v: str) -> str:
        if v not in ("none", "imagenet") and not Path(v).expanduser().exists():
            raise InputError(f"weights {v!r}: use 'imagenet', 'none', or the path of an existing weights file or folder")
        return v

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else (1e-4 if self.optimizer == "sgd" else 1e-3)

    def to_dict(self) -> dict[str, Any]:
        d = self.model_dump()
        d["image_size"] = f"{self.image_size[0]}x{self.image_size[1]}"
        return d


def _fmt_errors(err: ValidationError, source: str) -> str:
    lines = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "(config)"
        if e["type"] == "extra_forbidden":
            known = ", ".join(TrainConfig.model_fields)
            lines.append(f"unknown key {key!r} in {source}{did_you_mean(key, TrainConfig.model_fields)}; "
                         f"known keys: {known}")
        else:
            lines.append(f"{key}: {e['msg']} (got {e.get('input')!r}) in {source}")
    return "\n".join(lines)


def load_config(path: str | Path | None = None, **overrides: Any) -> TrainConfig:
    """Defaults, then the YAML file at `path`, then `overrides` (None values are ignored)."""
    values: dict[str, Any] = {}
    source = "the arguments"
    # paths may come as pathlib.Path from Python (notebooks): the config stores them as text
    overrides = {k: str(v) if isinstance(v, Path) else v for k, v in overrides.items()}
    if path is not None:
        path = Path(path)
        if not path.exists():
            raise ConfigError(f"config file {path} does not exist: check the path given to --config.")
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path} must hold a mapping of option: value (got {type(loaded).__name__}).")
        values.update({k.replace("-", "_"): v for k, v in loaded.items()})
        source = f"{path} or the arguments"
    values.update({k.replace("-", "_"): v for k, v in overrides.items() if v is not None})
    try:
        return TrainConfig(**values)
    except ValidationError as err:
        raise ConfigError(_fmt_errors(err, source)) from None


# Values that fields had before they existed: a run saved by an older tamgu is compared with these.
LEGACY_VALUES = {"head_init": "timm"}

# Fields that change how a run is carried out but not what it computes: a rerun may change them freely.
RUNTIME_FIELDS = {"name", "out", "fold", "workers", "accelerator", "devices", "num_nodes", "truth", "logger",
                  "channels_last"}


def config_differences(prev: dict[str, Any], cfg: TrainConfig) -> list[str]:
    """What `cfg` changes, against a saved config, among the fields that change results ("epochs: 8 -> 10")."""
    now = cfg.to_dict()
    default = TrainConfig().to_dict()
    diffs = []
    for key, value in now.items():
        if key in RUNTIME_FIELDS:
            continue
        old = prev.get(key, LEGACY_VALUES.get(key, default[key]))  # older tamgu: newer fields are missing
        if key in ("data", "groups", "config") and old and value:
            same = Path(str(old)).expanduser().resolve() == Path(str(value)).expanduser().resolve()
        else:
            same = old == value or (isinstance(old, (int, float)) and isinstance(value, (int, float))
                                    and float(old) == float(value))
        if not same:
            diffs.append(f"{key}: {old} -> {value}")
    return diffs


def save_config(cfg: TrainConfig, path: str | Path) -> None:
    from ..files import write_yaml

    write_yaml(cfg.to_dict(), path)
