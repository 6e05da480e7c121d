"""Which unlabelled frames to label next: where the model is least sure, spread out so that near-identical
frames of one hard moment are not all picked (uncertainty alone keeps choosing neighbours of one moment).

    tamgu suggest RUN videos/ photos/ --n 50 --out NEXT.csv
    tamgu label videos/ --visit NEXT.csv --out labels.csv       # the labelling page jumps to them

Candidates: a frame every `every` seconds of each video, and every photo. Each gets the run's fold-mean
probabilities (uncertainty = 1 - the top probability) and backbone features (the first fold's model). The
`pool` x n most uncertain are clustered into n groups by their features (k-means), and the most uncertain
frame of each group is suggested: n frames, each from another look of the data ("cluster-margin" in the
active-learning literature, after Citovsky et al., NeurIPS 2021).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ..defaults import ACCELERATOR, PROGRESS
from ..errors import InputError, InputsFailed
from ..files import no_bar, write_csv

log = logging.getLogger(__name__)

POOL = 10  # the n x POOL most uncertain frames are the candidates spread out by clustering
BATCH = 32


def candidates(sources: list[str | Path], every: float, errors: list[str]):
    """(source, time_s, RGB image) of every photo and of a frame every `every` seconds of each video."""
    from ..video.frames import Sampling
    from ..video.reader import VideoError, decode, plan
    from ..video.stream import media_inputs, read_photo

    for item in media_inputs(sources, "photos, folders of them, or videos"):
        if item.live:
            raise InputError(f"{item.spec}: suggest reads files (record the stream first)")
        if item.kind == "photo":
            try:
                yield str(item.path), float("nan"), read_photo(item.path)[..., ::-1]
            except (InputError, OSError, ValueError) as e:
                errors.append(f"{item.path}: {e}")
            continue
        sampling = Sampling(every=every)
        try:
            for part in plan(item.path, sampling, 1):
                for p in decode(item.path, sampling, part, errors, threads=0):
                    yield str(item.path), round(p.time, 3), p.image[..., ::-1]
        except VideoError as e:
            errors.append(str(e))


def spread(uncertainty: np.ndarray, feats: np.ndarray, n: int, pool: int = POOL, seed: int = 0) -> np.ndarray:
    """Indices of n rows: the pool x n most uncertain clustered into n groups, the most uncertain of each,
    most uncertain first."""
    from sklearn.cluster import KMeans

    n = min(n, len(uncertainty))
    top = np.argsort(-uncertainty, kind="stable")[: max(n, pool * n)]
    if len(top) <= n:
        return top
    groups = KMeans(n_clusters=n, n_init=3, random_state=seed).fit_predict(feats[top])
    picks = [top[groups == g][np.argmax(uncertainty[top[groups == g]])] for g in range(n) if (groups == g).any()]
    return np.array(sorted(picks, key=lambda i: -uncertainty[i]))


def suggest(run: str | Path, sources: list[str | Path], out: str | Path, n: int = 50,
            every: float = 1.0, pool: int = POOL, accelerator: str = ACCELERATOR,
            progress: bool = PROGRESS) -> pd.DataFrame:
    """The `n` unlabelled frames most worth labelling next, written to `out` (a CSV that `tamgu label --visit`
    reads): source, time_s (videos), uncertainty, the model's label and probability, its cluster.

    Args:
        run: a trained run folder
        sources: videos, photos or folders of them (not yet labelled)
        out: the CSV to write (e.g. NEXT.csv)
        n: frames to suggest
        every: seconds between the candidate frames of a video
        pool: the n x pool most uncertain frames are spread out by clustering (1: uncertainty alone)
        accelerator: cpu, gpu, mps or auto
    """
    from tqdm.auto import tqdm

    from ..pipeline.familiar import embedder
    from ..pipeline.inference import Predictor
    from ..runtime import resize

    if n < 1:
        raise InputError(f"--n {n}: suggest at least one frame.")
    if every <= 0:
        raise InputError(f"--every {every}: seconds between candidate frames must be positive.")
    if pool < 1:
        raise InputError(f"--pool {pool}: 1 (uncertainty alone) or more.")
    predictor = Predictor(run, accelerator=accelerator)
    embed = embedder(run, accelerator)
    rows, probs, feats, errors = [], [], [], []
    batch: list[np.ndarray] = []

    def flush() -> None:
        if batch:
            x = np.stack(batch)
            probs.append(predictor(x))
            feats.append(embed(x))
            batch.clear()

    bar = tqdm(desc="suggest", unit="frame", disable=no_bar(progress))
    for src, t, rgb in candidates([sources] if isinstance(sources, (str, Path)) else list(sources), every, errors):
        rows.append((src, t))
        batch.append(resize(np.ascontiguousarray(rgb), predictor.size))
        if len(batch) == BATCH:
            flush()
        bar.update(1)
    flush()
    bar.close()
    if not rows:
        raise InputError(f"no frame could be read from {sources}" + (f": {errors[0]}" if errors else ""))
    p, f = np.concatenate(probs), np.concatenate(feats)
    uncertainty = 1 - p.max(1)
    chosen = spread(uncertainty, f, n, pool)
    table = pd.DataFrame({
        "source": [rows[i][0] for i in chosen], "time_s": [rows[i][1] for i in chosen],
        "uncertainty": uncertainty[chosen].round(4),
        "label": np.asarray(predictor.classes)[p[chosen].argmax(1)], "prob": p[chosen].max(1).round(4),
        "rank": np.arange(1, len(chosen) + 1)})
    write_csv(table, out)
    table.attrs.update(candidates=len(rows), errors=errors, out=str(out))
    if errors:
        raise InputsFailed(f"{len(errors)} input(s) could not be read ({errors[0]}); the suggestions from the "
                           f"others are in {out}")
    return table
