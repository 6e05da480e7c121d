import numpy as np
import pytest
from sklearn.metrics import log_loss as sk_log_loss

from tamgu.pipeline.metrics import accuracy, log_loss


@pytest.mark.parametrize("case", ["random", "confident_wrong", "exact_zero", "unnormalised", "uniform"])
def test_log_loss_equals_sklearn(case):
    rng = np.random.default_rng(0)
    n, k = 200, 10
    y = rng.integers(0, k, n)
    p = rng.dirichlet(np.ones(k), n)
    if case == "confident_wrong":
        p = np.eye(k)[(y + 1) % k] * (1 - 1e-3) + 1e-4
    elif case == "exact_zero":
        p = np.eye(k)[(y + 1) % k]  # probability exactly 0 on the truth: clipped to 1e-15
    elif case == "unnormalised":
        p = p * rng.uniform(0.5, 3, size=(n, 1))
    elif case == "uniform":
        p = np.full((n, k), 0.1)
    p_ref = p / p.sum(axis=1, keepdims=True)
    ref = sk_log_loss(y, np.clip(p_ref, 1e-15, 1 - 1e-15), labels=list(range(k)))
    assert log_loss(y, p) == pytest.approx(ref, abs=1e-9)


def test_uniform_guess_is_ln10_and_confident_mistake_costs_34_5():
    y = np.array([3])
    assert log_loss(y, np.full((1, 10), 0.1)) == pytest.approx(np.log(10))
    assert log_loss(y, np.eye(10)[[0]]) == pytest.approx(-np.log(1e-15), rel=1e-6)


def test_accuracy():
    assert accuracy([0, 1, 2], np.eye(3)[[0, 1, 0]]) == pytest.approx(2 / 3)
