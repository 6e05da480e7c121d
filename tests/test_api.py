"""The Python API mirrors the commands: every exported name is the function, never a same-named module."""

import importlib
import inspect
import pkgutil

import pytest

import tamgu


def _all_modules() -> list[str]:
    return [m.name for m in pkgutil.walk_packages(tamgu.__path__, prefix="tamgu.")]


def test_every_step_lives_in_a_capability_subpackage():
    mods = _all_modules()
    top = sorted(m for m in mods if m.count(".") == 1)
    assert top == ["tamgu.argspec", "tamgu.cli", "tamgu.commands", "tamgu.console", "tamgu.curation", "tamgu.defaults", "tamgu.denoising",
                   "tamgu.detection", "tamgu.errors", "tamgu.files", "tamgu.inspection", "tamgu.live", "tamgu.machine",
                   "tamgu.nilm", "tamgu.pipeline", "tamgu.printers",
                   "tamgu.recipes", "tamgu.reports", "tamgu.runtime", "tamgu.segmentation", "tamgu.statefarm", "tamgu.tricks",
                   "tamgu.video"]


@pytest.mark.parametrize("name", tamgu.__all__)
def test_exported_names_stay_functions_after_every_module_is_imported(name):
    for mod in _all_modules():
        importlib.import_module(mod)
    obj = getattr(tamgu, name)
    assert not inspect.ismodule(obj), f"tamgu.{name} is a module: rename the module"
