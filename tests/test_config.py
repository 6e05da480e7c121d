from pathlib import Path

import pytest

from tamgu.cli import main
from tamgu.pipeline.config import ConfigError, load_config, parse_image_size


@pytest.mark.parametrize("value,expected", [(224, (224, 224)), ("224", (224, 224)), ("160x120", (160, 120)),
                                            ("96X72", (96, 72)), ([64, 48], (64, 48))])
def test_image_size(value, expected):
    assert parse_image_size(value) == expected


@pytest.mark.parametrize("value", ["big", "10x", "4x4"])
def test_bad_image_size(value):
    with pytest.raises(ConfigError, match="image size"):
        parse_image_size(value)


def test_yaml_then_flags(tmp_path):
    f = tmp_path / "exp.yaml"
    f.write_text("model: vgg16\nhead: book\noptimizer: sgd\nbatch-size: 8\nepochs: 3\n")
    cfg = load_config(f, epochs=5)
    assert (cfg.model, cfg.head, cfg.optimizer, cfg.batch_size, cfg.epochs) == ("vgg16", "book", "sgd", 8, 5)
    assert cfg.learning_rate == 1e-4  # the book's SGD rate when none is given


def test_unknown_key_is_rejected_with_the_known_ones(tmp_path):
    f = tmp_path / "exp.yaml"
    f.write_text("modle: vgg16\n")
    with pytest.raises(ConfigError, match="unknown key 'modle'.*known keys: .*model"):
        load_config(f)
    with pytest.raises(ConfigError, match="unknown key 'batchsize'"):
        load_config(batchsize=3)


@pytest.mark.parametrize("key,value,match", [("epochs", "many", "epochs"), ("split", "drivers", "split"),
                                             ("batch_size", 0, "batch_size"), ("weights", "/no/such.pth", "weights")])
def test_wrong_values_are_rejected(key, value, match):
    with pytest.raises(ConfigError, match=match):
        load_config(**{key: value})


def test_cli_reports_config_errors(tmp_path, tiny_data, capsys):
    f = tmp_path / "exp.yaml"
    f.write_text("learning_rate: 0.1\n")
    assert main(["train", str(tiny_data), "--config", str(f), "--out", str(tmp_path / "run")]) == 2
    assert "unknown key 'learning_rate'" in capsys.readouterr().err


CONFIGS = sorted((Path(__file__).parent.parent / "src" / "tamgu" / "recipes" / "ch5").glob("[0-9]*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_shipped_configs_load(path):
    cfg = load_config(path)
    assert cfg.model
