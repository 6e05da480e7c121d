"""Property-based tests (hypothesis) for the metric and the prediction-table reader: what must hold for
every input, not just the ones we thought of."""

import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tamgu.pipeline.metrics import EPS, log_loss
from tamgu.pipeline.table import read_predictions

CLASSES = [f"c{i}" for i in range(10)]


@st.composite
def predictions(draw, n_max=30, k_min=2, k_max=10):
    n = draw(st.integers(1, n_max))
    k = draw(st.integers(k_min, k_max))
    p = draw(arrays(np.float64, (n, k), elements=st.floats(0.0, 1.0, allow_nan=False)))
    p[p.sum(1) == 0] = 1.0  # a row of zeros is no distribution
    y = draw(arrays(np.int64, (n,), elements=st.integers(0, k - 1)))
    return y, p


@given(predictions())
def test_log_loss_is_bounded_and_ignores_row_scale(case):
    y, p = case
    loss = log_loss(y, p)
    assert 0.0 <= loss <= -np.log(EPS) + 1e-9  # never above one fully confident mistake per image
    assert log_loss(y, p * 3.7) == pytest.approx(loss, rel=1e-9, abs=1e-12)  # rows are renormalised


@given(predictions())
def test_log_loss_matches_sklearn(case):
    from sklearn.metrics import log_loss as sk_log_loss

    y, p = case
    q = np.clip(p / p.sum(1, keepdims=True), EPS, 1 - EPS)
    expected = sk_log_loss(y, q / q.sum(1, keepdims=True), labels=range(p.shape[1]))
    assert log_loss(y, p) == pytest.approx(expected, rel=1e-6, abs=1e-6)


@given(st.integers(2, 50), st.integers(1, 40))
def test_uniform_guess_is_log_k_and_perfect_is_zero(k, n):
    y = np.arange(n) % k
    assert log_loss(y, np.full((n, k), 1.0 / k)) == pytest.approx(np.log(k))
    assert log_loss(y, np.eye(k)[y]) < 1e-12


def _table(n, probs, bom):
    df = pd.DataFrame(probs, columns=CLASSES)
    df.insert(0, "img", [f"img_{i}.jpg" for i in range(n)])
    buf = io.BytesIO()
    df.to_csv(buf, index=False, encoding="utf-8-sig" if bom else "utf-8")
    return df, buf.getvalue()


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60)
@given(st.integers(1, 20), st.data(), st.booleans())
def test_a_valid_table_reads_back_as_written(tmp_path, n, data, bom):
    probs = data.draw(arrays(np.float64, (n, 10), elements=st.floats(0.0, 1.0, allow_nan=False, width=32)))
    df, raw = _table(n, probs, bom)
    path = tmp_path / "sub.csv"
    path.write_bytes(raw)
    back = read_predictions(path, CLASSES)
    assert back["img"].tolist() == df["img"].tolist()
    np.testing.assert_allclose(back[CLASSES].to_numpy(), probs, rtol=1e-6, atol=1e-9)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60)
@given(st.integers(1, 20), st.data())
def test_any_bad_cell_is_refused_with_its_row(tmp_path, n, data):
    probs = np.full((n, 10), 0.1)
    row, col = data.draw(st.integers(0, n - 1)), data.draw(st.integers(0, 9))
    bad = data.draw(st.sampled_from([np.nan, np.inf, -np.inf, -1e-3, 1.5, "x"]))
    df, _ = _table(n, probs, False)
    df = df.astype({c: object for c in CLASSES})
    df.iloc[row, col + 1] = bad
    path = tmp_path / "sub.csv"
    df.to_csv(path, index=False)
    with pytest.raises(ValueError, match=rf"1 row\(s\) .*first: img_{row}.jpg"):
        read_predictions(path, CLASSES)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=40)
@given(st.lists(st.sampled_from(CLASSES), min_size=1, max_size=3, unique=True))
def test_missing_class_columns_are_named(tmp_path, dropped):
    df, _ = _table(3, np.full((3, 10), 0.1), False)
    path = tmp_path / "sub.csv"
    df.drop(columns=dropped).to_csv(path, index=False)
    with pytest.raises(ValueError, match="class columns differ: missing") as err:
        read_predictions(path, CLASSES)
    assert all(repr(c) in str(err.value) for c in dropped)
