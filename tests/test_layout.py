"""The layout as a newcomer reads it: no import circles, the core never imports the reports, every command's
options come from its function (one default, one help text), and the copies that once disagreed agree."""

import ast
import inspect
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

import tamgu
from tamgu import argspec
from tamgu.cli import command_parser, main
from tamgu.commands import COMMANDS, shape_of

SRC = Path(tamgu.__file__).parent
ROOT = SRC.parent.parent


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports() -> dict[str, set[str]]:
    """Every tamgu module -> the tamgu modules it imports anywhere (at the top or inside a function)."""
    graph = {}
    for path in SRC.rglob("*.py"):
        name = _module_name(path)
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for alias in node.names:  # `from . import runfolder` names a module
                    found.add(f"{target}.{alias.name}")
                found.add(target)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
        graph[name] = {m for m in found if m.startswith("tamgu")}
    modules = set(graph)
    return {k: {m for m in v if m in modules and m != k} for k, v in graph.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Import circles between modules (packages' __init__ files aside: they import nothing of their own)."""
    found, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n, [n])
    return found


def test_no_import_circle_and_the_core_never_imports_reports_tricks_or_recipes():
    graph = _imports()
    packages = {k for k in graph if (SRC.parent / k.replace(".", "/") / "__init__.py").exists()}
    assert _cycles({k: v - packages for k, v in graph.items() if k not in packages}) == []
    for mod, deps in graph.items():
        if mod.startswith("tamgu.pipeline"):
            bad = {d for d in deps if d.startswith(("tamgu.reports", "tamgu.tricks", "tamgu.recipes"))}
            assert not bad, f"{mod} (the core chain) imports {bad}"
        if mod.startswith(("tamgu.live", "tamgu.video", "tamgu.detection", "tamgu.segmentation")):
            bad = {d for d in deps if d.startswith("tamgu.reports")}
            assert not bad, f"{mod} imports {bad}: the report renders live results, not the reverse"


def test_no_module_is_a_book_and_each_video_is_opened_in_one_place():
    long = {str(p.relative_to(SRC)): n for p in SRC.rglob("*.py") if (n := len(p.read_text().splitlines())) > 500}
    assert not long, long
    opens = {str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
             if re.search(r"av\.open\(|VideoCapture\(", p.read_text())}
    assert opens <= {"video/reader.py", "video/writer.py"}, opens  # the writer: its own files and the audio remux


def test_the_run_folder_and_the_prediction_table_have_one_owner_each():
    """No module but runfolder parses fold folder names; one prediction-table validator."""
    for path in SRC.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if path.name not in ("runfolder.py",):
            assert "name[4:]" not in text and 'glob("fold*' not in text, f"{path} parses the run folder itself"
        assert ("def read_predictions(" in text) == (path.name == "table.py"), path
        assert ("class Run:" in text) == (path.name == "runfolder.py"), path
        if path.name not in ("runfolder.py", "table.py"):  # a run's tables are read through Run, checked
            bare = re.findall(r"read_csv\([^)]*(?:OOF|TEST|SUBMISSION|oof\.csv|test_pred\.csv|(?<!sample_)submission\.csv)", text)
            assert not bare, f"{path} reads a prediction table bare: {bare}"
    assert sum("ipykernel" in p.read_text(encoding="utf-8") for p in SRC.rglob("*.py")) == 1  # console.in_notebook


# ------------------------------------------------------------------------------------- options parity
def _required_args(cmd, options) -> list[str]:
    """The fewest arguments that parse: a placeholder for each positional and required option."""
    args = []
    for o in options:
        if o.required:
            args += ["--" + shape_of(cmd).rename.get(o.name, o.name).replace("_", "-"), "X"]
    for o in options:
        if o.positional and o.default is argspec.EMPTY:
            args.append("X")
    return args


@pytest.mark.parametrize("cmd", COMMANDS, ids=[c.name for c in COMMANDS])
def test_every_cli_default_is_the_functions_own_and_every_option_is_reachable(cmd):
    fn = cmd.function()
    parser, options = command_parser(cmd.name)
    ns = parser.parse_args(_required_args(cmd, options))
    shape = shape_of(cmd)
    params = {p.name: p for p in inspect.signature(fn).parameters.values() if p.kind is not p.VAR_KEYWORD}
    for name, p in params.items():
        if name in shape.python_only:
            continue
        assert hasattr(ns, name), f"tamgu {cmd.name}: {name} of {fn.__name__} is not reachable"
        if p.default is not argspec.EMPTY:
            got = getattr(ns, name)
            want = p.default
            assert (tuple(got) if isinstance(got, list) else got) == want, \
                f"tamgu {cmd.name} --{name}: the CLI's default {got!r} is not {fn.__name__}'s {want!r}"
    if shape.config is not None:  # train: every TrainConfig field (reproduce: the ones it passes on)
        for name in shape.config_fields or [f for f in shape.config.model_fields if f not in ("data", "out")]:
            assert getattr(ns, name) is None, f"tamgu {cmd.name} --{name} must leave the config's default alone"
    for action in parser._actions:
        if action.dest not in ("help",):
            assert action.help, f"tamgu {cmd.name} {action.option_strings or action.dest}: no help text"


def test_denoise_train_uses_the_functions_epochs():
    parser, _ = command_parser("denoise train")
    from tamgu.denoising.n2n import train_denoiser

    assert parser.parse_args(["--out", "m.pt"]).epochs == inspect.signature(train_denoiser).parameters["epochs"].default == 30


def test_cli_is_wiring_not_hundreds_of_options():
    text = (SRC / "cli.py").read_text(encoding="utf-8")
    assert text.count("add_argument(") <= 2 and len(text.splitlines()) < 120


def _options_table(readme: Path) -> set[str]:
    """The --options named in the first column of the README's options table."""
    rows = [line for line in readme.read_text(encoding="utf-8").splitlines() if line.startswith("| `--")]
    return {m for line in rows for m in re.findall(r"`(--[a-z0-9-]+)", line.split("|")[1])}


@pytest.mark.parametrize("readme", ["docs/training.md", "docs/ko/training.md"])
def test_readme_options_table_lists_every_train_option(readme):
    parser, _ = command_parser("train")
    flags = {s for a in parser._actions for s in a.option_strings if s.startswith("--") and s not in ("--help", "--verbose")}
    missing = flags - _options_table(ROOT / readme)
    assert not missing, f"{readme}'s options table lacks {sorted(missing)}"


# ------------------------------------------------------------------------------------------ recipes
def test_each_chapter_step_trains_what_its_yaml_says():
    from tamgu.recipes.chapter5 import RECIPE, steps_for

    for step, opts in steps_for(small=False):
        if step.kind != "train":
            continue
        assert opts == yaml.safe_load((RECIPE / step.config).read_text()), step.name
    book = {s.name: o for s, o in steps_for(small=False)}
    assert book["6_resnet50"]["head"] == "book"  # the book's own head, as its YAML says
    small = {s.name: o for s, o in steps_for(small=True)}
    assert small["6_book_head"]["head"] == "book" and small["6_efficientnet_lite0"]["model"] == "efficientnet_lite0"
    assert small["3_imagenet"]["lr"] == 1e-3 and small["4_augment"]["augment"] == "book"


def test_the_demo_is_a_config_train_accepts():
    from tamgu.pipeline.config import TrainConfig
    from tamgu.recipes.demo import read_recipe

    data, run = read_recipe()
    TrainConfig(**run)
    assert run["folds"] == 4 and data["drivers"] == 16


# ------------------------------------------------------------------------------- errors and new users
def test_every_error_tamgu_explains_has_one_base():
    from tamgu.pipeline.config import ConfigError
    from tamgu.pipeline.data import DataError
    from tamgu.pipeline.table import TableError
    from tamgu.pipeline.weights import WeightsError
    from tamgu.tricks.ensemble import EnsembleError
    from tamgu.video.frames import VideoError

    for cls in (ConfigError, DataError, TableError, WeightsError, EnsembleError, VideoError):
        assert issubclass(cls, tamgu.TamguError)


def test_an_unknown_config_key_suggests_the_nearest(tmp_path):
    f = tmp_path / "exp.yaml"
    f.write_text("epoch: 3\n")
    with pytest.raises(tamgu.ConfigError, match="did you mean 'epochs'"):
        tamgu.load_config(f)


def test_help_lists_two_word_commands_as_typed(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "detect faces" in out and "detect-faces" not in out and "denoise train" in out
    assert main(["detect", "--help"]) == 0
    assert "detect people" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["detect", "faces", "--help"])
    assert "--min-size" in capsys.readouterr().out


@pytest.fixture(scope="module")
def pictures(tmp_path_factory):
    import cv2

    d = tmp_path_factory.mktemp("pictures")
    rng = np.random.default_rng(0)
    scene = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    cv2.imwrite(str(d / "scene.png"), scene)
    cv2.imwrite(str(d / "box.png"), scene[30:70, 40:90])
    return d


def test_negative_list_values_parse_as_the_readme_writes_them(pictures, capsys):
    assert main(["find", str(pictures / "box.png"), str(pictures / "scene.png"), "--angles", "-10,0,10",
                 "--scales", "3", "--min-scale", "0.9", "--max-scale", "1.1"]) == 0
    out = capsys.readouterr().out
    assert "detections in 1 input(s), 1 with any" in out  # the box is found; the count says what was searched


def test_smooth_computes_its_features_where_it_is_told(tiny_data, tmp_path, monkeypatch):
    """`tamgu smooth --accelerator gpu` once embedded on the CPU: its loop never moved the model."""
    import torch

    from tamgu.pipeline import inference

    run = tmp_path / "run"
    tamgu.train(tiny_data, out=run, folds=2, epochs=1, model="test_resnet", weights="none", image_size="32x24",
                workers=0)
    asked = []

    def device_for(accelerator="auto"):
        asked.append(accelerator)
        return torch.device("cpu")  # no GPU here: the request is what is checked

    monkeypatch.setattr(inference, "device_for", device_for)
    tamgu.smooth(run, tmp_path / "smoothed", k=1, alpha=0.5, accelerator="gpu")
    assert asked and set(asked) == {"gpu"}


@pytest.mark.parametrize("argv, message", [
    (["denoise", "{img}", "--out", "{out}", "--method", "tv", "--strength", "-1"], "--strength -1.0: it multiplies"),
    (["frames", "{clip}", "--out", "{out}", "--count", "0"], "--count 0: take at least one frame"),
    (["frames", "{clip}", "--out", "{out}", "--start", "10s", "--end", "5s"], "--end 5 s is not after --start 10 s"),
    (["detect", "faces", "{clip}", "--frame-step", "0"], "--frame-step 0: use 1"),
])
def test_values_that_make_no_sense_are_refused_before_work(argv, message, pictures, tmp_path, capsys):
    from tamgu.video.clips import write_clip

    clip = tmp_path / "clip.mp4"
    write_clip(clip, seconds=1.0, fps=10, size=(64, 48))
    args = [a.format(img=pictures / "scene.png", out=tmp_path / "out", clip=clip) for a in argv]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and "modulo" not in err


def test_a_language_tamgu_cannot_read_is_refused():
    with pytest.raises(ValueError, match="Korean is ko, not kr"):
        tamgu.detect_text([], lang="kr")
    with pytest.raises(SystemExit):  # the command line offers the two it reads
        main(["detect", "text", "x.png", "--lang", "ja"])


def test_a_light_command_loads_no_torch():
    import subprocess
    import sys

    code = ("import sys\nfrom tamgu.cli import main\ntry:\n    main(['check', '--help'])\nexcept SystemExit:\n    pass\n"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False"
