"""What happens when, from per-frame probabilities: temporal smoothing, segments and alerts (pure functions).

A driver's action lasts seconds while single frames flicker between look-alike classes, so the label is the
argmax of the probabilities averaged over the last `seconds` (causal: a live source gives the same labels as
the same clip read from a file).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import TamguError

from ..defaults import FLOOR, UNCERTAIN  # noqa: E402,F401 (one place for both; watch and predict use them)


def decide(smoothed: np.ndarray, classes: list[str], floor: float = FLOOR, far: bool = False) -> tuple[str, str]:
    """(label, why uncertain): the smoothed argmax, or UNCERTAIN when its probability is under `floor` ("low")
    or the frame is unlike everything the model trained on (`far`: "far")."""
    top = int(np.argmax(smoothed))
    if far:
        return UNCERTAIN, "far"
    if smoothed[top] < floor:
        return UNCERTAIN, "low"
    return classes[top], ""


def smooth(times: np.ndarray, probs: np.ndarray, seconds: float) -> np.ndarray:
    """Each row averaged with the rows of the `seconds` before it (times ascending); 0 leaves them as they are."""
    times, probs = np.asarray(times, float), np.asarray(probs, float)
    if seconds <= 0 or len(probs) < 2:
        return probs.copy()
    cum = np.vstack([np.zeros((1, probs.shape[1])), np.cumsum(probs, axis=0)])
    start = np.searchsorted(times, times - seconds, side="right")
    end = np.arange(1, len(times) + 1)
    return (cum[end] - cum[start]) / (end - start)[:, None]


class Smoother:
    """The same causal average, one row at a time (for a live source)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.rows: list[tuple[float, np.ndarray]] = []

    def add(self, t: float, p: np.ndarray) -> np.ndarray:
        self.rows.append((t, np.asarray(p, float)))
        while self.rows and self.rows[0][0] <= t - self.seconds and len(self.rows) > 1:
            self.rows.pop(0)
        return np.mean([r for _, r in self.rows], axis=0)


def segments(times: np.ndarray, labels: list[str], probs: np.ndarray, classes: list[str],
             end: float | None = None) -> pd.DataFrame:
    """Runs of one label: start_s, end_s (the next run's start, or `end`), label, mean_prob (of that label)."""
    cols = ["start_s", "end_s", "label", "mean_prob"]
    if not len(labels):
        return pd.DataFrame(columns=cols)
    times = np.asarray(times, float)
    rows, s = [], 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[s]:
            stop = times[i] if i < len(labels) else (end if end is not None else times[-1])
            # an uncertain stretch: the mean of the top probability (how unsure it was)
            shown = probs[s:i, classes.index(labels[s])] if labels[s] in classes else probs[s:i].max(1)
            rows.append((round(float(times[s]), 3), round(float(stop), 3), labels[s], float(shown.mean())))
            s = i
    return pd.DataFrame(rows, columns=cols)


@dataclass(frozen=True)
class Alert:
    classes: tuple[str, ...]
    seconds: float

    @property
    def text(self) -> str:
        return f"{','.join(self.classes)}>={self.seconds:g}s"


def parse_alert(text: str, classes: list[str]) -> Alert:
    """`"c1,c2,c3,c4>=2s"`: any of these classes held for at least 2 seconds."""
    m = re.fullmatch(r"\s*([\w\-, ]+?)\s*>=\s*([\d.]+)\s*(ms|s)?\s*", text or "")
    if not m:
        raise TamguError(f"--alert {text!r}: write CLASSES>=DURATION, e.g. \"c1,c2,c3,c4>=2s\" (texting or phoning "
                         "for 2 seconds).")
    wanted = tuple(c.strip() for c in m.group(1).split(",") if c.strip())
    unknown = [c for c in wanted if c not in classes]
    if unknown:
        raise TamguError(f"--alert: {unknown} are not classes of this run; its classes are {', '.join(classes)}.")
    seconds = float(m.group(2)) * (0.001 if m.group(3) == "ms" else 1)
    if seconds <= 0:
        raise TamguError(f"--alert {text!r}: the duration must be positive.")
    return Alert(wanted, seconds)


def alerts(times: np.ndarray, labels: list[str], alert: Alert, end: float | None = None) -> pd.DataFrame:
    """Every stretch where the label stays within the alert's classes for at least its duration:
    start_s (when the stretch began), alarm_s (when the duration was reached), end_s, classes, seconds."""
    cols = ["start_s", "alarm_s", "end_s", "classes", "seconds"]
    rows, start = [], None
    times = np.asarray(times, float)
    for i, lab in enumerate(list(labels) + [None]):
        inside = lab in alert.classes
        if inside and start is None:
            start = i
        if not inside and start is not None:
            stop = times[i] if i < len(times) else (end if end is not None else times[-1])
            t0 = float(times[start])
            if stop - t0 >= alert.seconds:
                held = sorted(set(labels[start:i]))
                rows.append((round(t0, 3), round(t0 + alert.seconds, 3), round(float(stop), 3), ",".join(held),
                             round(float(stop - t0), 3)))
            start = None
    return pd.DataFrame(rows, columns=cols)


class AlertState:
    """The same rule, one label at a time: is the alarm on now, and since when has its stretch run?"""

    def __init__(self, alert: Alert | None):
        self.alert, self.since = alert, None

    def update(self, t: float, label: str) -> bool:
        if self.alert is None:
            return False
        if label in self.alert.classes:
            self.since = t if self.since is None else self.since
            return t - self.since >= self.alert.seconds
        self.since = None
        return False


def schedule_accuracy(times: np.ndarray, labels: list[str], schedule: pd.DataFrame) -> float:
    """Share of frames whose label is the scheduled one (schedule: start_s, end_s, label)."""
    times = np.asarray(times, float)
    truth = np.array([_at(schedule, t) for t in times], dtype=object)
    return float(np.mean(truth == np.asarray(labels, dtype=object))) if len(times) else float("nan")


def _at(schedule: pd.DataFrame, t: float) -> str | None:
    hit = schedule[(schedule["start_s"] <= t) & (t < schedule["end_s"])]
    return hit["label"].iloc[0] if len(hit) else None


def timeline_figure(table: pd.DataFrame, segments: pd.DataFrame, classes: list[str], alerts: pd.DataFrame | None = None,
                    truth: pd.DataFrame | None = None):
    """A watched video over time: each class's probability, the label's segments as a coloured band, the
    alerts shaded red, and (for a generated clip) the true schedule beneath."""
    import matplotlib.pyplot as plt

    colours = plt.get_cmap("tab10")
    fig, (ax, band) = plt.subplots(2, 1, figsize=(10, 3.8), sharex=True, gridspec_kw={"height_ratios": [4, 1]})
    for k, c in enumerate(classes):
        if c in table:
            ax.plot(table["time_s"], table[c], lw=1, color=colours(k % 10), label=c)
    if alerts is not None:
        for a in alerts.itertuples():
            ax.axvspan(a.start_s, a.end_s, color="red", alpha=0.12)
            ax.axvline(a.alarm_s, color="red", lw=1, ls="--")
    ax.set_ylabel("probability")
    ax.set_ylim(0, 1.02)
    ax.legend(ncol=min(10, len(classes)), fontsize=7, loc="upper center", bbox_to_anchor=(0.5, 1.22))
    rows = [("label", segments)] + ([("truth", truth)] if truth is not None else [])
    for y, (name, segs) in enumerate(rows):
        for s in segs.itertuples():
            k = classes.index(s.label) if s.label in classes else 0
            colour = "#9a9a9a" if s.label == UNCERTAIN else colours(k % 10)
            band.broken_barh([(s.start_s, s.end_s - s.start_s)], (y, 0.8), color=colour)
            band.text((s.start_s + s.end_s) / 2, y + 0.4, s.label, ha="center", va="center", fontsize=7, color="white")
    band.set_yticks([0.4 + y for y in range(len(rows))], [n for n, _ in rows])
    band.set_xlabel("time (s)")
    fig.tight_layout()
    return fig
