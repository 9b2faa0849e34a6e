"""The TDT4265 checks: each function of the starter code's API against numpy_impl.tdt4265, on
random inputs and on the edge cases where real solutions go wrong, then the submission's own
trainer driven with scripted validation losses (early stopping) and trained in lockstep with
the Lightning reference.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from compare.check import training
from compare.check.names import NotFound, Submission
from compare.check.result import CheckResult
from compare.check.session import HandInRaised
from compare.check.verdict import Options, compare, fail, first_failure, scalar
from numpy_impl import functional as F
from numpy_impl import tdt4265 as ref

PATIENCE = 10  # Task 2d: stop after 10 validations without improvement


def _rng() -> np.random.Generator:
    return np.random.default_rng(2023)


def _images(n: int = 16) -> np.ndarray:
    """uint8 pixels in 10..200: not spanning 0..255, so min-max normalisation shows."""
    return _rng().integers(10, 201, size=(n, ref.NUM_PIXELS)).astype(np.uint8)


def _inputs(n: int = 16) -> np.ndarray:
    return ref.pre_process_images(_images(n))


BIAS_FIRST = "bias first, as its pre_process_images puts it: inputs and weights mapped"


def bias_first(sub: Submission) -> bool:
    """Whether the hand-in's pre_process_images puts the bias 1 in the first column (the text's
    Task 1 says "at the beginning"; the starter code puts it last). Then its models and trainers
    get inputs with the bias first and weights with the bias row first (:func:`to_hand_in`),
    and their results are mapped back (:func:`from_hand_in`). Remembered on ``sub``."""
    if not hasattr(sub, "bias_first"):
        sub.bias_first = False
        try:
            got = np.asarray(sub.find("pre_process_images").obj(_images(4)), dtype=np.float64)
        except Exception:  # noqa: BLE001 (its own check reports it; the time limit is not one)
            return False
        sub.bias_first = bool(got.shape == (4, ref.NUM_INPUTS) and np.all(got[:, 0] == 1)
                              and not np.all(got[:, -1] == 1))
    return sub.bias_first


def to_hand_in(a: np.ndarray, first: bool, axis: int) -> np.ndarray:
    """Inputs (axis 1) or weights (axis 0) with the bias last -> the hand-in's layout."""
    return np.roll(a, 1, axis=axis) if first else a


def from_hand_in(a: np.ndarray, first: bool, axis: int) -> np.ndarray:
    return np.roll(a, -1, axis=axis) if first else a


def make_model(sub: Submission, role: str, lam: float) -> tuple[Any, str]:
    """An instance of the hand-in's model class with lambda ``lam``: the constructor as the
    starter has it (``SoftmaxModel(l2_reg_lambda)``, ``BinaryModel()``); a constructor that
    raises (e.g. it loads data) is bypassed and the starter's attributes are set instead.
    Returns the model and a note for the message ('' when the constructor ran)."""
    cls = sub.find(role).obj
    note = ""
    for args, kwargs in (((), {"l2_reg_lambda": lam}), ((lam,), {}), ((), {})):
        try:
            model = cls(*args, **kwargs)
            break
        except HandInRaised as e:
            if e.type == "TypeError":
                continue
            note = f"its constructor raised {e.type}: {e.message}; checked without it"
            model = sub.call("new", cls=cls)
            model.I = ref.NUM_INPUTS
            model.w = np.zeros((ref.NUM_INPUTS, 1 if role == "BinaryModel" else 10))
            model.grad = None
            break
    else:
        raise TypeError(f"{role}() cannot be called as the starter code calls it")
    model.l2_reg_lambda = lam
    return model, note


def _call_backward(model: Any, X: np.ndarray, outputs: np.ndarray, targets: np.ndarray
                   ) -> np.ndarray:
    model.grad = None
    returned = model.backward(X, outputs, targets)
    grad = getattr(model, "grad", None)
    return np.asarray(returned if grad is None else grad)


# ------------------------------------------------------------------------- function checks


def check_pre_process_images(sub: Submission, opts: Options) -> CheckResult:
    func = sub.find("pre_process_images").obj
    raw = _images()
    got = np.asarray(func(raw.copy()), dtype=np.float64)
    want = ref.pre_process_images(raw)
    cid = "pre_process_images"
    if got.shape != want.shape:
        return fail(cid, f"the result has shape {got.shape}; expected {want.shape} (784 pixels "
                         "and the bias 1)")
    pixels = raw.astype(np.float64)
    lo, hi = pixels.min(), pixels.max()
    known = {"it normalises by the batch's own min and max; the text maps 0..255 to -1..1 "
             "whatever the batch holds": (pixels - lo) / (hi - lo) * 2 - 1,
             "it maps the pixels to [0, 1]; the text says [-1, 1]": pixels / 255,
             "it standardises by the batch's mean and std; the text maps 0..255 linearly "
             "to -1..1": (pixels - pixels.mean()) / pixels.std()}
    if np.all(got[:, 0] == 1) and not np.all(got[:, -1] == 1):
        result = compare(cid, got[:, 1:], want[:, :-1], "the pixel scaling",
                         {m: v for m, v in known.items()})
        if result.status == "pass":
            return CheckResult(cid, "convention", "the bias 1 is the first column, as the "
                               "text's Task 1 says ('at the beginning'; the starter code puts "
                               "it last); the pixel scaling agrees with the text")
        return result
    if not np.all(got[:, -1] == 1):
        return fail(cid, "no column of ones (the bias trick) first or last")
    return compare(cid, got[:, :-1], want[:, :-1], "the pixel scaling", known)


def check_binary_cross_entropy_loss(sub: Submission, opts: Options) -> CheckResult:
    func = sub.find("binary_cross_entropy_loss").obj
    rng = _rng()
    targets = rng.integers(0, 2, size=(20, 1)).astype(np.float64)
    outputs = rng.uniform(0.05, 0.95, size=(20, 1))
    want = ref.binary_cross_entropy_loss(targets, outputs)
    got = scalar(func(targets, outputs))
    terms = F.binary_cross_entropy_terms(targets, outputs)
    return compare("binary_cross_entropy_loss", got, want, "the loss",
                   {"it sums over the batch instead of averaging (no 1/N)": terms.sum()})


def check_cross_entropy_loss(sub: Submission, opts: Options) -> CheckResult:
    func = sub.find("cross_entropy_loss").obj
    rng = _rng()
    targets = F.one_hot(rng.integers(0, 10, size=20), 10)
    outputs = F.softmax(rng.normal(size=(20, 10)), axis=1)
    want = ref.cross_entropy_loss(targets, outputs)
    got = scalar(func(targets, outputs))
    return compare("cross_entropy_loss", got, want, "the loss",
                   {"it sums over the batch instead of averaging (no 1/N)": want * 20,
                    "it averages over the classes too (an extra 1/K)": want / 10})


def _model_forward(sub: Submission, role: str, cid: str, cases: list[tuple[str, np.ndarray]]
                   ) -> CheckResult:
    model, note = make_model(sub, role, 0.0)
    first = bias_first(sub)
    note = "; ".join(n for n in (note, BIAS_FIRST if first else "") if n)
    X = _inputs()
    results = []
    reference = ref.BinaryModel if role == "BinaryModel" else ref.SoftmaxModel
    for label, w in cases:
        model.w = to_hand_in(w, first, 0).copy()
        refm = reference()
        refm.w = w.copy()
        results.append(compare(cid, model.forward(to_hand_in(X, first, 1).copy()),
                               refm.forward(X), f"the output {label}", note=note))
    return first_failure(results)


OVERFLOW = ("the {what} overflows once a score passes about 709 (exp(710) is inf in float64): "
            "{fix} (the text does not ask for it, and training never reaches such scores); "
            "for scores of +-1e3 yours gives {bad}")


def _overflow(sub: Submission, role: str, cid: str, realistic: CheckResult, big: np.ndarray,
              what: str, fix: str) -> CheckResult:
    """The output for scores of +-1e3 (weights ``big``): a pass keeps ``realistic``; nan or
    inf, where the realistic case is right, is a warn naming the fix; anything else a fail."""
    if realistic.status not in ("pass", "convention"):
        return realistic
    model, note = make_model(sub, role, 0.0)
    first = bias_first(sub)
    note = "; ".join(n for n in (note, BIAS_FIRST if first else "") if n)
    model.w = to_hand_in(big, first, 0).copy()
    X = _inputs()
    got = model.forward(to_hand_in(X, first, 1).copy())
    refm = (ref.BinaryModel if role == "BinaryModel" else ref.SoftmaxModel)()
    refm.w = big.copy()
    result = compare(cid, got, refm.forward(X), "the output for scores of +-1e3", note=note)
    if result.status == "pass":
        return realistic
    try:
        values = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return result
    bad = [w for w, m in (("nan", np.isnan(values)), ("inf", np.isinf(values))) if m.any()]
    if not bad:
        return result
    return CheckResult(cid, "warn", OVERFLOW.format(what=what, fix=fix, bad="/".join(bad))
                       + f"; {realistic.message}")


def check_binary_forward(sub: Submission, opts: Options) -> CheckResult:
    w = _rng().normal(0, 0.05, size=(ref.NUM_INPUTS, 1))
    result = _model_forward(sub, "BinaryModel", "BinaryModel.forward",
                            [("for random weights", w), ("at zero weights", np.zeros_like(w))])
    big = np.zeros_like(w)
    big[0] = 2000.0  # the first pixel (-0.92..0.57 here) times 2000: scores of about +-1e3
    return _overflow(sub, "BinaryModel", "BinaryModel.forward", result, big, "sigmoid",
                     "write it as 1 / (1 + exp(-z)), which gives 0 or 1 there, not "
                     "exp(z) / (1 + exp(z))")


def check_softmax_forward(sub: Submission, opts: Options) -> CheckResult:
    w = _rng().normal(0, 0.05, size=(ref.NUM_INPUTS, 10))
    big = np.zeros_like(w)
    big[-1] = np.linspace(-1e3, 1e3, 10)  # bias row: scores of +-1e3 for every image
    result = _model_forward(sub, "SoftmaxModel", "SoftmaxModel.forward",
                            [("for random weights", w)])
    return _overflow(sub, "SoftmaxModel", "SoftmaxModel.forward", result, big, "softmax",
                     "subtract each row's maximum score before exp")


def _l2_known(w: np.ndarray, grad0: np.ndarray, lam: float, N: int, bias_row: int
              ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The L2 mistakes seen in practice, and the lambda*w convention, as full gradients."""
    no_bias = w.copy()
    no_bias[bias_row] = 0
    half = "your L2 gradient is 1.0*lambda*w (the gradient of lambda/2*||w||^2)"
    known = {
        "the L2 term is missing (the gradient ignores lambda)": grad0,
        f"{half}; the text's J = C + lambda*||w||^2 gives 2*lambda*w": grad0 + lam * w,
        "the L2 gradient is divided by N; the text's R(w) is not averaged over the batch":
            grad0 + 2 * lam * w / N,
        "the L2 gradient leaves out the bias row; the text's R(w) sums over every weight":
            grad0 + 2 * lam * no_bias,
    }
    return known, {half + ", the convention chosen with --l2-convention half": grad0 + lam * w}


def _model_backward(sub: Submission, role: str, cid: str, lam: float, opts: Options
                    ) -> CheckResult:
    model, note = make_model(sub, role, lam)
    rng = _rng()
    K = 1 if role == "BinaryModel" else 10
    X = _inputs(20)
    w = rng.normal(0, 0.1, size=(ref.NUM_INPUTS, K))  # realistic size: 2*lambda vs lambda shows
    refm = (ref.BinaryModel if K == 1 else ref.SoftmaxModel)(lam)
    refm.w = w.copy()
    outputs = refm.forward(X)
    targets = (rng.integers(0, 2, size=(20, 1)).astype(np.float64) if K == 1
               else F.one_hot(rng.integers(0, 10, size=20), 10))
    refm.backward(X, outputs, targets)
    first = bias_first(sub)
    note = "; ".join(n for n in (note, BIAS_FIRST if first else "") if n)
    model.w = to_hand_in(w, first, 0).copy()
    got = from_hand_in(_call_backward(model, to_hand_in(X, first, 1).copy(), outputs.copy(),
                                      targets.copy()), first, 0)
    grad0 = -(X.T @ (targets - outputs)) / 20
    known = {"the gradient sums over the batch instead of averaging (no 1/N)": grad0 * 20,
             "the gradient has the wrong sign": -refm.grad}
    conventions: dict[str, np.ndarray] = {}
    if lam > 0:
        l2_known, half = _l2_known(w, grad0, lam, 20, -1)
        known.update(l2_known)
        if opts.l2_convention == "half":
            conventions = half
    what = f"the gradient with lambda = {lam}" if lam else "the gradient"
    return compare(cid, got, refm.grad, what, known, conventions, note=note)


def check_binary_backward(sub: Submission, opts: Options) -> CheckResult:
    return _model_backward(sub, "BinaryModel", "BinaryModel.backward", 0.0, opts)


def check_softmax_backward(sub: Submission, opts: Options) -> CheckResult:
    return _model_backward(sub, "SoftmaxModel", "SoftmaxModel.backward", 0.0, opts)


def check_softmax_backward_l2(sub: Submission, opts: Options) -> CheckResult:
    return _model_backward(sub, "SoftmaxModel", "SoftmaxModel.backward_l2", 0.5, opts)


def check_one_hot_encode(sub: Submission, opts: Options) -> CheckResult:
    func = sub.find("one_hot_encode").obj
    Y = np.array([[3], [0], [9], [3], [5]])
    got = np.asarray(func(Y.copy(), 10))
    want = ref.one_hot_encode(Y, 10)
    dtype = f" (as {got.dtype}, accepted)" if got.dtype.kind in "biu" else ""
    result = compare("one_hot_encode", got.astype(np.float64) if got.dtype != object else got,
                     want, "the encoding")
    return CheckResult(result.id, result.status, result.message + dtype)


class _Fixed:
    """A model whose forward returns fixed outputs, for the reference's accuracy."""

    def __init__(self, outputs: np.ndarray) -> None:
        self.outputs = outputs

    def forward(self, X: np.ndarray) -> np.ndarray:
        return self.outputs.copy()


def _accuracy(sub: Submission, role: str, cid: str, outputs: np.ndarray, targets: np.ndarray,
              want: float, known: dict[str, float]) -> CheckResult:
    """calculate_accuracy(X, targets, model) with a model whose forward returns ``outputs``
    (made in the worker)."""
    func = sub.find(role).obj
    X = _inputs(len(targets))
    got = scalar(sub.call("accuracy", func=func, X=X, targets=targets, outputs=outputs))
    percent = {"the accuracy is in percent (accepted; the text's footnote 4 defines the "
               "fraction)": want * 100}
    result = compare(cid, got, want, "the accuracy", known, percent)
    if result.status == "pass":
        return CheckResult(cid, "pass", result.message + " (as a fraction)")
    return result


def check_binary_accuracy(sub: Submission, opts: Options) -> CheckResult:
    outputs = np.array([[0.5], [0.5], [0.2], [0.7], [0.5], [0.9], [0.1], [0.5]])
    targets = np.array([[1], [1], [0], [1], [0], [0], [0], [1]], dtype=np.float64)
    want = ref.binary_accuracy(None, targets, _Fixed(outputs))
    strict = float(np.mean((outputs > 0.5) == (targets == 1)))
    return _accuracy(sub, "binary_accuracy", "binary_accuracy", outputs, targets, want,
                     {"it predicts 0 at y_hat = 0.5 (> 0.5); the text predicts 1 when "
                      "y_hat >= 0.5": strict, "in percent with > 0.5": strict * 100})


def check_accuracy(sub: Submission, opts: Options) -> CheckResult:
    rng = _rng()
    outputs = F.softmax(rng.normal(size=(30, 10)), axis=1)
    targets = F.one_hot(rng.integers(0, 10, size=30), 10)
    want = ref.accuracy(None, targets, _Fixed(outputs))
    return _accuracy(sub, "accuracy", "accuracy", outputs, targets, want, {})


# ------------------------------------------------------------------------- batch_loader


def _loader_call(sub: Submission, func: Any, X: np.ndarray, Y: np.ndarray, bs: int,
                 shuffle: bool, drop_last: bool) -> list[tuple[np.ndarray, np.ndarray]]:
    """Every batch, the flags passed only where the loader takes them (in the worker)."""
    batches = sub.call("batches", func=func, X=X, Y=Y, bs=bs,
                       kwargs={"shuffle": shuffle, "drop_last": drop_last})
    return [(np.asarray(a), np.asarray(b)) for a, b in batches]


def _order_words(order: np.ndarray, expected: np.ndarray, shuffle: bool, drop_last: bool,
                 sizes: list[int], bs: int) -> str:
    """What is wrong with the samples a loader gave (``order``, in the order they came) when
    ``expected`` was due, in words where the usual mistakes show, with the first difference."""
    flags = f"shuffle={shuffle}, drop_last={drop_last}"
    n, got = len(expected), order.tolist()
    first = next((i for i, (g, e) in enumerate(zip(got, expected.tolist(), strict=False))
                  if g != e), min(len(got), n))
    at = (f"first difference at position {first}: sample {got[first]}, expected sample "
          f"{int(expected[first])}" if first < min(len(got), n) else
          f"the first {min(len(got), n)} samples are the expected ones")
    full = len(order) // bs * bs
    distinct = len(set(got)) == len(got)
    if distinct and len(got) > 1 and not np.all(np.diff(order) > 0):
        return f"your loader shuffles although shuffle=False; {at}"
    if not drop_last and len(got) < n and np.array_equal(order, expected[:len(got)]):
        return (f"your loader drops the last, incomplete batch although drop_last=False: "
                f"{len(got)} of {n} samples, batch sizes {sizes}")
    if drop_last and len(got) > n and np.array_equal(order[:n], expected) and full == n:
        return (f"your loader keeps the last, incomplete batch ({len(got) - n} samples) although "
                f"drop_last=True: batch sizes {sizes}")
    if len(set(got)) < len(got):
        return (f"with {flags} some samples come more than once ({len(got)} samples, "
                f"{len(set(got))} distinct); {at}")
    return f"with {flags} the batches are not as expected: batch sizes {sizes}; {at}"


def check_batch_loader(sub: Submission, opts: Options) -> CheckResult:
    func = sub.find("batch_loader").obj
    cid = "batch_loader"
    N, bs = 100, 32
    X = np.repeat(np.arange(N, dtype=np.float64)[:, None], 3, axis=1)
    Y = np.arange(N)[:, None] * 10

    def rows(batches: list) -> tuple[np.ndarray, list[int]]:
        if not batches:
            return np.zeros(0, dtype=int), []
        if any(not np.array_equal(b[:, :1] * 10, y) for b, y in batches):
            raise AssertionError("a batch's targets are not those of its images (Y_batch must "
                                 "hold the targets of X_batch's rows, in the same order)")
        order = np.concatenate([b[:, 0] for b, _ in batches]).astype(int)
        return order, [len(b) for b, _ in batches]

    try:
        order, sizes = rows(_loader_call(sub, func, X, Y, bs, False, False))
        if not np.array_equal(order, np.arange(N)):
            return fail(cid, _order_words(order, np.arange(N), False, False, sizes, bs))
        order, sizes = rows(_loader_call(sub, func, X, Y, bs, False, True))
        if sizes != [bs] * (N // bs) or not np.array_equal(order, np.arange(N // bs * bs)):
            return fail(cid, _order_words(order, np.arange(N // bs * bs), False, True, sizes,
                                          bs))
        order, sizes = rows(_loader_call(sub, func, X, Y, bs, True, False))
        again, _ = rows(_loader_call(sub, func, X, Y, bs, True, False))
    except AssertionError as e:
        return fail(cid, str(e))
    if sorted(order.tolist()) != list(range(N)):
        return fail(cid, f"with shuffle=True and drop_last=False every sample must come exactly "
                    f"once; got {len(order)} samples, {len(set(order.tolist()))} distinct")
    if np.array_equal(order, np.arange(N)):
        return fail(cid, "with shuffle=True the order is unchanged: the loader does not shuffle")
    passed = ("every sample once per epoch, full batches with drop_last, the order kept without "
              "shuffle and changed with it")
    try:
        takes_rng = any(p in ("rng", "seed", "generator", "random_state")
                        for p in sub.call("parameters", target=func))
    except HandInRaised:  # no signature to read: assume it may be given a generator
        takes_rng = True
    if np.array_equal(order, again) and not takes_rng:
        return CheckResult(cid, "warn", "it shuffles, but into the same order every epoch (a "
                           "fixed seed inside the loader?): the text shuffles before each "
                           "epoch so that the batches differ from epoch to epoch; seed once, "
                           f"outside the loader; {passed}")
    return CheckResult(cid, "pass", passed)


# ------------------------------------------------------------------------- trainer


# three improvements, 9 without, one more, then none: the count must restart at the improvement
SCRIPT = [5.0, 4.0, 3.0] + [3.5] * 9 + [2.0]
LATER = 2.5


def check_early_stopping(sub: Submission, opts: Options) -> CheckResult:
    """The hand-in's LogisticTrainer with train_step and validation_step replaced (in the
    worker): validation losses as scripted, every step marking the weights with its number;
    5 batches an epoch, so a validation after each step."""
    cid = "early_stopping"
    base = sub.find("LogisticTrainer").obj
    epochs = 40
    record = sub.call("early_stopping", base=base, script=SCRIPT, later=LATER,
                      inputs=ref.NUM_INPUTS, batches=5, epochs=epochs)
    seen = [(float(loss), float(w)) for loss, w in record["seen"]]
    if not seen:
        return fail(cid, "the trainer made no validation")
    losses = [loss for loss, _ in seen]
    best = max(i for i, loss in enumerate(losses) if loss < min(losses[:i], default=np.inf))
    after = len(seen) - 1 - best
    if len(seen) >= epochs * 5:
        return fail(cid, f"training never stopped: {len(seen)} validations, the last "
                    f"{after} without improvement (the text: stop after {PATIENCE})")
    w_end = float(record["w_end"])
    best_w = seen[best][1]
    if after != PATIENCE:
        return fail(cid, f"it stops after {after} validations without improvement; the text "
                    f"says {PATIENCE} (validation losses {losses[best]:g} at validation {best + 1},"
                    f" stopped at validation {len(seen)})")
    if w_end != best_w and w_end != seen[-1][1]:
        return fail(cid, f"it stops after {PATIENCE} validations without improvement but "
                    f"returns the weights of step {w_end:g}, neither the last step's nor those "
                    f"of the lowest validation loss (validation {best + 1}, step {best_w:g})")
    if w_end != best_w:  # Task 2d asks for the stop rule; the paragraph above it for the rest
        return CheckResult(cid, "warn", f"it stops after {PATIENCE} validations without "
                           f"improvement, as Task 2d asks, but keeps the weights of the last step "
                           f"(validation {len(seen)}); the text's Early Stopping paragraph "
                           f"returns the weights at the minimum validation loss (validation "
                           f"{best + 1}): keep a copy of them and restore it when stopping")
    return CheckResult(cid, "pass", f"stops after {PATIENCE} validations without improvement "
                       "and returns the weights of the lowest validation loss")


def _train(sub: Submission, check_id: str, binary: bool, steps: int) -> CheckResult:
    """Train the hand-in's LogisticTrainer/BinaryModel (task 2: lr 0.05, no shuffle) or
    SoftmaxTrainer/SoftmaxModel (task 3: lr 0.01, shuffle, lambda 0) with batch size 32 in its
    worker, every step recorded; replay the record here. When the starter code's
    validation_step cannot run outside ``__main__`` (:func:`training.driven_instead`), the hand-in's
    train_step is driven by the checker's loop instead (the reference trainer's: batches from
    its own batch_loader, the same learning rate and batch size, no validation)."""
    model_role, trainer_role = (("BinaryModel", "LogisticTrainer") if binary
                                else ("SoftmaxModel", "SoftmaxTrainer"))
    model, note = make_model(sub, model_role, 0.0)
    base = sub.find(trainer_role).obj
    X, Y, Xv, Yv = training.mnist(binary)
    first = bias_first(sub)
    X, Xv = to_hand_in(X, first, 1), to_hand_in(Xv, first, 1)
    if not binary:
        one_hot = sub.find("one_hot_encode").obj
        Y, Yv = (np.asarray(one_hot(y, 10), dtype=np.float64) for y in (Y, Yv))
    lr = 0.05 if binary else 0.01
    initial = {"w": from_hand_in(np.array(model.w, dtype=np.float64), first, 0)}
    data = {"lr": lr, "bs": 32, "shuffle": not binary, "X": X, "Y": Y, "Xv": Xv, "Yv": Yv,
            "steps": steps}
    driven = ""
    try:
        record = sub.call("record_trainer", base=base, model=model, **data)
    except HandInRaised as e:
        driven = training.driven_instead(e)
        if not driven:
            raise
        model, note = make_model(sub, model_role, 0.0)  # a fresh one: the first step ran
        initial = {"w": from_hand_in(np.array(model.w, dtype=np.float64), first, 0)}
        try:
            loader = sub.find("batch_loader").obj
        except NotFound:
            loader = None
        record = sub.call("drive_train_step", base=base, model=model, loader=loader, **data)
    recorded = [training.Step(from_hand_in(np.asarray(s["X"], dtype=np.float64), first, 1),
                     np.asarray(s["Y"], dtype=np.float64), scalar(s["loss"]),
                     {"w": from_hand_in(np.asarray(s["w"], dtype=np.float64), first, 0)})
                for s in record]
    if not recorded:
        return CheckResult(check_id, "fail", "the trainer made no training step"
                           + (f"; {driven}" if driven else ""))
    name = "TDT4265Binary" if binary else "TDT4265Softmax"
    note = "".join(f"; {n}" for n in (note, BIAS_FIRST if first else "", driven) if n)
    return training.replay(recorded, name, lr, 0.0, initial, check_id, note)



def check_train_binary(sub: Submission, opts: Options) -> CheckResult:
    return _train(sub, "train_binary", binary=True, steps=opts.steps)


def check_train_softmax(sub: Submission, opts: Options) -> CheckResult:
    return _train(sub, "train_softmax", binary=False, steps=opts.steps)


CHECKS: dict[str, Callable[[Submission, Options], CheckResult]] = {
    "pre_process_images": check_pre_process_images,
    "binary_cross_entropy_loss": check_binary_cross_entropy_loss,
    "BinaryModel.forward": check_binary_forward,
    "BinaryModel.backward": check_binary_backward,
    "binary_accuracy": check_binary_accuracy,
    "cross_entropy_loss": check_cross_entropy_loss,
    "SoftmaxModel.forward": check_softmax_forward,
    "SoftmaxModel.backward": check_softmax_backward,
    "SoftmaxModel.backward_l2": check_softmax_backward_l2,
    "one_hot_encode": check_one_hot_encode,
    "accuracy": check_accuracy,
    "batch_loader": check_batch_loader,
    "early_stopping": check_early_stopping,
    "train_binary": check_train_binary,
    "train_softmax": check_train_softmax,
}
TRAINING = ("train_binary", "train_softmax")
