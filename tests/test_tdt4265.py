"""numpy_impl.tdt4265: the starter code's functions, models, loader and trainer."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from numpy_impl import draws
from numpy_impl import functional as F
from numpy_impl import tdt4265 as T
from numpy_impl.gradcheck import check_tdt4265, max_relative_error, numerical_gradients
from tests.fakes import StarterSoftmaxModel


def images(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 256, size=(n, 784)).astype(np.uint8)


def data(n: int = 40, seed: int = 0, dtype=np.float64):
    """Pre-processed random images, binary targets (N, 1) and one-hot targets (N, 10)."""
    rng = np.random.default_rng(seed)
    X = T.pre_process_images(images(rng, n), dtype=dtype)
    labels = rng.integers(0, 10, size=(n, 1))
    return X, (labels % 2).astype(dtype), T.one_hot_encode(labels, 10, dtype)


# ----------------------------------------------------------------------------- pre-processing


def test_pre_process_images_range_bias_and_dtype():
    raw = np.array([[0] * 392 + [255] * 392, [51] * 784], dtype=np.uint8)
    X = T.pre_process_images(raw)
    assert X.shape == (2, 785) and X.dtype == np.float64
    np.testing.assert_array_equal(X[:, -1], 1.0)  # the bias, LAST column
    assert X[0, 0] == -1 and X[0, 783] == 1
    assert X[1, 0] == pytest.approx(51 / 127.5 - 1)
    assert T.pre_process_images(raw.astype(np.float32)).dtype == np.float32
    assert T.pre_process_images(raw.astype(np.float64)).dtype == np.float64
    assert T.pre_process_images(raw, dtype=np.float32).dtype == np.float32
    with pytest.raises(ValueError, match="784"):
        T.pre_process_images(np.zeros((2, 785)))


# ----------------------------------------------------------------------------- losses


def test_binary_loss_by_hand_and_shape_check():
    y = np.array([[1.0], [0.0]])
    y_hat = np.array([[0.9], [0.2]])
    assert T.binary_cross_entropy_loss(y, y_hat) == pytest.approx(
        -(math.log(0.9) + math.log(0.8)) / 2
    )
    with pytest.raises(ValueError, match="same shape"):
        T.binary_cross_entropy_loss(y[:, 0], y_hat)


def test_cross_entropy_loss_by_hand():
    Y = T.one_hot_encode(np.array([[2], [0]]), 3)
    P = np.array([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]])
    assert T.cross_entropy_loss(Y, P) == pytest.approx(-(math.log(0.7) + math.log(0.5)) / 2)


def test_losses_finite_when_outputs_round_to_zero_or_one():
    with np.errstate(divide="raise", invalid="raise"):
        assert np.isfinite(
            T.binary_cross_entropy_loss(np.array([[1.0], [0.0]]), np.array([[0.0], [1.0]]))
        )
        assert np.isfinite(T.cross_entropy_loss(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])))


def test_one_hot_encode_example():
    np.testing.assert_array_equal(
        T.one_hot_encode(np.array([[3], [0]]), 10),
        [[0, 0, 0, 1, 0, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0, 0, 0, 0, 0]],
    )
    with pytest.raises(ValueError, match=r"\(N, 1\)"):
        T.one_hot_encode(np.array([3, 0]), 10)


# ----------------------------------------------------------------------------- models


def test_zero_weights_sanity_checks():
    X, y, Y = data(7)
    binary, softmax = T.BinaryModel(), T.SoftmaxModel(0.0)
    assert binary.w.shape == (785, 1) and softmax.w.shape == (785, 10)
    assert not binary.w.any() and not softmax.w.any()
    np.testing.assert_array_equal(binary.forward(X), 0.5)
    np.testing.assert_allclose(softmax.forward(X), 0.1)
    assert T.binary_cross_entropy_loss(y, binary.forward(X)) == pytest.approx(math.log(2))
    assert T.cross_entropy_loss(Y, softmax.forward(X)) == pytest.approx(math.log(10))


def test_backward_by_hand_eq6():
    model = T.BinaryModel()
    X = np.zeros((2, 785))
    X[0, 0], X[1, 0], X[:, -1] = 1.0, -1.0, 1.0
    y = np.array([[1.0], [0.0]])
    model.backward(X, model.forward(X), y)  # y_hat = 0.5: -(y - y_hat) x averaged
    assert model.grad.shape == (785, 1)
    assert model.grad[0, 0] == pytest.approx((-(0.5) * 1 + 0.5 * -1) / 2)
    assert model.grad[-1, 0] == pytest.approx((-0.5 + 0.5) / 2)
    model.zero_grad()
    assert model.grad is None


def starter_weights(shape, seed=0):
    """The starter's gradient-test weights: N(0, 1/785^2)."""
    return np.random.default_rng(seed).normal(0, 1 / 785**2, size=shape)


@pytest.mark.slow
@pytest.mark.parametrize("lam", [0.0, 0.5])
@pytest.mark.parametrize("kind", ["binary", "softmax"])
def test_gradients_pass_the_starter_check_and_relative_error(kind, lam):
    X, y, Y = data(12, seed=3)
    model = T.BinaryModel(lam) if kind == "binary" else T.SoftmaxModel(lam)
    targets, loss = (
        (y, T.binary_cross_entropy_loss) if kind == "binary" else (Y, T.cross_entropy_loss)
    )
    model.w = starter_weights(model.w.shape)
    model.w[:5] = np.random.default_rng(1).normal(size=model.w[:5].shape)  # not all tiny

    def cost():
        return loss(targets, model.forward(X)) + lam * F.l2_penalty(model.w)

    model.backward(X, model.forward(X), targets)
    worst = check_tdt4265(cost, {"w": model.w}, {"w": model.grad})
    assert worst <= 1e-6
    numerical = numerical_gradients(cost, {"w": model.w}, eps=1e-5)
    assert max_relative_error({"w": model.grad}, numerical) < 1e-5


@pytest.mark.slow
def test_l2_gradient_is_2_lambda_w_and_lambda_w_fails_the_check():
    X, _, Y = data(10, seed=4)
    lam = 1.0
    model = T.SoftmaxModel(lam)
    model.w = np.random.default_rng(5).normal(0, 0.01, size=model.w.shape)

    def cost():
        return T.cross_entropy_loss(Y, model.forward(X)) + lam * F.l2_penalty(model.w)

    model.backward(X, model.forward(X), Y)
    plain = T.SoftmaxModel(0.0)
    plain.w = model.w
    plain.backward(X, model.forward(X), Y)
    np.testing.assert_allclose(model.grad - plain.grad, 2 * lam * model.w, atol=1e-15)
    check_tdt4265(cost, {"w": model.w}, {"w": model.grad})
    half_convention = plain.grad + lam * model.w  # gradient of lam/2 ||w||^2
    with pytest.raises(AssertionError, match=r"gradient w\["):
        check_tdt4265(cost, {"w": model.w}, {"w": half_convention})


@given(st.integers(1, 30), st.integers(0, 2**32 - 1))
def test_softmax_outputs_are_distributions_for_any_batch(n, seed):
    X, _, _ = data(n, seed)
    model = T.SoftmaxModel(0.0)
    model.w = np.random.default_rng(seed).normal(0, 0.1, size=model.w.shape)
    P = model.forward(X)
    assert P.shape == (n, 10)
    np.testing.assert_allclose(P.sum(axis=1), 1)


@pytest.mark.parametrize("model_class", [T.BinaryModel, T.SoftmaxModel])
def test_extreme_scores_give_finite_outputs_losses_and_gradients(model_class):
    X, y, Y = data(6, seed=2)
    model = model_class(0.1)
    targets = y if model_class is T.BinaryModel else Y
    loss = T.binary_cross_entropy_loss if model_class is T.BinaryModel else T.cross_entropy_loss
    model.w = np.random.default_rng(0).choice([-1e4, 1e4], size=model.w.shape)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        outputs = model.forward(X)
        value = loss(targets, outputs)
        model.backward(X, outputs, targets)
    assert np.isfinite(outputs).all() and np.isfinite(value) and np.isfinite(model.grad).all()


@pytest.mark.parametrize("model_class", [T.BinaryModel, T.SoftmaxModel])
def test_float32_stays_float32(model_class):
    X, y, Y = data(8, dtype=np.float32)
    targets = y if model_class is T.BinaryModel else Y
    model = model_class(np.float64(0.1), dtype=np.float32)
    model.w += np.float32(0.01)
    outputs = model.forward(X)
    model.backward(X, outputs, targets)
    assert X.dtype == outputs.dtype == model.grad.dtype == model.w.dtype == np.float32
    loss = T.binary_cross_entropy_loss if model_class is T.BinaryModel else T.cross_entropy_loss
    assert loss(targets, outputs).dtype == np.float32
    model.backward(X, outputs, targets.astype(np.int64))  # integer targets do not upcast
    assert model.grad.dtype == np.float32


# ----------------------------------------------------------------------------- accuracy


class Scripted:
    def __init__(self, outputs):
        self.outputs = np.asarray(outputs)

    def forward(self, X):
        return self.outputs


def test_binary_accuracy_threshold_is_inclusive():
    model = Scripted([[0.5], [0.49], [0.9], [0.1]])
    targets = np.array([[1], [1], [0], [0]])
    assert T.binary_accuracy(None, targets, model) == 0.5  # 0.5 -> 1 (right), 0.49 -> 0 (wrong)


def test_accuracy_argmax():
    model = Scripted([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.2, 0.6]])
    targets = T.one_hot_encode(np.array([[1], [1], [2]]), 3)
    assert T.accuracy(None, targets, model) == pytest.approx(2 / 3)


# ----------------------------------------------------------------------------- batch loader


def loaded_indices(n, batch_size, **kwargs):
    X = np.arange(n).reshape(n, 1)
    Y = X * 10
    batches = list(T.batch_loader(X, Y, batch_size, **kwargs))
    for Xb, Yb in batches:
        np.testing.assert_array_equal(Yb, Xb * 10)  # X and Y stay paired
    return [Xb[:, 0].tolist() for Xb, _ in batches]


def test_batch_loader_without_shuffle_is_sequential_views():
    assert loaded_indices(10, 4) == [[0, 1, 2, 3], [4, 5, 6, 7]]  # drop_last drops 8, 9
    assert loaded_indices(10, 4, drop_last=False)[-1] == [8, 9]
    X = np.arange(20.0).reshape(10, 2)
    Xb, _ = next(T.batch_loader(X, X, 4))
    assert np.shares_memory(Xb, X)


@given(st.integers(1, 60), st.integers(1, 16), st.integers(0, 2**32 - 1))
def test_batch_loader_shuffled_every_sample_once_per_epoch(n, batch_size, seed):
    batches = loaded_indices(n, batch_size, shuffle=True, drop_last=False, rng=draws.make_rng(seed))
    assert sorted(sum(batches, [])) == list(range(n))
    kept = loaded_indices(n, batch_size, shuffle=True, rng=draws.make_rng(seed))
    assert len(kept) == n // batch_size and all(len(b) == batch_size for b in kept)
    assert sum(kept, []) == sum(batches, [])[: (n // batch_size) * batch_size]


def test_batch_loader_order_fixed_by_seed_and_one_draw_per_epoch():
    first = loaded_indices(50, 5, shuffle=True, rng=draws.make_rng(1))
    assert first == loaded_indices(50, 5, shuffle=True, rng=draws.make_rng(1))
    assert first != loaded_indices(50, 5, shuffle=True, rng=draws.make_rng(2))
    rng, replay = draws.make_rng(3), draws.make_rng(3)
    T.batch_loader(np.zeros((50, 1)), np.zeros((50, 1)), 5, shuffle=True, rng=rng)
    # the epoch's permutation is drawn when the loader is created, before any iteration
    draws.draw_epoch(replay, 50, True, False)
    assert rng.bit_generator.state == replay.bit_generator.state


def test_batch_loader_shuffle_needs_rng():
    with pytest.raises(ValueError, match="rng"):
        T.batch_loader(np.zeros((4, 1)), np.zeros((4, 1)), 2, shuffle=True)


# ----------------------------------------------------------------------------- trainer


def trainer(cls=T.SoftmaxTrainer, n=40, batch_size=4, shuffle=False, seed=0, lam=0.0, **kwargs):
    X, y, Y = data(n, seed)
    Xv, yv, Yv = data(12, seed + 1)
    if cls is T.LogisticTrainer or issubclass(cls, T.LogisticTrainer):
        model, targets, val_targets = T.BinaryModel(lam), y, yv
    else:
        model, targets, val_targets = T.SoftmaxModel(lam), Y, Yv
    rng = draws.make_rng(seed) if shuffle else None
    return cls(model, 0.01, batch_size, shuffle, X, targets, Xv, val_targets, rng=rng, **kwargs)


def test_validation_cadence_every_fifth_of_an_epoch():
    t = trainer(n=40, batch_size=4)  # 10 batches per epoch -> validate every 2 steps
    assert t.batches_per_epoch == 10 and t.validation_interval == 2
    train_history, val_history = t.train(2)
    assert list(train_history["loss"]) == list(range(20))
    assert list(val_history["loss"]) == list(range(0, 20, 2))
    assert list(val_history["accuracy"]) == list(train_history["accuracy"]) == list(range(0, 20, 2))
    assert t.stopped_step is None and t.stopped_epoch is None
    assert trainer(n=42, batch_size=4, validations_per_epoch=2).validation_interval == 5
    assert trainer(n=12, batch_size=4).validation_interval == 1  # 3 batches: every step


def test_train_loss_is_before_the_update_and_validation_after():
    t = trainer(T.LogisticTrainer, n=40, batch_size=4)
    train_history, val_history = t.train(1)
    assert train_history["loss"][0] == pytest.approx(math.log(2))  # zero weights, first batch
    # replay: the first validation sees the weights after exactly one update
    model = T.BinaryModel()
    Xb, yb = t.X_train[:4], t.Y_train[:4]
    model.backward(Xb, model.forward(Xb), yb)
    model.w -= 0.01 * model.grad
    assert val_history["loss"][0] == pytest.approx(
        float(T.binary_cross_entropy_loss(t.Y_val, model.forward(t.X_val)))
    )


def test_trainer_matches_a_manual_replay_with_shuffling():
    t = trainer(n=40, batch_size=8, shuffle=True, seed=7, lam=0.1)
    train_history, _ = t.train(3)
    rng = draws.make_rng(7)
    model = T.SoftmaxModel(0.1)
    losses = []
    for _ in range(3):
        order = draws.draw_epoch(rng, 40, True, False).order  # one draw per epoch, at its start
        for sl in draws.batch_slices(40, 8):
            Xb, Yb = t.X_train[order[sl]], t.Y_train[order[sl]]
            outputs = model.forward(Xb)
            losses.append(float(T.cross_entropy_loss(Yb, outputs)))  # data loss, no lam * R
            model.backward(Xb, outputs, Yb)
            model.w -= 0.01 * model.grad
    np.testing.assert_allclose(t.model.w, model.w, rtol=1e-12)
    np.testing.assert_allclose(list(train_history["loss"].values()), losses, rtol=1e-12)
    assert t.rng.bit_generator.state == rng.bit_generator.state


def test_float32_training_keeps_float32():
    X, _, Y = data(20, dtype=np.float32)
    model = T.SoftmaxModel(0.1, dtype=np.float32)
    T.SoftmaxTrainer(model, np.float64(0.01), 4, True, X, Y, X, Y, rng=draws.make_rng()).train(1)
    assert model.w.dtype == np.float32


class ScriptedTrainer(T.SoftmaxTrainer):
    """Validation losses from a script; a snapshot of w at every validation."""

    def __init__(self, script, **kwargs):
        X, _, Y = data(40)
        super().__init__(T.SoftmaxModel(0.0), 0.01, 4, False, X, Y, X, Y, **kwargs)
        self.script = list(script)
        self.snapshots = {}

    def validation_step(self):
        index = len(self.snapshots)
        self.snapshots[index] = self.model.w.copy()
        return self.script[index], 0.0, 0.0


def test_early_stopping_fires_on_a_scripted_sequence_and_restores_the_best():
    # validation:        0    1    2    3    4    5 ...
    script = [5.0, 4.0, 3.0, 3.5, 3.0, 3.2] + [0.1] * 50
    # patience 3: at validation 5 the window (2, 3, 4, 5) = (3.0, 3.5, 3.0, 3.2) has its oldest
    # as its minimum (the tie at 4 is no improvement) -> stop; best = validation 2 (earliest)
    t = ScriptedTrainer(script, early_stopping_patience=3)
    assert t.validation_interval == 2
    train_history, val_history = t.train(10)
    assert t.stopped_step == 10 and t.best_step == 4 and t.stopped_epoch == 1
    np.testing.assert_array_equal(t.model.w, t.snapshots[2])
    assert not np.array_equal(t.model.w, t.snapshots[5])
    assert max(train_history["loss"]) == 10
    assert list(val_history["loss"].values()) == script[:6]


def test_early_stopping_patience_semantics():
    decreasing = [10.0 - i * 0.01 for i in range(60)]
    t = ScriptedTrainer(decreasing, early_stopping_patience=3)
    t.train(10)
    assert t.stopped_step is None and t.best_step == 2 * 49  # never stops, best is the last
    # improving at the last moment (validation p) resets the window
    t = ScriptedTrainer([5, 6, 7, 4.9, 6, 7, 8] + [9] * 50, early_stopping_patience=3)
    t.train(10)
    assert t.stopped_step == 2 * 6 and t.best_step == 2 * 3
    np.testing.assert_array_equal(t.model.w, t.snapshots[3])
    t = ScriptedTrainer([5.0] * 60, early_stopping_patience=None)
    t.train(3)
    assert t.stopped_step is None and t.best_step == 0


def test_trainer_shuffle_needs_rng():
    X, _, Y = data(8)
    with pytest.raises(ValueError, match="rng"):
        T.SoftmaxTrainer(T.SoftmaxModel(0.0), 0.1, 4, True, X, Y, X, Y)


# ----------------------------------------------------------------------------- losses of the scores


def test_scores_are_X_w_and_forward_applies_eq1_and_eq4_to_them():
    X, _, _ = data(5)
    rng = np.random.default_rng(0)
    for model, activation in ((T.BinaryModel(), F.sigmoid),
                              (T.SoftmaxModel(0.0), lambda z: F.softmax(z, axis=1))):
        model.w = rng.normal(0, 0.1, size=model.w.shape)
        np.testing.assert_array_equal(model.scores(X), X @ model.w)
        np.testing.assert_array_equal(model.forward(X), activation(X @ model.w))


def test_losses_with_logits_equal_the_texts_losses_by_hand():
    y = np.array([[1.0], [0.0]])
    z = np.log(np.array([[0.9], [0.2]]) / np.array([[0.1], [0.8]]))  # y_hat = 0.9, 0.2
    assert T.binary_cross_entropy_loss_with_logits(y, z) == pytest.approx(
        -(math.log(0.9) + math.log(0.8)) / 2, rel=1e-12)
    Y = T.one_hot_encode(np.array([[2], [0]]), 3)
    z = np.log(np.array([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]])) - 3.0
    assert T.cross_entropy_loss_with_logits(Y, z) == pytest.approx(
        -(math.log(0.7) + math.log(0.5)) / 2, rel=1e-12)
    with pytest.raises(ValueError, match="same shape"):
        T.binary_cross_entropy_loss_with_logits(y[:, 0], z[:, :1])
    assert T.LogisticTrainer.loss_from_scores is T.binary_cross_entropy_loss_with_logits
    assert T.SoftmaxTrainer.loss_from_scores is T.cross_entropy_loss_with_logits


def saturated_trainer(cls, model=None, dtype=np.float32):
    """A float32 trainer whose scores are +-200 for every image (only the bias row of w is set)
    at learning rate 0 (w never changes), so each recorded loss has an exact value: the binary
    model scores z = 200 (y_hat = 1 in float32), wrong by a margin of 200 for every y = 0; the
    softmax model scores 200 for class 0 and -200 for the others (their y_hat = 0 in float32),
    wrong by 400 for every image not of class 0. Returns the trainer, which images are wrong
    and the margin."""
    X, y, Y = data(20, seed=2, dtype=dtype)  # 3 images of class 0, 9 with y = 0
    binary = issubclass(cls, T.LogisticTrainer)
    if model is None:
        model = T.BinaryModel(0.0, dtype) if binary else T.SoftmaxModel(0.0, dtype)
        model.w[-1] = 200 if binary else [200] + [-200] * 9
    targets = y if binary else Y
    wrong = y[:, 0] == 0 if binary else Y[:, 0] == 0
    return cls(model, 0.0, 5, False, X, targets, X, targets), wrong, 200 if binary else 400


FLOAT32_CLIP = -math.log(np.finfo(np.float32).tiny)  # 87.3: where the loss of outputs clips


@pytest.mark.parametrize("cls", [T.LogisticTrainer, T.SoftmaxTrainer])
def test_trainer_records_the_exact_loss_where_outputs_saturate(cls):
    t, wrong, margin = saturated_trainer(cls)
    assert 0 < wrong.mean() < 1
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        train_history, val_history = t.train(1)
    exact = [margin * wrong[i:i + 5].mean() for i in range(0, 20, 5)]
    assert list(train_history["loss"]) == [0, 1, 2, 3]
    np.testing.assert_allclose(list(train_history["loss"].values()), exact, rtol=1e-6)
    assert list(val_history["loss"]) == [0, 1, 2, 3]  # 4 batches an epoch: every step
    np.testing.assert_allclose(list(val_history["loss"].values()), margin * wrong.mean(),
                               rtol=1e-6)
    assert t.data_loss(t.X_val, t.Y_val).dtype == np.float32  # no upcast
    # the text's loss of the outputs (the API students call) clips log(0) at -87.3 instead
    text_loss = t.loss_function(t.Y_val, t.model.forward(t.X_val))
    assert text_loss == pytest.approx(FLOAT32_CLIP * wrong.mean(), rel=1e-6)


def _starter_model(w: np.ndarray) -> StarterSoftmaxModel:
    model = StarterSoftmaxModel()
    model.w = w
    return model


class OwnLossTrainer(T.SoftmaxTrainer):
    """A loss function of your own (the text's, wrapped), declared as such with
    ``loss_from_scores = None``: the trainer must use it as written."""

    loss_function = staticmethod(lambda targets, outputs: T.cross_entropy_loss(targets, outputs))
    loss_from_scores = None


class WrappedLossTrainer(T.SoftmaxTrainer):
    """The text's loss wrapped, ``loss_from_scores`` kept: which loss is recorded is explicit,
    not read off the identity of loss_function, so this still records the exact loss."""

    loss_function = staticmethod(lambda targets, outputs: T.cross_entropy_loss(targets, outputs))


def test_without_scores_or_with_a_loss_of_your_own_the_trainer_uses_the_outputs():
    """The fallback: a student's model with only the starter's interface, or a trainer with
    its own loss_function, records that loss of the outputs (here clipped at 87.3)."""
    ours, wrong, _ = saturated_trainer(T.SoftmaxTrainer)
    w = ours.model.w.copy()
    for t in (saturated_trainer(T.SoftmaxTrainer, _starter_model(w.copy()))[0],
              saturated_trainer(OwnLossTrainer)[0]):
        _, val_history = t.train(1)
        text_loss = float(T.cross_entropy_loss(t.Y_val, t.model.forward(t.X_val)))
        assert val_history["loss"][0] == text_loss == pytest.approx(FLOAT32_CLIP * wrong.mean(),
                                                                    rel=1e-6)
        np.testing.assert_array_equal(t.model.w, w)


def test_a_wrapped_loss_with_loss_from_scores_kept_stays_exact():
    ours, wrong, _ = saturated_trainer(T.SoftmaxTrainer)
    wrapped = saturated_trainer(WrappedLossTrainer)[0]
    assert wrapped.data_loss(wrapped.X_val, wrapped.Y_val) == ours.data_loss(ours.X_val,
                                                                             ours.Y_val)


def test_run_metrics_are_the_losses_of_the_scores():
    from numpy_impl.run.experiments import experiment_split, load_experiment
    from numpy_impl.run.train import run_experiment

    exp = load_experiment("tdt4265/task3b", {"trainer.max_epochs": 1})
    result = run_experiment(exp, runs_dir=None, verbose=False)
    split = experiment_split(exp)
    w = result.params["w"]
    for part, X, Y in (("train", split.X_train, split.Y_train), ("val", split.X_val, split.Y_val)):
        assert result.metrics[f"{part}/loss"] == float(T.cross_entropy_loss_with_logits(Y, X @ w))
