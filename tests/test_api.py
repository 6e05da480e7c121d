"""The Python API mirrors the commands: every exported name is the function, never a same-named module."""

import importlib
import inspect

import pytest

import tamgu


@pytest.mark.parametrize("name", tamgu.__all__)
def test_exported_names_stay_functions_after_every_module_is_imported(name):
    for mod in ["cli", "config", "data", "demojob", "denoising", "detect", "exploration", "folds", "io", "metrics",
                "models", "n2n", "noise", "prediction", "presets", "synthetic", "training", "videoframes"]:
        importlib.import_module(f"tamgu.{mod}")
    obj = getattr(tamgu, name)
    assert not inspect.ismodule(obj), f"tamgu.{name} is a module: rename the module"
