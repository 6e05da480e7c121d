"""One self-contained HTML page: pictures embedded as data: URIs, no script, no font or style from any
other host, so it opens offline, can be mailed, and renders Korean with the fonts of the reader's machine.

    page = Page("EDA: data/synth")
    with page.section("Classes") as s:
        s.table(df)
        s.figure(fig)
    page.save("eda.html")     # atomic; in a notebook, `page` alone displays inline
"""

from __future__ import annotations

import base64
import html
import io
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from jinja2 import Environment
from markupsafe import Markup

from ..files import write_text

# NanumGothic ships in Debian's fonts-nanum (installed with the test assets), Noto CJK in fonts-noto-cjk;
# macOS and Windows have the next two. Korean renders wherever one of them exists.
FONTS = '"NanumGothic", "Noto Sans CJK KR", "Apple SD Gothic Neo", "Malgun Gothic", sans-serif'

TEMPLATE = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
body { font-family: {{ fonts }}; margin: 0 auto; max-width: 1200px; padding: 1em 2em; color: #222; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 1.6em; }
nav { font-size: .9em; margin: .5em 0 1em; } nav a { margin-right: 1em; }
table { border-collapse: collapse; margin: .6em 0; font-size: .85em; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; } th { background: #f4f4f4; }
td:first-child, th:first-child { text-align: left; }
.grid { display: flex; flex-wrap: wrap; gap: 6px; margin: .5em 0; }
.grid figure { margin: 0; width: {{ thumb }}px; } .grid img { width: 100%; display: block; }
.grid figcaption { font-size: .72em; line-height: 1.2; overflow-wrap: anywhere; }
.row { display: flex; align-items: center; gap: 8px; margin: 4px 0; } .row .label { width: 9em; font-size: .8em; }
img.figure { max-width: 100%; } .note { color: #555; font-size: .9em; } .bad { color: #b00; }
</style></head>
<body>
<h1>{{ title }}</h1>
{% if subtitle %}<p class="note">{{ subtitle }}</p>{% endif %}
<nav>{% for s in sections %}<a href="#{{ s.id }}">{{ s.heading }}</a>{% endfor %}</nav>
{% for s in sections %}<section id="{{ s.id }}"><h2>{{ s.heading }}</h2>
{% for part in s.parts %}{{ part }}
{% endfor %}</section>
{% endfor %}
</body></html>
"""


def data_uri(img: np.ndarray, fmt: str = ".jpg", max_side: int | None = None) -> str:
    """An RGB (or grey) uint8 image as a data: URI, optionally shrunk so its longer side is `max_side`."""
    if max_side and max(img.shape[:2]) > max_side:
        f = max_side / max(img.shape[:2])
        img = cv2.resize(img, (max(1, round(img.shape[1] * f)), max(1, round(img.shape[0] * f))),
                         interpolation=cv2.INTER_AREA)
    bgr = img if img.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(img[..., :3]), cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(fmt, bgr, [cv2.IMWRITE_JPEG_QUALITY, 85] if fmt == ".jpg" else [])
    if not ok:
        raise ValueError(f"could not encode an image of shape {img.shape} as {fmt}")
    mime = "jpeg" if fmt == ".jpg" else fmt.lstrip(".")
    return f"data:image/{mime};base64," + base64.b64encode(buf.tobytes()).decode("ascii")


def figure_uri(fig, dpi: int = 80) -> str:
    """A matplotlib figure as a PNG data: URI; the figure is closed unless a notebook shows it."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


@dataclass
class Section:
    heading: str
    id: str
    parts: list[Markup] = field(default_factory=list)

    def text(self, s: str, cls: str = "") -> None:
        self.parts.append(Markup('<p class="{}">{}</p>').format(cls, s))

    def table(self, df: pd.DataFrame, index: bool = False, digits: int = 4) -> None:
        if df.empty:
            self.text("(none)", "note")
            return
        shown = df.copy()
        for c in shown.columns:
            if pd.api.types.is_float_dtype(shown[c]):
                shown[c] = shown[c].map(lambda v: "" if pd.isna(v) else f"{v:.{digits}g}")
        self.parts.append(Markup(shown.to_html(index=index, border=0, escape=True, na_rep="")))

    def figure(self, fig, alt: str = "figure") -> None:
        self.parts.append(Markup('<img class="figure" alt="{}" src="{}">').format(alt, figure_uri(fig)))

    def gallery(self, items: list[tuple[np.ndarray | None, str]], thumb: int = 160) -> None:
        """Thumbnails with captions; an image that could not be read shows its caption only."""
        cells = []
        for img, caption in items:
            pic = Markup('<img alt="{}" src="{}">').format(caption, data_uri(img, max_side=thumb * 2)) \
                if img is not None else Markup('<span class="bad">unreadable</span>')
            cells.append(Markup("<figure>{}<figcaption>{}</figcaption></figure>").format(pic, caption))
        self.parts.append(Markup('<div class="grid">') + Markup("").join(cells) + Markup("</div>"))

    def strip(self, label: str, images: list[np.ndarray], height: int = 72) -> None:
        """One row: a label, then images side by side (e.g. one strip per driver)."""
        pics = Markup("").join(Markup('<img alt="{}" style="height:{}px" src="{}">').format(label, height, data_uri(im, max_side=height * 3))
                               for im in images if im is not None)
        self.parts.append(Markup('<div class="row"><span class="label">{}</span>{}</div>').format(label, pics))

    def raw(self, markup: str) -> None:
        self.parts.append(Markup(markup))


class Page:
    """Sections of text, tables, figures and thumbnails rendered into one HTML file."""

    def __init__(self, title: str, subtitle: str = "", lang: str = "en", thumb: int = 120):
        self.title, self.subtitle, self.lang, self.thumb = title, subtitle, lang, thumb
        self.sections: list[Section] = []
        self.path: Path | None = None

    @contextmanager
    def section(self, heading: str, id: str | None = None):
        s = Section(heading, id or heading.lower().replace(" ", "-"))
        yield s
        self.sections.append(s)

    def ids(self) -> list[str]:
        return [s.id for s in self.sections]

    def html(self) -> str:
        env = Environment(autoescape=True)
        return env.from_string(TEMPLATE).render(title=self.title, subtitle=self.subtitle, lang=self.lang,
                                                fonts=Markup(FONTS), thumb=self.thumb, sections=self.sections)

    def save(self, path: str | Path) -> Path:
        self.path = write_text(self.html(), path)
        return self.path

    def _repr_html_(self) -> str:
        # In Jupyter: the page in an iframe, so its styles do not leak into the notebook
        return (f'<iframe srcdoc="{html.escape(self.html(), quote=True)}" '
                'style="width:100%;height:720px;border:1px solid #ddd"></iframe>')
