"""numpy_impl.models: the model records, the uniform interface (and that it is the text APIs
underneath), and the final metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from numpy_impl import dd2424 as D
from numpy_impl import functional as F
from numpy_impl import models as M
from numpy_impl import tdt4265 as T
from numpy_impl.gradcheck import max_relative_error, numerical_gradients

NAMES = ["TDT4265Binary", "TDT4265Softmax", "DD2424Softmax", "DD2424MultiBCE"]


def setup(name: str, lam: float = 0.0, n: int = 8, seed: int = 0, dtype=np.float64):
    """A model with non-trivial parameters and a batch in its layout."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=n)
    if name.startswith("TDT4265"):
        X = T.pre_process_images(rng.integers(0, 256, size=(n, 784)), dtype=dtype)
        if name == "TDT4265Binary":
            Y = (labels % 2).reshape(n, 1).astype(dtype)
        else:
            Y = T.one_hot_encode(labels.reshape(n, 1), 10, dtype)
        model = M.MODELS[name].numpy_class(lam, dtype=dtype)
        model.params["w"][...] = rng.normal(0, 0.01, size=model.params["w"].shape)
    else:
        X = rng.normal(size=(12, n)).astype(dtype)
        Y = F.one_hot(labels, 10, dtype).T
        model = M.MODELS[name].numpy_class(lam, d=12, rng=D.make_rng(seed), dtype=dtype)
        model.params["b"][...] = rng.normal(0, 0.1, size=(10, 1))
    return model, X, Y


def test_name_table_and_layouts():
    from numpy_impl.run.schema import MODEL_NAMES

    assert list(M.MODELS) == NAMES == list(MODEL_NAMES)  # the schema's Literal: the records
    for name in NAMES:
        record = M.MODELS[name]
        model, X, Y = setup(name)
        assert record.name == name and name.lower().startswith(record.text)
        assert record.lightning_class == f"lightning_ref.models.{name}"
        assert model.data_layout == record.layout == ("rows" if name.startswith("TDT")
                                                      else "columns")
        K = Y.shape[1] if record.layout == "rows" else Y.shape[0]
        d = X.shape[1] if record.layout == "rows" else X.shape[0]
        assert {k: v.shape for k, v in model.params.items()} == record.param_shapes(K, d)
        P = model.probabilities(X)
        if model.data_layout == "rows":
            assert set(model.params) == {"w"}
            assert model.params["w"].shape == (785, Y.shape[1])
            assert P.shape == Y.shape
        else:
            assert set(model.params) == {"W", "b"}
            assert model.params["W"].shape == (10, 12) and model.params["b"].shape == (10, 1)
            assert P.shape == Y.shape == (10, X.shape[1])


def test_initialisations_are_the_texts():
    assert not M.TDT4265Binary().params["w"].any()
    assert not M.TDT4265Softmax(0.1).params["w"].any()
    model = M.DD2424Softmax(0.0, rng=D.make_rng(42))
    np.testing.assert_array_equal(model.params["W"], D.init_network(10, 3072, D.make_rng(42))["W"])
    with pytest.raises(ValueError, match="rng"):
        M.DD2424MultiBCE(0.0)
    params = {"W": np.ones((2, 3)), "b": np.zeros((2, 1))}
    model = M.DD2424Softmax(0.0, params=params)
    model.params["W"] -= 0.1
    np.testing.assert_array_equal(params["W"], 1.0)  # the caller's arrays are copied
    init = M.MODELS["DD2424Softmax"].initial_parameters(10, 3072, D.make_rng(42))
    np.testing.assert_array_equal(init["W"], D.init_network(10, 3072, D.make_rng(42))["W"])
    assert not M.MODELS["TDT4265Binary"].initial_parameters(1, 785, D.make_rng(0))["w"].any()


def test_zero_weight_sanity_values():
    _, X, Y = setup("TDT4265Binary")
    assert M.TDT4265Binary().loss(X, Y) == pytest.approx(math.log(2))
    _, X, Y = setup("TDT4265Softmax")
    assert M.TDT4265Softmax(0.5).cost(X, Y) == pytest.approx(math.log(10))
    zero = {"W": np.zeros((10, 12)), "b": np.zeros((10, 1))}
    _, X, Y = setup("DD2424Softmax")
    assert M.DD2424Softmax(1.0, params=zero).cost(X, Y) == pytest.approx(math.log(10))
    assert M.DD2424MultiBCE(1.0, params=zero).loss(X, Y) == pytest.approx(math.log(2))


@pytest.mark.parametrize("name", NAMES)
def test_methods_delegate_to_the_text_apis(name):
    model, X, Y = setup(name, lam=0.3)
    if name == "TDT4265Binary":
        inner = T.BinaryModel(0.3)
        inner.w = model.params["w"]
        P = inner.forward(X)
        loss, acc = T.binary_cross_entropy_loss_with_logits(Y, X @ inner.w), T.binary_accuracy(
            X, Y, inner)
        text_loss = T.binary_cross_entropy_loss(Y, P)
        inner.backward(X, P, Y)
        grads = {"w": inner.grad}
    elif name == "TDT4265Softmax":
        inner = T.SoftmaxModel(0.3)
        inner.w = model.params["w"]
        P = inner.forward(X)
        loss, acc = T.cross_entropy_loss_with_logits(Y, X @ inner.w), T.accuracy(X, Y, inner)
        text_loss = T.cross_entropy_loss(Y, P)
        inner.backward(X, P, Y)
        grads = {"w": inner.grad}
    elif name == "DD2424Softmax":
        P = D.apply_network(X, model.params)
        y = Y.argmax(axis=0)
        loss, acc = D.compute_loss_with_logits(D.scores(X, model.params), y), D.compute_accuracy(
            P, y)
        text_loss = D.compute_loss(P, y)
        assert model.cost(X, Y) == pytest.approx(D.compute_cost(P, y, model.params, 0.3))
        grads = D.backward_pass(X, Y, P, model.params, 0.3)
    else:
        P = D.apply_network_sigmoid(X, model.params)
        loss = D.compute_loss_multiple_bce_with_logits(D.scores(X, model.params), Y)
        acc = D.compute_accuracy(P, Y.argmax(axis=0))
        text_loss = D.compute_loss_multiple_bce(P, Y)
        grads = D.backward_pass_multiple_bce(X, Y, P, model.params, 0.3)
    np.testing.assert_array_equal(model.probabilities(X), P)
    # the loss of the scores, which equals the text's loss of P where nothing saturates
    assert model.loss(X, Y) == loss == pytest.approx(text_loss, rel=1e-13)
    assert model.accuracy(X, Y) == acc and 0 <= acc <= 1
    weights = model.params["w" if "w" in model.params else "W"]
    assert model.cost(X, Y) == pytest.approx(loss + 0.3 * np.sum(weights**2), rel=1e-12)
    for key, g in model.gradients(X, Y).items():
        np.testing.assert_array_equal(g, grads[key])


@pytest.mark.parametrize("lam", [0.0, 0.2])
@pytest.mark.parametrize("name", NAMES)
def test_gradients_are_those_of_the_cost(name, lam):
    model, X, Y = setup(name, lam=lam, n=5, seed=1)
    analytic = model.gradients(X, Y)
    numerical = numerical_gradients(lambda: model.cost(X, Y), model.params, eps=1e-4)
    # relative error is loose only for gradient elements near 0 (here ~1e-6, off by ~1e-11)
    assert max_relative_error(analytic, numerical) < 1e-4
    for key in analytic:
        np.testing.assert_allclose(analytic[key], numerical[key], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_float32_stays_float32(name):
    model, X, Y = setup(name, lam=0.1, dtype=np.float32)
    assert model.probabilities(X).dtype == np.float32
    assert all(g.dtype == np.float32 for g in model.gradients(X, Y).values())
    assert isinstance(model.cost(X, Y), float)


@pytest.mark.parametrize("name", NAMES)
def test_extreme_parameters_give_finite_losses_and_gradients(name):
    model, X, Y = setup(name, lam=0.1)
    for array in model.params.values():
        array[...] = np.sign(np.random.default_rng(0).normal(size=array.shape)) * 1e4
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        values = [model.loss(X, Y), model.cost(X, Y)]
        grads = model.gradients(X, Y)
    assert np.isfinite(values).all()
    assert all(np.isfinite(g).all() for g in grads.values())


def test_final_metrics_are_the_uniform_models_on_every_part():
    """One definition of a run's final metrics: loss, cost and accuracy of every part."""
    from numpy_impl.splits import Split

    model, X, Y = setup("TDT4265Softmax", lam=0.3, n=12)
    split = Split(X[:8], Y[:8], X[8:], Y[8:], None, None, "rows", (28, 28, 1), "test")
    metrics = M.final_metrics("TDT4265Softmax", model.params, 0.3, split)
    assert set(metrics) == {f"{p}/{k}" for p in ("train", "val") for k in ("loss", "cost", "acc")}
    w = model.params["w"]
    loss = float(T.cross_entropy_loss_with_logits(Y[8:], X[8:] @ w))
    assert metrics["val/loss"] == loss
    assert metrics["val/cost"] == pytest.approx(loss + 0.3 * np.sum(w * w), rel=1e-15)
    assert metrics["val/acc"] == T.accuracy(X[8:], Y[8:], model.model)
