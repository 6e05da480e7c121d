"""The pages people look at: EDA and run reports as self-contained HTML, checked in headless Chromium,
and Grad-CAM checked where the evidence is known."""

import os
import shutil
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

import tamgu
from tamgu.cli import main
from tamgu.reports.eda_page import near_duplicates, problem_reasons
from tamgu.reports.page import Page

TINY = dict(model="test_resnet", weights="none", image_size="32x24", workers=0, lr=3e-3)


@pytest.fixture
def odd_data(data_copy):
    """The tiny set with what a Kaggler must spot: a corrupt file, a blank one, a tiny one, and a test image
    that is a copy of a training image (leakage)."""
    train = sorted((data_copy / "imgs" / "train" / "c0").glob("*.jpg"))
    (train[0]).write_bytes(b"not a jpeg")
    cv2.imwrite(str(train[1]), np.full((30, 40, 3), 128, np.uint8))
    cv2.imwrite(str(train[2]), cv2.resize(cv2.imread(str(train[3])), (20, 15)))
    leaked = sorted((data_copy / "imgs" / "test").glob("*.jpg"))[0]
    shutil.copy(train[4], leaked)
    return data_copy, {"corrupt": train[0].name, "blank": train[1].name, "tiny": train[2].name,
                       "leak": (train[4].name, leaked.name)}


def test_near_duplicates_groups_hashes_within_the_distance():
    h = pd.Series([0b0, 0b111, 0b1111111111, None, 0xFFFF << 48, (0xFFFF << 48) | 1])
    groups = near_duplicates(h, max_distance=4)
    assert sorted(map(sorted, groups)) == [[0, 1], [4, 5]]


def test_eda_page_finds_problems_duplicates_and_leakage(odd_data, tmp_path):
    data, odd = odd_data
    page = tamgu.eda(data, tmp_path / "eda.html")
    assert page.ids() == ["overview", "classes", "files", "problems", "duplicates", "outliers", "samples", "test",
                          "drivers", "augmentation"]
    html = (tmp_path / "eda.html").read_text(encoding="utf-8")
    assert "오른손으로 문자" in html and 'charset="utf-8"' in html
    problems = html[html.index('id="problems"'):html.index('id="duplicates"')]
    assert odd["corrupt"] in problems and "unreadable" in problems
    assert odd["blank"] in problems and "blank" in problems
    assert odd["tiny"] in problems and "tiny (20x15)" in problems
    dups = html[html.index('id="duplicates"'):html.index('id="outliers"')]
    across = dups[dups.index("across train and test"):]
    assert "<td>across train and test</td>\n      <td>0</td>" not in across, "the leaked test image must be found"
    assert "src=\"http" not in html and "href=\"http" not in html  # nothing from another host


def test_eda_page_reads_the_kaggle_zip(tiny_data, tmp_path):
    archive = tmp_path / "state-farm.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in tiny_data.rglob("*"):
            if f.is_file():
                z.write(f, f.relative_to(tiny_data))
    assert main(["eda", str(archive), "--out", str(tmp_path / "zip.html")]) == 0
    assert "img_" in (tmp_path / "zip.html").read_text(encoding="utf-8")


def test_run_report_has_every_section(tiny_run, tmp_path, capsys):
    page = tamgu.report(tiny_run, out=tmp_path / "report.html", per_class=1)
    assert page.ids() == ["scores", "folds", "curves", "confusion", "per-class", "calibration", "wrong", "gradcam"]
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "held-out test" in html and "best epoch" in html
    assert main(["report", str(tiny_run), "--no-gradcam"]) == 0
    assert "report ->" in capsys.readouterr().out and (tiny_run / "report.html").is_file()


def test_ensemble_and_chapter_pages(tiny_run, tiny_data, tmp_path):
    other = tmp_path / "other"
    tamgu.train(tiny_data, out=other, folds=2, epochs=1, **{**TINY, "lr": 1e-3})
    tamgu.ensemble([tiny_run, other], out=tmp_path / "blend", method="weighted")
    page = tamgu.report(tmp_path / "blend")
    assert page.ids() == ["members", "per-class", "confusion", "calibration", "settings"]
    chapter = tmp_path / "chapter"
    chapter.mkdir()
    pd.DataFrame({"step": ["1_baseline", "2_driver_split"], "title": ["random split", "driver split"],
                  "oof_log_loss": [0.2, 1.4], "oof_accuracy": [0.95, 0.5], "heldout_log_loss": [1.6, 1.5]}
                 ).to_csv(chapter / "results.csv", index=False)
    assert tamgu.report(chapter).ids() == ["results", "effect"]


def test_report_refuses_a_folder_that_is_not_a_finished_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="summary.json, oof.csv missing"):
        (tmp_path / "config.yaml").write_text("model: x\n")
        tamgu.report(tmp_path)


def test_a_page_displays_once_in_a_notebook(monkeypatch, tiny_run):
    """A cell ending in tamgu.report(...) showed the page twice (tamgu displayed it, then Jupyter showed the
    returned page): the page now shows through its _repr_html_ alone."""
    import sys
    import types

    shown = []
    fake = types.SimpleNamespace(display=lambda obj: shown.append(obj))
    from tamgu import console

    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    monkeypatch.setitem(sys.modules, "IPython.display", fake)
    assert not console.in_notebook()  # ipykernel imported (as jupyter_client does) but no kernel running
    shell = types.SimpleNamespace(kernel=object())  # a running kernel's shell
    monkeypatch.setattr(console, "_shell", lambda: shell)
    assert console.in_notebook()
    page = tamgu.report(tiny_run, gradcam=False)
    assert shown == [] and isinstance(page, Page)
    page = Page("안녕")
    assert page._repr_html_().startswith("<iframe srcdoc=") and "안녕" in page._repr_html_()


def _mark_images(n, size, rng):
    """Grey noise; class 1 carries a red square in one random quadrant (its evidence), class 0 none."""
    x = rng.uniform(0.3, 0.6, (n, 3, size, size)).astype(np.float32)
    y, q = rng.integers(0, 2, n), rng.integers(0, 4, n)
    half, side = size // 2, size // 4
    for i in np.flatnonzero(y):
        r0, c0 = (q[i] // 2) * half + side // 2, (q[i] % 2) * half + side // 2
        x[i, :, r0:r0 + side, c0:c0 + side] = np.array([1.0, 0.1, 0.1])[:, None, None]
    return torch.from_numpy(x), torch.from_numpy(y), q


def test_gradcam_peaks_where_the_class_evidence_is():
    from tamgu.pipeline.models import build_model

    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    size = 64
    net, _ = build_model("test_resnet", 2, weights="none", image_size=(size, size))
    opt = torch.optim.AdamW(net.parameters(), 3e-3)
    net.train()
    for _ in range(80):
        x, y, _ = _mark_images(16, size, rng)
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    x, y, q = _mark_images(32, size, rng)
    net.eval()
    with torch.no_grad():
        assert (net(x).argmax(1) == y).float().mean() > 0.9
    marked = (y == 1).numpy()
    maps = tamgu.gradcam(net, x[marked], [1] * int(marked.sum()))
    assert maps.shape == (int(marked.sum()), size, size)
    peaks = [np.unravel_index(m.argmax(), m.shape) for m in maps]
    quadrant = [(r // (size // 2)) * 2 + c // (size // 2) for r, c in peaks]
    assert np.mean(np.array(quadrant) == q[marked]) >= 0.9


# --- the pages as a reader sees them: headless Chromium -------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _browser_or_skip():
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        playwright_ok = False
    else:
        playwright_ok = True
    if CHROMIUM and playwright_ok:
        return
    why = "needs Debian's chromium (make test installs it as root) and playwright (pip, test extra)"
    if os.environ.get("TAMGU_REQUIRE_BROWSER"):
        pytest.fail(why)
    pytest.skip(why)


def open_in_chromium(page_file: Path, screenshot: Path) -> dict:
    """Open a page offline in headless Chromium: console errors, requests, broken images, section ids."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        tab = browser.new_page(viewport={"width": 1200, "height": 900})
        errors, requests = [], []
        tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        tab.on("pageerror", lambda e: errors.append(str(e)))
        tab.on("request", lambda r: requests.append(r.url))
        tab.goto(page_file.resolve().as_uri(), wait_until="load")
        result = {
            "errors": errors,
            "requests": [u for u in requests if not u.startswith("data:") and u != page_file.resolve().as_uri()],
            "images": tab.evaluate("document.images.length"),
            "broken": tab.evaluate("Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0)"
                                   ".map(i => i.alt)"),
            "sections": tab.evaluate("Array.from(document.querySelectorAll('section')).map(s => s.id)"),
            "korean_width": tab.evaluate("(() => { const s = document.createElement('span'); s.textContent = '오른손으로 문자';"
                                         " document.body.appendChild(s); return s.getBoundingClientRect().width; })()"),
        }
        tab.screenshot(path=str(screenshot))
        browser.close()
    return result


@pytest.mark.parametrize("which", ["eda", "run", "ensemble", "cracks", "audit"])
def test_pages_open_offline_in_headless_chromium(which, tiny_data, tiny_run, tmp_path):
    _browser_or_skip()
    if which == "eda":
        page = tamgu.eda(tiny_data, tmp_path / "page.html")
    elif which == "cracks":
        surfaces = tamgu.synth_cracks(tmp_path / "surfaces", n=4, seed=1, progress=False)
        tamgu.cracks(surfaces / "images", out=tmp_path / "found", mm_per_px=0.5, progress=False)
        page = tamgu.report(tmp_path / "found", out=tmp_path / "page.html")
    elif which == "run":
        page = tamgu.report(tiny_run, out=tmp_path / "page.html", per_class=1)
    elif which == "audit":
        tamgu.audit(tiny_run, tmp_path / "audit", progress=False)
        page = tamgu.report(tmp_path / "audit", out=tmp_path / "page.html")
    else:
        tamgu.ensemble([tiny_run, tiny_run], out=tmp_path / "blend")
        page = tamgu.report(tmp_path / "blend", out=tmp_path / "page.html")
    seen = open_in_chromium(tmp_path / "page.html", tmp_path / "page.png")
    assert seen["errors"] == [] and seen["requests"] == [] and seen["broken"] == []
    assert seen["images"] > 0 and seen["sections"] == page.ids()
    assert seen["korean_width"] > 40, "Korean text must render with a real font, not zero-width boxes"
    assert (tmp_path / "page.png").stat().st_size > 10_000


def test_problem_list_names_every_reason_of_every_file():
    scan = pd.DataFrame({"split": ["train", "train", "test", "test", "test"], "img": list("abcde"),
                         "path": list("ABCDE"), "readable": [True, False, True, True, True],
                         "width": [640, np.nan, 20, 640, 640], "height": [480, np.nan, 15, 480, 480],
                         "std": [30.0, np.nan, 0.5, 2.0, 40.0]})
    got = problem_reasons(scan).set_index("img")["problem"].to_dict()
    assert got == {"b": "unreadable (corrupt, empty or not an image)",
                   "c": "tiny (20x15); blank (grey std 0.5); odd size 20x15 (most are 640x480)",
                   "d": "blank (grey std 2.0)"}
    assert problem_reasons(scan.iloc[:0]).empty
