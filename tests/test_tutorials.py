"""The study plan's notebooks are tested like code: stored without outputs, in step with their source
(tutorials/build.py), the same code in Korean and English, and every one executed (fast setting)."""

import ast
import importlib.util
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).parent.parent / "tutorials"
KO = sorted((ROOT / "ko").glob("*.ipynb"))


def _build():
    spec = importlib.util.spec_from_file_location("tutorials_build", ROOT / "build.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_eight_notebooks_in_each_language_stored_without_outputs_and_in_step_with_their_source():
    rendered = _build().render()
    assert len(KO) == 8 and len(list((ROOT / "en").glob("*.ipynb"))) == 8
    for path, text in rendered.items():
        assert path.read_text(encoding="utf-8") == text, f"{path.name} differs from tutorials/build.py: run it"
        nb = nbformat.reads(text, as_version=4)
        assert all(not c.get("outputs") and not c.get("execution_count") for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("ko", KO, ids=[p.stem for p in KO])
def test_twins_share_their_code_and_the_shape_of_a_lesson(ko):
    en = ROOT / "en" / ko.name
    k, e = nbformat.read(ko, as_version=4), nbformat.read(en, as_version=4)
    assert [c.source for c in k.cells if c.cell_type == "code"] == [c.source for c in e.cells if c.cell_type == "code"]
    assert "**배우는 것**" in k.cells[0].source and "**걸리는 시간**" in k.cells[0].source
    assert "**What it teaches**" in e.cells[0].source and "**Time**" in e.cells[0].source
    assert "연습 문제" in k.cells[-1].source and "Exercises" in e.cells[-1].source
    imported = set()
    for c in k.cells:
        if c.cell_type == "code":
            for node in ast.walk(ast.parse(c.source)):
                if isinstance(node, ast.Import):
                    imported |= {a.name for a in node.names}
                elif isinstance(node, ast.ImportFrom):
                    imported.add(node.module)
    assert imported <= {"os", "pathlib", "matplotlib.pyplot", "pandas", "tamgu"}, imported


@pytest.mark.parametrize("ko", KO, ids=[p.stem for p in KO])
def test_the_notebook_runs_offline(ko, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("TAMGU_TUTORIAL_FAST", "1")
    monkeypatch.setenv("TAMGU_TUTORIAL_WORK", str(tmp_path / "work"))
    nb = nbformat.read(ko, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    shown = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert any("image/png" in o.get("data", {}) or "text/html" in o.get("data", {}) for o in shown), \
        "a tutorial shows its figures and tables inline"
