"""lightning_ref's modules and data module against numpy_impl: costs and gradients (autograd
gradcheck, and the NumPy backward to 1e-12), parameter names/shapes, initial values, and the
batches of every epoch (order, flips, DDP shares) bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lightning_ref import MODELS, ExperimentDataModule
from lightning_ref.data import TrainingBatches
from lightning_ref.figures import class_templates
from numpy_impl import dd2424, draws, tdt4265
from numpy_impl import models as numpy_models

LAM = 0.37


def random_problem(name: str, rng: np.random.Generator, n: int = 6, d: int = 48, K: int = 10
                   ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Random parameters and a batch in the model's layout (TDT4265 rows with the bias column
    last, DD2424 columns); scores of order 1, so that no probability is trivial and none
    saturates (NumPy computes its losses from probabilities)."""
    labels = rng.integers(0, K, size=n)
    if name.startswith("TDT4265"):
        X = np.hstack([rng.uniform(-1, 1, size=(n, 784)), np.ones((n, 1))])
        if name == "TDT4265Binary":
            return {"w": rng.normal(0, 0.05, (785, 1))}, X, (labels % 2 == 0)[:, None] * 1.0
        return {"w": rng.normal(0, 0.05, (785, K))}, X, np.eye(K)[labels]
    X = rng.normal(size=(d, n))
    params = {"W": rng.normal(0, 2 / np.sqrt(d), (K, d)), "b": rng.normal(0, 0.3, (K, 1))}
    return params, X, np.eye(K)[labels].T


def build(name: str, params: dict[str, np.ndarray], lam: float = LAM):
    return MODELS[name](lr=0.1, lam=lam, initial_parameters=params)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MODELS))
def test_gradcheck(name: str) -> None:
    """torch.autograd.gradcheck of the cost J (data loss + lam * R) w.r.t. every parameter."""
    rng = np.random.default_rng(1)
    params, X, Y = random_problem(name, rng, n=4, d=12)
    module = build(name, params)
    X, Y = torch.from_numpy(X), torch.from_numpy(Y)
    # gradcheck perturbs its inputs in place, and the cost reads them: they are the parameters
    inputs = tuple(module.parameters())
    assert torch.autograd.gradcheck(lambda *_: module.cost(X, Y), inputs, eps=1e-6, atol=1e-8,
                                    rtol=1e-6)


@pytest.mark.parametrize("name", list(MODELS))
def test_autograd_matches_numpy_backward(name: str) -> None:
    """Loss, cost and dJ/dparam equal numpy_impl.models' hand-written ones (lam > 0)."""
    rng = np.random.default_rng(2)
    params, X, Y = random_problem(name, rng, n=9, d=3072)
    reference = numpy_models.MODELS[name].numpy_class(LAM, params=params)
    module = build(name, params)
    loss, cost, _ = module.loss_and_cost(torch.from_numpy(X), torch.from_numpy(Y))
    cost.backward()
    assert loss.item() == pytest.approx(reference.loss(X, Y), rel=1e-13)
    assert cost.item() == pytest.approx(reference.cost(X, Y), rel=1e-13)
    expected = reference.gradients(X, Y)
    got = {k: p.grad.numpy() for k, p in module.named_parameters()}
    assert got.keys() == expected.keys()
    for key, g in expected.items():
        assert got[key].shape == g.shape
        assert np.abs(got[key] - g).max() <= 1e-12 * np.abs(g).max(), key


def test_l2_uses_the_texts_convention() -> None:
    """J = C + lam ||w||^2 adds exactly 2 lam w to the gradient (not lam w): over all of w for
    TDT4265 (bias row included), over W but not b for DD2424."""
    rng = np.random.default_rng(4)
    for name in ("TDT4265Softmax", "DD2424Softmax"):
        params, X, Y = random_problem(name, rng, d=20)
        X, Y = torch.from_numpy(X), torch.from_numpy(Y)
        with_l2, without = build(name, params), build(name, params, lam=0.0)
        for module in (with_l2, without):
            module.cost(X, Y).backward()
        for key, p in with_l2.named_parameters():
            extra = p.grad - dict(without.named_parameters())[key].grad
            expected = 2 * LAM * p.detach() if key in ("w", "W") else torch.zeros_like(p)
            torch.testing.assert_close(extra, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", list(MODELS))
def test_losses_are_finite_for_huge_scores(name: str) -> None:
    rng = np.random.default_rng(3)
    params, X, Y = random_problem(name, rng, n=5, d=20)
    module = build(name, {k: v * 1e5 for k, v in params.items()})
    loss, cost, _ = module.loss_and_cost(torch.from_numpy(X), torch.from_numpy(Y))
    assert torch.isfinite(loss) and torch.isfinite(cost)


def test_binary_accuracy_predicts_one_at_one_half() -> None:
    """Task 2c: y_hat >= 0.5 predicts 1 (zero weights give y_hat = 0.5 everywhere)."""
    module = build("TDT4265Binary", {"w": np.zeros((785, 1))})
    X = torch.ones(4, 785, dtype=torch.float64)
    Y = torch.tensor([[1.0], [1.0], [0.0], [1.0]], dtype=torch.float64)
    assert module.evaluate(X, Y)["acc"].item() == pytest.approx(0.75)


# --------------------------------------------------------------------------- contract with data


@pytest.fixture(scope="module")
def tdt_data() -> ExperimentDataModule:
    dm = ExperimentDataModule("mnist", "tdt4265", batch_size=128, shuffle=True, seed=7)
    dm.setup("fit")
    return dm


@pytest.fixture(scope="module")
def tdt_binary_data() -> ExperimentDataModule:
    dm = ExperimentDataModule("mnist", "tdt4265_binary", batch_size=128)
    dm.setup("fit")
    return dm


@pytest.fixture(scope="module")
def dd_split():
    """The DD2424 recipe on the embedded MNIST subset, loaded once."""
    dm = ExperimentDataModule("mnist", "dd2424", batch_size=100)
    dm.setup("fit")
    return dm.split


def dd_module(split, **kwargs) -> ExperimentDataModule:
    """A fresh DD2424 data module over an already loaded split (prepare_data/setup skip it)."""
    dm = ExperimentDataModule("mnist", "dd2424", **kwargs)
    dm.split = split
    dm.setup("fit")
    return dm


@pytest.mark.parametrize("name", list(MODELS))
def test_parameters_named_shaped_and_initialised_as_numpy(name: str, tdt_data, tdt_binary_data,
                                                           dd_split) -> None:
    if name.startswith("TDT4265"):
        binary = name == "TDT4265Binary"
        dm = tdt_binary_data if binary else tdt_data
        expected = {"w": (tdt4265.BinaryModel() if binary else tdt4265.SoftmaxModel()).w}
    else:
        dm = dd_module(dd_split, batch_size=100, seed=42)
        expected = dd2424.init_network(10, 784, draws.make_rng(42))
    module = MODELS[name](lr=0.1, initial_parameters=dm.initial_parameters)
    assert dm.initial_parameters is dm.initial_parameters  # drawn once
    got = {k: p.detach().numpy() for k, p in module.named_parameters()}
    assert list(got) == list(expected)
    for key in expected:
        assert got[key].dtype == np.float64
        np.testing.assert_array_equal(got[key], expected[key])


def test_tdt4265_batches_are_the_numpy_trainers(tdt_data) -> None:
    """Two shuffled epochs: the same batches, bit for bit, as tdt4265.batch_loader draws them
    from a generator with the same seed."""
    dm = ExperimentDataModule("mnist", "tdt4265", batch_size=128, shuffle=True, seed=7)
    dm.split = tdt_data.split
    dm.setup("fit")
    rng = draws.make_rng(7)
    batches = TrainingBatches(dm)
    for _ in range(2):
        expected = list(tdt4265.batch_loader(dm.split.X_train, dm.split.Y_train, 128,
                                             shuffle=True, rng=rng))
        got = list(batches)
        assert len(got) == len(expected) == len(batches) == dm.batches_per_epoch
        for (X, Y), (X_np, Y_np) in zip(got, expected, strict=True):
            assert X.shape == (128, 785) and Y.shape == (128, 10)
            np.testing.assert_array_equal(X.numpy(), X_np)
            np.testing.assert_array_equal(Y.numpy(), Y_np)
        assert dm.last_plan is not None


def test_dd2424_batches_with_flips_are_mini_batch_gds(dd_split) -> None:
    """Each epoch: draw_epoch(rng, n, shuffle, flip), columns in that order, flipped with the
    text's inds_flip, as dd2424.mini_batch_gd builds them."""
    dm = dd_module(dd_split, batch_size=100, shuffle=True, flip=True, seed=5)
    X, Y = dm.split.X_train, dm.split.Y_train
    rng = draws.make_rng(5)
    inds = dd2424.flip_indices(28, 28, 1)
    batches = TrainingBatches(dm)
    for _ in range(2):
        got = list(batches)
        plan = draws.draw_epoch(rng, X.shape[1], True, True)
        np.testing.assert_array_equal(dm.last_plan.order, plan.order)
        slices = draws.batch_slices(X.shape[1], 100)
        assert len(got) == len(slices)
        for (Xb, Yb), sl in zip(got, slices, strict=True):
            expected = dd2424.flip_images(X[:, plan.order[sl]], plan.flip[sl], inds)
            np.testing.assert_array_equal(Xb.numpy(), expected)
            np.testing.assert_array_equal(Yb.numpy(), Y[:, plan.order[sl]])


def test_checking_iterability_does_not_draw(dd_split) -> None:
    """Lightning calls iter() once only to check the loader is iterable: no draw then."""
    dm = dd_module(dd_split, batch_size=100, shuffle=True, seed=5)
    state = dm.rng.bit_generator.state
    iter(TrainingBatches(dm))
    assert dm.rng.bit_generator.state == state
    next(iter(TrainingBatches(dm)))
    assert dm.rng.bit_generator.state != state


@pytest.mark.parametrize("layout", ["rows", "columns"])
def test_ddp_shares_make_up_each_batch(layout: str, tdt_data, dd_split) -> None:
    """Rank r of w takes positions r*B/w:(r+1)*B/w of every global batch."""
    def module(**kwargs) -> ExperimentDataModule:
        if layout == "columns":
            return dd_module(dd_split, **kwargs)
        dm = ExperimentDataModule("mnist", "tdt4265", **kwargs)
        dm.split = tdt_data.split
        dm.setup("fit")
        return dm

    settings = {"batch_size": 100, "shuffle": True, "flip": layout == "columns", "seed": 3}
    whole = list(TrainingBatches(module(**settings)))
    shares = [list(TrainingBatches(module(**settings), rank, 2)) for rank in (0, 1)]
    axis = 0 if layout == "rows" else 1
    for (X, Y), (X0, Y0), (X1, Y1) in zip(whole, *shares, strict=True):
        assert X0.shape[axis] == 50
        torch.testing.assert_close(torch.cat([X0, X1], axis), X, rtol=0, atol=0)
        torch.testing.assert_close(torch.cat([Y0, Y1], axis), Y, rtol=0, atol=0)
    with pytest.raises(ValueError, match="multiple of the number of processes"):
        TrainingBatches(module(**settings), 0, 3)


def test_rng_state_round_trips_through_state_dict(dd_split) -> None:
    dm = dd_module(dd_split, batch_size=100, shuffle=True, seed=11)
    list(TrainingBatches(dm))
    saved = dm.state_dict()
    expected = list(TrainingBatches(dm))[0][0]
    other = dd_module(dd_split, batch_size=100, shuffle=True, seed=0)
    other.load_state_dict(saved)
    torch.testing.assert_close(list(TrainingBatches(other))[0][0], expected, rtol=0, atol=0)


def test_flip_is_rejected_for_tdt4265(tdt_data) -> None:
    dm = ExperimentDataModule("mnist", "tdt4265", batch_size=128, flip=True)
    dm.split = tdt_data.split
    with pytest.raises(ValueError, match="DD2424"):
        dm.setup("fit")


def test_validation_cadence_is_the_starters() -> None:
    assert tdt4265.validation_interval(156) == 31  # 20,000 images / 128: every 31 steps
    assert tdt4265.validation_interval(3) == 1


def test_class_templates_are_normalised_per_class() -> None:
    weights = torch.stack([torch.arange(3072.0), -torch.arange(3072.0), torch.zeros(3072)])
    images = class_templates(weights, (32, 32, 3))
    assert images.shape == (3, 3, 32, 32)
    for k in range(2):
        assert images[k].min() == 0 and images[k].max() == 1
    assert images[2].abs().max() == 0  # zero weights: a black tile, not nan
    # channel-major rows: the first 1024 entries are the red channel, row by row
    assert images[0, 0, 0, 1] > images[0, 0, 0, 0] and images[0, 1].min() > images[0, 0].max()


@pytest.mark.parametrize(("name", "fixture"), [
    ("TDT4265Softmax", "tdt_binary_data"), ("TDT4265Binary", "tdt_data"),
    ("DD2424Softmax", "tdt_data"), ("TDT4265Softmax", "dd_split")])
def test_model_refuses_a_split_it_cannot_learn(name: str, fixture: str,
                                               request: pytest.FixtureRequest) -> None:
    """Parameters drawn for another text's split, or for the other TDT4265 targets."""
    data = request.getfixturevalue(fixture)
    dm = dd_module(data, batch_size=100) if fixture == "dd_split" else data
    with pytest.raises(ValueError, match="split|SPLIT"):
        MODELS[name](lr=0.1, initial_parameters=dm.initial_parameters)


def test_lightning_classes_are_the_records() -> None:
    for name, cls in MODELS.items():
        assert cls.__name__ == name
        assert f"{cls.__module__}.{cls.__name__}" == numpy_models.MODELS[name].lightning_class
