"""numpy_impl.dd2424: the text's functions, flips, mini-batch GD, step decay and grid search."""

from __future__ import annotations

import copy
import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from numpy_impl import dd2424 as D
from numpy_impl import draws
from numpy_impl import functional as F
from numpy_impl.gradcheck import check_tdt4265, max_relative_error, numerical_gradients
from numpy_impl.steps import StepRecord
from tests.fakes import write_cifar_batch


def problem(d=10, n=30, K=4, seed=0, dtype=np.float64):
    """Random (X, Y, y) in the text's layout and a network drawn the text's way."""
    rng = D.make_rng(seed)
    network = D.init_network(K, d, rng)
    X = rng.standard_normal((d, n)).astype(dtype)
    y = rng.integers(0, K, size=n)
    Y = F.one_hot(y, K, dtype).T
    network = {k: v.astype(dtype) for k, v in network.items()}
    return X, Y, y, network


# ----------------------------------------------------------------------------- set-up


def test_make_rng_and_init_network_are_the_shared_draws():
    assert D.make_rng is draws.make_rng
    a, b = D.init_network(10, 3072, D.make_rng(42)), draws.init_dd2424(10, 3072, D.make_rng(42))
    np.testing.assert_array_equal(a["W"], b["W"])
    assert a["W"].shape == (10, 3072) and a["b"].shape == (10, 1) and not a["b"].any()
    assert a["W"].std() == pytest.approx(0.01, rel=0.02)


def test_load_batch_layout(tmp_path):
    pytest.importorskip("numpy_impl.data")
    rng = np.random.default_rng(0)
    data = rng.integers(0, 256, size=(5, 3072)).astype(np.uint8)
    write_cifar_batch(tmp_path / "data_batch_1", data, [3, 0, 9, 1, 1])
    X, Y, y = D.load_batch(tmp_path / "data_batch_1")
    assert X.shape == (3072, 5) and X.dtype == np.float64
    np.testing.assert_array_equal(X, data.T / 255)
    assert 0 <= X.min() and X.max() <= 1
    assert Y.shape == (10, 5) and Y.dtype == X.dtype
    np.testing.assert_array_equal(Y.argmax(axis=0), [3, 0, 9, 1, 1])
    np.testing.assert_array_equal(Y.sum(axis=0), 1)
    np.testing.assert_array_equal(y, [3, 0, 9, 1, 1])


def test_mean_std_and_normalize():
    X = np.array([[1.0, 3.0, 5.0], [2.0, 2.0, 2.0]])  # second dimension constant
    mean, std = D.mean_std(X)
    assert mean.shape == std.shape == (2, 1)
    np.testing.assert_allclose(mean, [[3.0], [2.0]])
    np.testing.assert_allclose(std, [[math.sqrt(8 / 3)], [0.0]])
    Z = D.normalize(X, mean, std)
    np.testing.assert_allclose(Z[0], [-1.5 / math.sqrt(1.5), 0, 1.5 / math.sqrt(1.5)])
    np.testing.assert_array_equal(Z[1], 0)  # std 0: centred, not nan
    rng = np.random.default_rng(1)
    X = rng.normal(3, 2, size=(6, 50)).astype(np.float32)
    Z = D.normalize(X, *D.mean_std(X))
    assert Z.dtype == np.float32
    np.testing.assert_allclose(Z.mean(axis=1), 0, atol=1e-5)
    np.testing.assert_allclose(Z.std(axis=1), 1, rtol=1e-5)


# ----------------------------------------------------------------------------- softmax network


def test_zero_network_gives_uniform_probabilities_and_ln_K():
    X, Y, y, _ = problem(K=4)
    zero = {"W": np.zeros((4, 10)), "b": np.zeros((4, 1))}
    P = D.apply_network(X, zero)
    np.testing.assert_allclose(P, 0.25)
    assert D.compute_loss(P, y) == pytest.approx(math.log(4))
    np.testing.assert_allclose(D.apply_network_sigmoid(X, zero), 0.5)
    assert D.compute_loss_multiple_bce(D.apply_network_sigmoid(X, zero), Y) == pytest.approx(
        math.log(2))


def test_apply_network_by_hand():
    network = {"W": np.array([[1.0, 0.0], [0.0, 0.0]]), "b": np.array([[0.0], [0.0]])}
    X = np.array([[math.log(2)], [5.0]])  # s = [ln 2, 0]
    np.testing.assert_allclose(D.apply_network(X, network), [[2 / 3], [1 / 3]])
    np.testing.assert_allclose(D.apply_network_sigmoid(X, network), [[2 / 3], [1 / 2]])


def test_loss_cost_accuracy_by_hand():
    P = np.array([[0.5, 0.1, 0.2], [0.5, 0.9, 0.8]])
    y = np.array([0, 1, 0])
    assert D.compute_loss(P, y) == pytest.approx(-(math.log(0.5) + math.log(0.9) + math.log(0.2))
                                                 / 3)
    network = {"W": np.array([[1.0, 2.0]]), "b": np.array([[100.0]])}  # b is not regularised
    assert D.compute_cost(P, y, network, 0.1) == pytest.approx(D.compute_loss(P, y) + 0.5)
    assert D.compute_accuracy(P, y) == pytest.approx(2 / 3)  # column 0 ties: argmax -> class 0
    Y = F.one_hot(y, 2).T
    assert D.compute_loss_multiple_bce(P, Y) == pytest.approx(np.mean(
        -(Y * np.log(P) + (1 - Y) * np.log(1 - P)).mean(axis=0)))


@pytest.mark.parametrize("lam", [0.0, 0.3])
@pytest.mark.parametrize("loss", ["softmax", "multiple_bce"])
def test_gradients_against_finite_differences(loss, lam):
    # the text's check: d_small = 10, n_small = 3, K = 10
    X, Y, y, network = problem(d=10, n=3, K=10, seed=2)
    objective = D.OBJECTIVES[loss]
    network["b"] = np.random.default_rng(0).normal(0, 0.1, size=(10, 1))

    def cost():
        return objective.cost(objective.apply(X, network), Y, network, lam)

    grads = objective.backward(X, Y, objective.apply(X, network), network, lam)
    assert grads["W"].shape == (10, 10) and grads["b"].shape == (10, 1)
    numerical = numerical_gradients(cost, network, eps=1e-4)
    assert max_relative_error(grads, numerical) < 1e-6
    check_tdt4265(cost, network, grads)


@given(st.integers(1, 8), st.integers(1, 8), st.integers(2, 6), st.integers(0, 2**32 - 1))
def test_gradients_against_finite_differences_any_shape(d, n, K, seed):
    X, Y, y, network = problem(d, n, K, seed)
    for loss in ("softmax", "multiple_bce"):
        objective = D.OBJECTIVES[loss]
        grads = objective.backward(X, Y, objective.apply(X, network), network, 0.2)
        numerical = numerical_gradients(
            lambda o=objective: o.cost(o.apply(X, network), Y, network, 0.2), network, eps=1e-6)
        for name in ("W", "b"):
            np.testing.assert_allclose(grads[name], numerical[name], atol=1e-7)


def test_b_is_not_regularised_and_lambda_W_fails_the_check():
    X, Y, y, network = problem(d=6, n=5, K=3, seed=3)
    network["W"] *= 50
    P = D.apply_network(X, network)
    lam = 1.0
    g0 = D.backward_pass(X, Y, P, network, 0.0)
    g1 = D.backward_pass(X, Y, P, network, lam)
    np.testing.assert_array_equal(g0["b"], g1["b"])
    np.testing.assert_allclose(g1["W"] - g0["W"], 2 * lam * network["W"], atol=1e-15)

    def cost():
        return D.compute_cost(D.apply_network(X, network), y, network, lam)

    numerical = numerical_gradients(cost, network, eps=1e-5)
    assert max_relative_error(g1, numerical) < 1e-6
    half_convention = {"W": g0["W"] + lam * network["W"], "b": g0["b"]}
    assert max_relative_error(half_convention, numerical) > 0.1
    with pytest.raises(AssertionError, match=r"gradient W\["):
        check_tdt4265(cost, network, half_convention)


def test_multiple_bce_gradient_is_p_minus_y_over_K():
    X, Y, y, network = problem(d=5, n=4, K=5, seed=4)
    P = D.apply_network_sigmoid(X, network)
    grads = D.backward_pass_multiple_bce(X, Y, P, network, 0.0)
    np.testing.assert_allclose(grads["W"], (P - Y) / 5 @ X.T / 4)
    np.testing.assert_allclose(grads["b"], ((P - Y) / 5).mean(axis=1, keepdims=True))


@pytest.mark.parametrize("loss", ["softmax", "multiple_bce"])
def test_extreme_scores_are_finite(loss):
    X, Y, y, network = problem(d=4, n=6, K=3, seed=5)
    network["W"] = np.sign(network["W"]) * 1e4
    objective = D.OBJECTIVES[loss]
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        P = objective.apply(X, network)
        value = objective.cost(P, Y, network, 0.1)
        grads = objective.backward(X, Y, P, network, 0.1)
    assert np.isfinite(P).all() and np.isfinite(value)
    assert all(np.isfinite(g).all() for g in grads.values())


@pytest.mark.parametrize("loss", ["softmax", "multiple_bce"])
def test_float32_stays_float32(loss):
    X, Y, y, network = problem(dtype=np.float32)
    objective = D.OBJECTIVES[loss]
    P = objective.apply(X, network)
    grads = objective.backward(X, Y.astype(np.float64), P, network, np.float64(0.1))
    assert P.dtype == grads["W"].dtype == grads["b"].dtype == np.float32
    assert objective.cost(P, Y, network, np.float64(0.1)).dtype == np.float32
    trained, _ = D.mini_batch_gd(X, Y, {"n_batch": 5, "eta": np.float64(0.1), "n_epochs": 2},
                                 network, np.float64(0.1), D.make_rng(), loss=loss)
    assert trained["W"].dtype == trained["b"].dtype == np.float32


# ----------------------------------------------------------------------------- flips


def cifar_row(img: np.ndarray) -> np.ndarray:
    """An H x W x C image laid out as a CIFAR-10 row: channel-major."""
    return img.transpose(2, 0, 1).reshape(-1)


def test_flip_indices_matches_fliplr_and_the_texts_snippet():
    rng = np.random.default_rng(0)
    for H, W, C in [(32, 32, 3), (28, 28, 1), (4, 5, 2)]:
        img = rng.integers(0, 256, size=(H, W, C))
        inds = D.flip_indices(H, W, C)
        np.testing.assert_array_equal(cifar_row(img)[inds], cifar_row(np.fliplr(img)))
    # the text's own construction, verbatim
    aa = np.int32(np.arange(32)).reshape((32, 1))
    bb = np.int32(np.arange(31, -1, -1)).reshape((32, 1))
    vv = np.tile(32 * aa, (1, 32))
    ind_flip = vv.reshape((32 * 32, 1)) + np.tile(bb, (32, 1))
    inds_flip = np.vstack((ind_flip, 1024 + ind_flip))
    inds_flip = np.vstack((inds_flip, 2048 + ind_flip))
    np.testing.assert_array_equal(D.flip_indices(), inds_flip[:, 0])


def test_flip_images_flips_masked_columns_only_and_twice_is_identity():
    rng = np.random.default_rng(1)
    imgs = rng.integers(0, 256, size=(4, 32, 32, 3)).astype(np.float64)
    X = np.stack([cifar_row(im) for im in imgs], axis=1)  # (3072, 4)
    X_before = X.copy()
    mask = np.array([True, False, True, False])
    Xf = D.flip_images(X, mask)
    np.testing.assert_array_equal(X, X_before)  # the input is untouched
    for j in range(4):
        expected = cifar_row(np.fliplr(imgs[j])) if mask[j] else X[:, j]
        np.testing.assert_array_equal(Xf[:, j], expected)
    np.testing.assert_array_equal(D.flip_images(Xf, mask), X)
    mnist = rng.normal(size=(784, 3))
    np.testing.assert_array_equal(D.flip_images(D.flip_images(mnist, [1, 1, 0]), [1, 1, 0]),
                                  mnist)
    with pytest.raises(ValueError, match="image_shape"):
        D.flip_images(np.zeros((10, 2)), [True, False])


# ----------------------------------------------------------------------------- mini-batch GD


def separable(d=8, n=60, K=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, K, size=n)
    centres = rng.normal(0, 3, size=(d, K))
    X = centres[:, y] + rng.normal(size=(d, n))
    return X, F.one_hot(y, K).T, y


def test_mini_batch_gd_deep_copies_and_records_history():
    X, Y, _ = separable()
    Xv, Yv, _ = separable(n=20, seed=1)
    init = D.init_network(3, 8, D.make_rng(0))
    saved = copy.deepcopy(init)
    net, history = D.mini_batch_gd(X, Y, {"n_batch": 10, "eta": 0.05, "n_epochs": 4}, init, 0.01,
                                   D.make_rng(1), Xv, Yv)
    np.testing.assert_array_equal(init["W"], saved["W"])
    np.testing.assert_array_equal(init["b"], saved["b"])
    assert net["W"] is not init["W"]
    assert set(history) == {"train_loss", "train_cost", "train_accuracy", "val_loss",
                            "val_cost", "val_accuracy", "eta"}
    assert all(len(v) == 4 for v in history.values())
    assert history["eta"] == [0.05] * 4
    assert history["train_cost"][-1] < history["train_cost"][0]
    assert all(c > loss for c, loss in zip(history["train_cost"], history["train_loss"],
                                           strict=True))
    assert history["train_cost"][-1] == pytest.approx(
        D.compute_cost(D.apply_network(X, net), Y.argmax(0), net, 0.01))
    _, history = D.mini_batch_gd(X, Y, {"n_batch": 10, "eta": 0.05, "n_epochs": 2}, init, 0.0,
                                 D.make_rng(1))
    assert set(history) == {"train_loss", "train_cost", "train_accuracy", "eta"}


@pytest.mark.parametrize("shuffle,flip", [(True, True), (True, False), (False, True),
                                          (False, False)])
def test_mini_batch_gd_matches_a_manual_replay_of_the_draws(shuffle, flip):
    rng_data = np.random.default_rng(3)
    X = rng_data.normal(size=(12, 23))  # 12 = a 2 x 2 x 3 image; 23 % 5 = 3 samples dropped
    Y = F.one_hot(rng_data.integers(0, 3, size=23), 3).T
    rng = D.make_rng(9)
    init = D.init_network(3, 12, rng)
    params = {"n_batch": 5, "eta": 0.1, "n_epochs": 3, "shuffle": shuffle, "flip": flip,
              "image_shape": (2, 2, 3)}
    net, _ = D.mini_batch_gd(X, Y, params, init, 0.01, rng)

    replay = D.make_rng(9)
    network = D.init_network(3, 12, replay)
    inds = D.flip_indices(2, 2, 3)
    for _ in range(3):
        plan = draws.draw_epoch(replay, 23, shuffle, flip)  # one per epoch: permutation, flips
        for j in range(23 // 5):
            batch = plan.order[j * 5:(j + 1) * 5]
            Xb, Yb = X[:, batch].copy(), Y[:, batch]
            if flip:
                for i in range(5):
                    if plan.flip[j * 5 + i]:
                        Xb[:, i] = X[inds, batch[i]]
            P = D.apply_network(Xb, network)
            grads = D.backward_pass(Xb, Yb, P, network, 0.01)
            network["W"] = network["W"] - 0.1 * grads["W"]
            network["b"] = network["b"] - 0.1 * grads["b"]
    np.testing.assert_allclose(net["W"], network["W"], rtol=1e-12)
    np.testing.assert_allclose(net["b"], network["b"], rtol=1e-12)
    assert rng.bit_generator.state == replay.bit_generator.state


def test_step_decay_divides_eta_by_10_every_k_epochs():
    X, Y, _ = separable()
    _, history = D.mini_batch_gd(X, Y, {"n_batch": 20, "eta": 0.5, "n_epochs": 5,
                                        "lr_step_epochs": 2},
                                 D.init_network(3, 8, D.make_rng()), 0.0, D.make_rng())
    assert history["eta"] == [0.5, 0.5, 0.5 * 0.1, 0.5 * 0.1, 0.5 * 0.1 * 0.1]


PLATEAU_COSTS = [5.0, 4.0, 4.0, 4.0, 3.0, 3.5, 3.6, 3.7, 2.0, 2.0]
# patience 1: bad epochs 0 0 1 2* 0 1 2* 1 0 1 (* > 1: reduce, restart the count)
PLATEAU_ETAS = [1.0, 1.0, 1.0, 1.0, 0.1, 0.1, 0.1, 0.1 * 0.1, 0.1 * 0.1, 0.1 * 0.1]


def test_plateau_decay_on_a_scripted_sequence():
    decay, eta, etas = D.PlateauDecay(patience=1), 1.0, []
    for cost in PLATEAU_COSTS:
        etas.append(eta)
        eta = decay.step(cost, eta)
    assert etas == PLATEAU_ETAS


def test_plateau_decay_matches_torch_reduce_lr_on_plateau():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    costs = list(np.round(rng.uniform(0, 1, size=40), 1))  # many ties
    for patience in (0, 1, 3):
        parameter = torch.nn.Parameter(torch.zeros(1))
        optimizer = torch.optim.SGD([parameter], lr=0.5)
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="min", factor=0.1, patience=patience, threshold=0, cooldown=0)
        decay, eta = D.PlateauDecay(patience), 0.5
        for cost in costs:
            scheduler.step(cost)
            eta = decay.step(cost, eta)
            assert eta == optimizer.param_groups[0]["lr"]


def test_mini_batch_gd_plateau_uses_the_validation_cost(monkeypatch):
    X, Y, _ = separable()
    Xv, Yv, _ = separable(n=10, seed=2)
    evaluate = D.evaluate
    scripted = iter(PLATEAU_COSTS)

    def scripted_evaluate(XX, YY, network, lam, loss="softmax"):
        result = evaluate(XX, YY, network, lam, loss)
        if XX is Xv:
            result["cost"] = next(scripted)
        return result

    monkeypatch.setattr(D, "evaluate", scripted_evaluate)
    _, history = D.mini_batch_gd(X, Y, {"n_batch": 20, "eta": 1.0, "n_epochs": 10,
                                        "lr_plateau_patience": 1},
                                 D.init_network(3, 8, D.make_rng()), 0.0, D.make_rng(), Xv, Yv)
    assert history["val_cost"] == PLATEAU_COSTS
    assert history["eta"] == PLATEAU_ETAS


def test_gd_params_are_checked():
    X, Y, _ = separable()
    init = D.init_network(3, 8, D.make_rng())
    with pytest.raises(ValueError, match="missing"):
        D.mini_batch_gd(X, Y, {"n_batch": 10, "eta": 0.1}, init, 0.0, D.make_rng())
    with pytest.raises(ValueError, match="unknown"):
        D.mini_batch_gd(X, Y, {"n_batch": 10, "eta": 0.1, "n_epochs": 1, "epochs": 2}, init, 0.0,
                        D.make_rng())
    with pytest.raises(ValueError, match="X_val"):
        D.mini_batch_gd(X, Y, {"n_batch": 10, "eta": 0.1, "n_epochs": 1,
                               "lr_plateau_patience": 2}, init, 0.0, D.make_rng())


def test_multiple_bce_training_learns():
    X, Y, _ = separable()
    _, history = D.mini_batch_gd(X, Y, {"n_batch": 10, "eta": 0.5, "n_epochs": 5},
                                 D.init_network(3, 8, D.make_rng()), 0.0, D.make_rng(),
                                 loss="multiple_bce")
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert history["train_accuracy"][-1] > 0.8


def test_grid_search_one_row_per_combination_and_fresh_rng():
    X, Y, _ = separable(n=40)
    Xv, Yv, _ = separable(n=10, seed=2)
    grid = {"lam": [0.0, 0.1], "eta": [0.01, 0.1], "n_batch": [10, 20]}
    rows = D.grid_search(X, Y, Xv, Yv, grid, {"n_epochs": 2}, seed=42)
    assert len(rows) == 8
    assert {(r["lam"], r["eta"], r["n_batch"]) for r in rows} == {
        (a, b, c) for a in grid["lam"] for b in grid["eta"] for c in grid["n_batch"]}
    for key in ("train_cost", "train_accuracy", "val_cost", "val_accuracy"):
        assert all(np.isfinite(r[key]) for r in rows)
    again = D.grid_search(X, Y, Xv, Yv, {"eta": [0.1]}, {"n_epochs": 2, "lam": 0.1,
                                                         "n_batch": 20}, seed=42)
    match = next(r for r in rows if (r["lam"], r["eta"], r["n_batch"]) == (0.1, 0.1, 20))
    assert again[0] == match
    rng = D.make_rng(42)
    _, history = D.mini_batch_gd(X, Y, {"n_batch": 20, "eta": 0.1, "n_epochs": 2},
                                 D.init_network(3, 8, rng), 0.1, rng, Xv, Yv)
    assert match["val_cost"] == history["val_cost"][-1]


# ----------------------------------------------------------------------------- losses of the scores


def test_losses_with_logits_equal_the_texts_losses_by_hand():
    P = np.array([[0.5, 0.1, 0.2], [0.5, 0.9, 0.8]])
    y = np.array([0, 1, 0])
    Y = F.one_hot(y, 2).T
    assert D.compute_loss_with_logits(np.log(P) + 5.0, y) == pytest.approx(
        D.compute_loss(P, y), rel=1e-12)
    assert D.compute_loss_multiple_bce_with_logits(np.log(P / (1 - P)), Y) == pytest.approx(
        D.compute_loss_multiple_bce(P, Y), rel=1e-12)


def saturated_problem(K=3, n=12, dtype=np.float32):
    """W = 0 and b = (200, -200, ..., -200): every image scores 200 for class 0 and -200 for
    the others, so P rounds to exactly 0 or 1 in float32 and each loss has an exact value.
    Softmax: 400 for every image not of class 0. Multiple BCE: 200 for class 0 (p_0 = 1, y = 0)
    and 200 for its own class (p = 0, y = 1), averaged over K. Returns the problem and the
    exact losses."""
    X, Y, y, network = problem(d=4, n=n, K=K, seed=1, dtype=dtype)
    network["W"][...] = 0
    network["b"][...] = -200
    network["b"][0] = 200
    wrong = (y != 0).mean()
    assert 0 < wrong < 1
    return X, Y, y, network, {"softmax": 400 * wrong, "multiple_bce": 400 / K * wrong}


FLOAT32_CLIP = -math.log(np.finfo(np.float32).tiny)  # 87.3: where the loss of P clips


@pytest.mark.parametrize("loss", ["softmax", "multiple_bce"])
def test_objective_loss_and_cost_are_exact_where_probabilities_saturate(loss):
    X, Y, y, network, exact = saturated_problem()
    objective = D.OBJECTIVES[loss]
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        P = objective.apply(X, network)
        value, cost = objective.loss_and_cost(X, Y, network, 0.1, P)
        assert value.dtype == cost.dtype == np.float32  # no upcast
        assert value == pytest.approx(exact[loss], rel=1e-6) and cost == value  # W = 0
        assert objective.loss_and_cost(X, Y, network, 0.1) == (value, cost)
        # the text's loss of P (the API students call) clips log(0) at -87.3 instead
        text_loss = objective.loss(P, Y)
    margin = {"softmax": 400, "multiple_bce": 200}[loss]  # per clipped term
    assert text_loss == pytest.approx(exact[loss] * FLOAT32_CLIP / margin, rel=1e-6)
    network["W"][0, 0] = 2.0
    assert objective.loss_and_cost(X, Y, network, 0.1)[1] == pytest.approx(
        objective.loss_and_cost(X, Y, network, 0.1)[0] + 0.4, rel=1e-6)


@pytest.mark.parametrize("loss", ["softmax", "multiple_bce"])
def test_mini_batch_gd_records_the_exact_losses_where_probabilities_saturate(loss):
    """eta = 0 keeps the network: every recorded batch loss, and the history on the whole
    sets, has the exact value."""
    X, Y, y, network, exact = saturated_problem(n=12)
    records = []
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        trained, history = D.mini_batch_gd(X, Y, {"n_batch": 4, "eta": 0.0, "n_epochs": 2,
                                                  "shuffle": False}, network, 0.1,
                                           D.make_rng(0), X, Y, loss=loss, on_step=records.append)
    steps = [r for r in records if isinstance(r, StepRecord)]
    assert len(steps) == 6
    objective = D.OBJECTIVES[loss]
    for r in steps:
        batch_exact = objective.loss_and_cost(r.X, r.Y, network, 0.1)[0]
        assert r.loss == r.cost == float(batch_exact)
    assert sum(r.loss for r in steps[:3]) / 3 == pytest.approx(exact[loss], rel=1e-6)
    for key in ("train_loss", "train_cost", "val_loss", "val_cost"):
        np.testing.assert_allclose(history[key], exact[loss], rtol=1e-6)
    assert trained["W"].dtype == np.float32


def test_an_objective_with_a_loss_of_your_own_is_used_as_written():
    """An objective without ``loss_from_scores`` (one built from scratch, or one that swaps
    ``loss`` and says so with ``loss_from_scores=None``) records its loss of P; one that swaps
    only ``backward`` keeps the loss of the scores. Which one is explicit, never inferred from
    which functions it holds: a wrapped text loss with loss_from_scores kept is still exact."""
    X, Y, y, network, exact = saturated_problem()
    softmax = D.OBJECTIVES["softmax"]
    wrapped = dataclasses.replace(softmax, loss=lambda P, Y: D.compute_loss(P, D.labels_of(Y)))
    assert wrapped.loss_and_cost(X, Y, network, 0.1)[0] == pytest.approx(exact["softmax"],
                                                                          rel=1e-6)
    own = dataclasses.replace(wrapped, loss_from_scores=None)
    value, cost = own.loss_and_cost(X, Y, network, 0.1)
    assert value == pytest.approx(exact["softmax"] * FLOAT32_CLIP / 400, rel=1e-6)
    assert cost == softmax.cost(softmax.apply(X, network), Y, network, 0.1)
    scratch = D.Objective(softmax.apply, softmax.loss, lambda P, Y, net, lam: 7.0,
                          softmax.backward)
    assert scratch.loss_and_cost(X, Y, network, 0.1)[1] == 7.0
    backward_only = dataclasses.replace(softmax, backward=D.backward_pass_multiple_bce)
    assert backward_only.loss_and_cost(X, Y, network, 0.1)[0] == pytest.approx(
        exact["softmax"], rel=1e-6)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("d", [1, 127, 300])
def test_mean_std_by_blocks_is_the_whole_arrays_bit_for_bit(order: str, d: int) -> None:
    """mean_std reduces STATS_BLOCK dimensions at a time (no copy of X): the same bits as the
    text's formula over the whole array, for either memory layout; normalize in place gives
    the same bits as normalize, in X itself."""
    X = np.asarray(np.random.default_rng(d).random((d, 1001)) * 7 + 3, order=order)
    mean, std = D.mean_std(X)
    assert mean.shape == std.shape == (d, 1)
    assert np.array_equal(mean, X.mean(axis=1, keepdims=True))
    assert np.array_equal(std, X.std(axis=1, keepdims=True))
    expected = D.normalize(X, mean, std)
    assert np.array_equal(D.normalize(X, mean, std, in_place=True), expected)
    assert np.array_equal(X, expected)  # X itself became the result
