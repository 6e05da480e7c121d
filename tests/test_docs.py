"""The README is a portal a newcomer reads in ten minutes, in both languages, and its figures are the ones
docs/benchmarks.md holds beside the commands that produced them."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
READMES = {"README.md": 300, "README.ko.md": 330}


def _block_after(text: str, marker: str) -> str:
    at = text.index(marker)
    m = re.search(r"```[^\n]*\n(.*?)```", text[at:], re.S)
    return m.group(1)


def test_the_demo_block_is_the_one_benchmarks_holds():
    bench = _block_after((ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8"), "## The main job")
    oof = re.search(r"^\s+OOF\s+([\d.]+)", bench, re.M).group(1)
    held = re.search(r"^\s+test\s+([\d.]+)", bench, re.M).group(1)
    for name in READMES:
        text = (ROOT / name).read_text(encoding="utf-8")
        assert _block_after(text, "<!-- demo block") == bench, f"{name}'s demo block differs from docs/benchmarks.md"
        assert f"OOF {oof}" in text and held in text, f"{name} quotes other demo digits than docs/benchmarks.md"


@pytest.mark.parametrize("name", READMES)
def test_the_readme_is_short_has_contents_and_every_link_resolves(name):
    text = (ROOT / name).read_text(encoding="utf-8")
    assert len(text.splitlines()) <= READMES[name]
    assert "make demo" in text and "make test" in text and ("## Contents" in text or "## 차례" in text)
    pages = [ROOT / name] + sorted((ROOT / "docs").glob("*.md")) + sorted((ROOT / "docs" / "ko").glob("*.md"))
    for page in pages:
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if not target.startswith(("http://", "https://", "mailto:")):
                assert (page.parent / target).exists(), f"{page.relative_to(ROOT)} links to {target}, which is not there"


def test_every_reference_page_has_its_korean_twin():
    en = {p.name for p in (ROOT / "docs").glob("*.md")} - {"benchmarks.md"}
    ko = {p.name for p in (ROOT / "docs" / "ko").glob("*.md")}
    assert en == ko and len(en) >= 8
