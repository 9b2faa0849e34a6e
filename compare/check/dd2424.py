"""The DD2424 checks: each function of the text against numpy_impl.dd2424, called in whichever
of the conventions seen in practice the hand-in uses (a network dict or separate W and b, labels
y or one-hot Y in either order, a cost from P or from X, one image per column or per row; the
message says which), then MiniBatchGD in lockstep with the Lightning reference.

Each function is first called by its own parameter names (``ComputeGradients(X, Y, P, W,
lamda)``, ``compute_gradients(X_batch, Y_batch, our_lambda)``: the worker binds the checker's
values to them), then in the text's conventions that fit its signature; several returned values
(``(cost, loss)``, ``(X_normalised, mean, std)``, the three sets of ``Normalize(trainX, valX,
testX)``) are taken apart. A role played by a method of a class (see
:mod:`compare.check.names`) is called on an instance with the checker's network set on it, and
the message says how the instance was made and what was set.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from compare.check import training
from compare.check.names import DD2424_ROLES, NotFound, Submission, first_call
from compare.check.result import CheckResult
from compare.check.session import HandInRaised
from compare.check.verdict import Options, agrees, compare, fail, first_failure, scalar
from numpy_impl import dd2424 as ref
from numpy_impl import functional as F

K, D, N = 10, 3072, 20
ROWS = "one image per row (X is n x d, W is d x K); checked transposed"
ROWS_CONVENTION = "one image per row, the text's layout (one image per column) transposed"


def _data(n: int = N, lam_scale: float = 0.1) -> dict[str, Any]:
    """Images (d, n) whose dimensions have different means, labels, and a network with
    W of realistic size and a nonzero b (so that L2 on b shows)."""
    rng = np.random.default_rng(2424)
    X = rng.uniform(0, 1, size=(D, n)) * rng.uniform(0.2, 1, size=(D, 1))
    y = rng.integers(0, K, size=n)
    Y = F.one_hot(y, K).T
    net = {"W": rng.normal(0, lam_scale, size=(K, D)), "b": rng.normal(0, 0.1, size=(K, 1))}
    return {"X": X, "y": y, "Y": Y, "net": net}


def _rows(net: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {"W": net["W"].T.copy(), "b": net["b"].T.copy()}


def _nets(d: dict[str, Any]) -> list[tuple[str, bool, Any, dict]]:
    """(layout description, rows?, X, network) for both layouts."""
    return [("", False, d["X"], d["net"]), (ROWS, True, d["X"].T, _rows(d["net"]))]


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: np.array(v) for k, v in value.items()}
    return np.array(value) if isinstance(value, np.ndarray) else value


def _call(func: Callable, *args: Any, net: dict | None = None) -> Any:
    """``func`` (a found :class:`_Role`, or any callable) on copies of ``args``; a method of an
    instance of the hand-in's class gets the network ``net`` set on its instance first."""
    args = tuple(_copy(a) for a in args)
    if isinstance(func, _Role):
        return func(*args, net=net)
    return func(*args)


def _constructor_data(d: dict[str, Any]) -> dict[str, Any]:
    """What a hand-in's class may take in its constructor, by its parameter names."""
    return {"X": d["X"], "Y": d["Y"], "y": d["y"], "W": d["net"]["W"], "b": d["net"]["b"],
            "net": d["net"], "lam": 0.0, "eta": 0.001, "K": K, "d": D, "n_batch": 100,
            "n_epochs": 40}


class _Role:
    """A found role as the calls meet it: the hand-in's function, or a method of an instance of
    its class, which gets the checker's network set on it before each call (where it keeps one:
    ``self.W``/``self.b``, a dict attribute, ...). Its signature (the worker's
    ``inspect.signature``) orders the calls: first by its own parameter names
    (:meth:`by_names`), then the text's conventions that fit its number of arguments; when none
    runs, the error names the calls tried and the signature. A method's ``where`` (how its
    instance was made) is added to the check's message."""

    def __init__(self, sub: Submission, role: str, d: dict[str, Any] | None = None,
                 skip: tuple[str, ...] = ()) -> None:
        found = sub.find(role, data=_constructor_data(d if d is not None else _data()),
                         skip=skip)
        self.sub, self.role, self.obj = sub, role, found.obj
        self.where, self.method = found.where, found.method
        self.name = found.where.split(": ", 1)[-1]
        self._signature: Any = False
        self._bound: dict[tuple[str, ...], str | None] = {}
        if self.method:
            notes = getattr(sub, "method_notes", None)
            if isinstance(notes, list):
                notes.append(found.where)

    def __call__(self, *args: Any, net: dict | None = None) -> Any:
        if self.method and net is not None:
            self.sub.call("set_network", target=self.obj, net=net)
        return self.obj(*args)

    @property
    def signature(self) -> dict | None:
        if self._signature is False:
            try:
                self._signature = self.sub.call("signature", target=self.obj)
            except HandInRaised:
                self._signature = None
        return self._signature if isinstance(self._signature, dict) else None

    def text(self) -> str:
        return self.signature["text"] if self.signature else ""

    def fits(self, n: int) -> bool:
        """Whether a call with ``n`` positional arguments fits the signature."""
        sig = self.signature
        if sig is None:
            return True
        return not sig["keyword_only"] and sig["required"] <= n and \
            (sig["most"] is None or n <= sig["most"])

    def pick(self, candidates: list[tuple[str, Callable]]) -> list[tuple[str, Callable]]:
        """The candidates whose number of arguments fits (all of them when none does)."""
        fitting = [c for c in candidates
                   if getattr(c[1], "nargs", None) is None or self.fits(c[1].nargs)]
        return fitting or candidates

    def by_names(self, values: dict[str, Any], post: Callable[[Any], Any] = lambda r: r,
                 label: str = "") -> list[tuple[str, Callable]]:
        """The call by the hand-in's own parameter names (X, Y_batch, P, W, b, lamda, ...)
        with ``values`` (the checker's X, Y, y, P, W, b, net, lam, ...), as a candidate; none
        when a parameter has no value."""
        roles = tuple(sorted(values))
        if roles not in self._bound:
            try:
                self._bound[roles] = self.sub.call("bind", target=self.obj, roles=list(roles))
            except HandInRaised:
                self._bound[roles] = None
        how = self._bound[roles]
        if not how:
            return []

        def call(f: Any) -> Any:
            return post(self.sub.call("call_by_names", target=self.obj, values=values))
        return [(", ".join(x for x in (str(how), label) if x), call)]

    def first_call(self, candidates: list[tuple[str, Callable]], accept: Callable[[Any], bool]
                   ) -> tuple[str, Any, list[str]]:
        return first_call(self, self.pick(candidates), accept, self.text())


def _candidate(how: str, args: tuple, net: dict | None = None,
               post: Callable[[Any], Any] | None = None) -> tuple[str, Callable]:
    """A call in one of the text's conventions, its number of arguments known (see
    :meth:`_Role.pick`)."""
    def call(f: Any) -> Any:
        result = _call(f, *args, net=net)
        return post(result) if post is not None else result
    call.nargs = len(args)  # type: ignore[attr-defined]
    return how, call


def _pick_scalar(result: Any, targets: list[float]) -> tuple[float, str]:
    """A scalar result, or the one of several it returns ((cost, loss), [L, J]) that agrees
    with a target (else the first), and a note saying which."""
    if isinstance(result, tuple | list) and len(result) > 1:
        values = [scalar(v) for v in result]
        i = next((i for i, v in enumerate(values) if any(agrees(v, t) for t in targets)), 0)
        return values[i], f"value {i + 1} of the {len(values)} it returns"
    return scalar(result), ""


def _with_method_notes(check: Callable[[Submission, Options], CheckResult]
                       ) -> Callable[[Submission, Options], CheckResult]:
    """``check`` with where each method it called was found (and how its instance was made)
    added to the message."""
    def run(sub: Submission, opts: Options) -> CheckResult:
        sub.method_notes = []  # type: ignore[attr-defined]
        result = check(sub, opts)
        notes = list(dict.fromkeys(sub.method_notes))  # type: ignore[attr-defined]
        if not notes:
            return result
        return dataclasses.replace(result, message=f"{result.message} [a method: "
                                   f"{'; '.join(notes)}]")
    run.__name__ = run.__qualname__ = check.__name__
    run.__doc__ = check.__doc__
    return run


def _with_note(result: CheckResult, note: str) -> CheckResult:
    """``result`` with how the function was called appended; a pass in the one-image-per-row
    layout is a ``convention`` (the message says which layout was found)."""
    if not note:
        return result
    if result.status == "pass" and ROWS in note:
        how = note.replace(ROWS, "").strip(", ")
        return CheckResult(result.id, "convention", f"{ROWS_CONVENTION}: {result.message}"
                           + (f" ({how})" if how else ""))
    return CheckResult(result.id, result.status, f"{result.message} ({note})")


def _scalar_check(cid: str, func: Callable, candidates: list[tuple[str, Callable]], want: float,
                  known: dict[str, float], conventions: dict[str, float] | None = None,
                  what: str = "the value") -> CheckResult:
    targets = [want, *(conventions or {}).values()]

    def accept(r: Any) -> bool:
        return any(agrees(_pick_scalar(r, targets)[0], t) for t in targets)

    if isinstance(func, _Role):
        how, got, _ = func.first_call(candidates, accept)
    else:
        how, got, _ = first_call(func, candidates, accept)
    got, which = _pick_scalar(got, targets)
    return _with_note(compare(cid, got, want, what, known, conventions),
                      "; ".join(x for x in (how, which) if x))


def _layout_candidates(d: dict[str, Any], make: Callable[[bool, Any, Any, Any, Any, Any], list],
                       role: _Role | None = None, lam: float | None = None
                       ) -> list[tuple[str, Callable]]:
    """Candidates for both layouts; ``make(rows, X, Y, y, P, net)`` lists (how, args); first
    in each layout the call by the hand-in's own parameter names (``role``; ``lam`` among the
    values when the check has one)."""
    out = []
    for layout, rows, X, net in _nets(d):
        P = ref.apply_network(d["X"], d["net"])
        Y = d["Y"].T if rows else d["Y"]
        P = P.T if rows else P
        if role is not None:
            values = {"X": X, "Y": Y, "y": d["y"], "P": P, "W": net["W"], "b": net["b"],
                      "net": net, **({"lam": lam} if lam is not None else {})}
            out += role.by_names(values, label=layout)
        for how, args in make(rows, X, Y, d["y"], P, net):
            out.append(_candidate(", ".join(x for x in (how, layout) if x), args, net))
    return out


# ------------------------------------------------------------------------- LoadBatch, normalize


def check_load_batch(sub: Submission, opts: Options) -> CheckResult:
    """LoadBatch on a CIFAR-10 file the worker writes (where a LoadBatch that joins a folder of
    its own looks for it, the message says where). A LoadBatch that returns the raw CIFAR-10
    dict (the helper earlier course years gave) is passed over for the next function by a
    LoadBatch name that returns X, Y, y."""
    rng = np.random.default_rng(1)
    data = rng.integers(0, 256, size=(N, D)).astype(np.uint8)
    labels = rng.integers(0, K, size=N)
    X, Y, y = ref.batch_arrays(data, labels)
    raw: list[str] = []
    while True:
        try:
            func = _Role(sub, "LoadBatch", skip=tuple(raw))
        except NotFound as e:
            if not raw:
                raise
            return CheckResult("LoadBatch", "skip", f"{', '.join(raw)} returns the raw CIFAR-10 "
                               "dict (the helper earlier years gave) and no other function by "
                               f"a LoadBatch name returns X, Y, y (looked for "
                               f"{', '.join(e.names)}; --map LoadBatch=NAME names yours)")
        # the worker writes the file in CIFAR-10's format (a pickle) where the hand-in reads it
        reply = sub.call("load_batch", func=func.obj, data=data, labels=labels.tolist())
        if not reply["raw"]:
            break
        raw.append(func.name)
        if len(raw) > 3:
            break
    notes = []
    if raw:
        notes.append(f"{', '.join(raw)} returns the raw CIFAR-10 dict (the helper earlier "
                     f"years gave); {func.where} is checked")
    if reply["put"]:
        notes.append(f"the batch file was put at {reply['put']}, where its LoadBatch looks")
    out = reply["result"]
    out = out if isinstance(out, tuple | list) else (out,)
    gotX = np.asarray(out[0], dtype=np.float64)
    note = ""
    if gotX.shape == (N, D):
        gotX, note = gotX.T, ROWS
    results = [compare("LoadBatch", gotX, X, "X", {
        "the pixels are not divided by 255 (the text wants X in [0, 1])": X * 255})]
    if len(out) > 1:
        gotY = np.asarray(out[1], dtype=np.float64)
        results.append(compare("LoadBatch", gotY.T if gotY.shape == (N, K) else gotY, Y,
                               "Y (one-hot)"))
    if len(out) > 2:
        results.append(compare("LoadBatch", np.asarray(out[2]).reshape(-1), y, "y"))
    return _with_note(first_failure(results), ", ".join(x for x in (*notes, note) if x))


def _first(result: Any) -> Any:
    """The first of several returned values ((X_normalised, mean, std), or the training set's
    of (train, val, test)); a single value as it is."""
    return result[0] if isinstance(result, tuple | list) else result


def check_normalize(sub: Submission, opts: Options) -> CheckResult:
    """normalize(X, mean, std), normalize(X) (its own mean and std, maybe returned with them) or
    a function of the training, validation and test sets at once (the training set's result
    checked, and the validation set's: normalised by the training set's mean and std)."""
    func = _Role(sub, "normalize")
    X = _data()["X"]
    rng = np.random.default_rng(7)
    sets = [X, rng.uniform(0, 1, size=X.shape) * 0.8 + 0.1, rng.uniform(0, 1, size=X.shape)]
    mean, std = ref.mean_std(X)
    want = ref.normalize(X, mean, std)
    candidates = [
        *func.by_names({"X": X, "mean": mean, "std": std, "X_val": sets[1], "X_test": sets[2]},
                       post=lambda r: r),
        _candidate("normalize(X, mean, std)", (X, mean, std)),
        _candidate("normalize(X) with X's own mean and std", (X,)),
        _candidate("normalize(trainX, valX, testX)", tuple(sets)),
        _candidate("normalize(trainX, valX)", tuple(sets[:2])),
        _candidate("normalize(X, mean, std), " + ROWS, (X.T, mean.T, std.T),
                   post=lambda r: (tuple(np.asarray(v).T for v in r) if isinstance(r, tuple | list)
                                   else np.asarray(r).T))]
    how, got, _ = func.first_call(candidates, lambda r: agrees(_first(r), want))
    scalar_mean = (X - X.mean()) / X.std()
    result = compare("normalize", _first(got), want, "the normalised data", {
        "it uses one scalar mean and std for all dimensions; the text normalises each "
        "dimension by its own mean and std": scalar_mean})
    several = isinstance(got, tuple | list) and len(got) > 1 and \
        np.shape(got[1]) == np.shape(X) and "val" in how.lower()
    if result.status == "pass" and several:
        own = ref.normalize(sets[1], *ref.mean_std(sets[1]))
        result = first_failure([result, compare(
            "normalize", got[1], ref.normalize(sets[1], mean, std),
            "the validation set normalised by the training set's mean and std", {
                "the validation set is normalised by its own mean and std; the text uses "
                "the training set's": own})])
    return _with_note(result, how)


# ------------------------------------------------------------------------- the network


def _apply_candidates(d: dict[str, Any], role: _Role | None = None
                      ) -> list[tuple[str, Callable]]:
    out = []
    for layout, rows, X, net in _nets(d):
        def back(r: Any, rows: bool = rows) -> np.ndarray:
            r = _first(r) if isinstance(r, tuple | list) else r  # (P, scores) and the like
            return np.asarray(r).T if rows else np.asarray(r)
        if role is not None:
            out += role.by_names({"X": X, "W": net["W"], "b": net["b"], "net": net},
                                 post=back, label=layout)
        out += [_candidate(f"ApplyNetwork(X, network){', ' + layout if layout else ''}",
                           (X, net), net, back),
                _candidate(f"ApplyNetwork(X, W, b){', ' + layout if layout else ''}",
                           (X, net["W"], net["b"]), net, back)]
    return out


def check_apply_network(sub: Submission, opts: Options) -> CheckResult:
    """P for random weights (the convention found there), then for scores of +-1e3: nan or
    inf there, where the first is right, is a warn (an unshifted softmax; the text's eq. 3
    does not ask for the shift, and training never reaches such scores)."""
    func = _Role(sub, "ApplyNetwork")
    d = _data()
    want = ref.apply_network(d["X"], d["net"])
    how, got, _ = func.first_call(_apply_candidates(d, func), lambda r: agrees(r, want))
    realistic = _with_note(compare("ApplyNetwork", got, want, "P for random weights"), how)
    if realistic.status not in ("pass", "convention"):
        return realistic
    big = {"W": np.zeros((K, D)), "b": np.linspace(-1e3, 1e3, K)[:, None]}
    want = ref.apply_network(d["X"], big)
    call = dict(_apply_candidates({**d, "net": big}, func))[how]
    axis = "row" if ROWS in how else "column"
    try:
        got = call(func)
    except HandInRaised as e:
        if e.type not in ("FloatingPointError", "OverflowError"):
            raise
        got, bad = None, f"{e.type}"
    else:
        result = _with_note(compare("ApplyNetwork", got, want, "P for scores of +-1e3"), how)
        if result.status in ("pass", "convention"):
            return realistic
        try:
            values = np.asarray(got, dtype=np.float64)
        except (TypeError, ValueError):
            return result
        bad = "/".join(w for w, m in (("nan", np.isnan(values)), ("inf", np.isinf(values)))
                       if m.any())
        if not bad:
            return result
    return CheckResult("ApplyNetwork", "warn", "the softmax overflows once a score passes about "
                       "709 (exp(710) is inf in float64): subtract each " + axis + "'s maximum "
                       "score before exp (the text does not ask for it, and training never "
                       f"reaches such scores); for scores of +-1e3 yours gives {bad}; "
                       f"{realistic.message}")


def _loss_args(rows: bool, X: Any, Y: Any, y: Any, P: Any, net: dict) -> list:
    return [("ComputeLoss(P, y)", (P, y)), ("ComputeLoss(P, Y)", (P, Y)),
            ("ComputeLoss(Y, P)", (Y, P)), ("ComputeLoss(X, y, network)", (X, y, net)),
            ("ComputeLoss(X, Y, network)", (X, Y, net)),
            ("ComputeLoss(X, Y, W, b)", (X, Y, net["W"], net["b"])),
            ("ComputeLoss(X, y, W, b)", (X, y, net["W"], net["b"]))]


def check_compute_loss(sub: Submission, opts: Options) -> CheckResult:
    func = _Role(sub, "ComputeLoss")
    d = _data()
    P = ref.apply_network(d["X"], d["net"])
    want = float(ref.compute_loss(P, d["y"]))
    return _scalar_check("ComputeLoss", func, _layout_candidates(d, _loss_args, func), want,
                         {"it sums over the images instead of averaging (no 1/n)": want * N},
                         what="the loss")


def check_compute_cost(sub: Submission, opts: Options) -> CheckResult:
    func = _Role(sub, "ComputeCost")
    d = _data()
    lam = 0.1
    P = ref.apply_network(d["X"], d["net"])
    loss = float(ref.compute_loss(P, d["y"]))
    W, b = d["net"]["W"], d["net"]["b"]
    want = float(ref.compute_cost(P, d["y"], d["net"], lam))

    def args(rows: bool, X: Any, Y: Any, y: Any, P: Any, net: dict) -> list:
        return [("ComputeCost(P, y, network, lam)", (P, y, net, lam)),
                ("ComputeCost(P, Y, network, lam)", (P, Y, net, lam)),
                ("ComputeCost(X, y, network, lam)", (X, y, net, lam)),
                ("ComputeCost(X, Y, network, lam)", (X, Y, net, lam)),
                ("ComputeCost(X, Y, W, b, lam)", (X, Y, net["W"], net["b"], lam)),
                ("ComputeCost(P, y, W, lam)", (P, y, net["W"], lam)),
                ("ComputeCost(X, y, W, b, lam)", (X, y, net["W"], net["b"], lam))]

    return _scalar_check("ComputeCost", func, _layout_candidates(d, args, func, lam), want, {
        "the L2 term is missing": loss,
        "the L2 term is lam/2 * ||W||^2; the text's eq. 5 has lam * ||W||^2":
            loss + lam / 2 * np.sum(W * W),
        "the L2 term includes b; the text regularises W only":
            want + lam * np.sum(b * b)}, what="the cost")


def check_compute_accuracy(sub: Submission, opts: Options) -> CheckResult:
    func = _Role(sub, "ComputeAccuracy")
    d = _data()
    P = ref.apply_network(d["X"], d["net"])
    want = ref.compute_accuracy(P, d["y"])

    def args(rows: bool, X: Any, Y: Any, y: Any, P: Any, net: dict) -> list:
        return [(h.replace("ComputeLoss", "ComputeAccuracy"), a)
                for h, a in _loss_args(rows, X, Y, y, P, net)]

    return _scalar_check("ComputeAccuracy", func, _layout_candidates(d, args, func), want, {
        "it returns the error rate (1 - accuracy), not the accuracy": 1 - want}, {
        "the accuracy is in percent (accepted; the fraction would be the same number / 100)":
            want * 100}, what="the accuracy")


def gradients_of(result: Any, rows: bool) -> tuple[np.ndarray, np.ndarray]:
    """A hand-in's gradients as (dW, db) in the text's layout: a dict (keys W and b in any
    case, with or without a grad_ prefix) or a tuple (dW, db)."""
    if isinstance(result, dict):
        keys = {k.lower().replace("grad_", "").replace("grad", "").strip("_"): k for k in result}
        gW, gb = result[keys["w"]], result[keys["b"]]
    else:
        gW, gb = result[0], result[1]
    gW, gb = np.asarray(gW, dtype=np.float64), np.asarray(gb, dtype=np.float64)
    if rows:
        gW, gb = gW.T, gb.T
    return gW, gb.reshape(-1, 1)


def _gradient_check(cid: str, func: _Role, lam: float, multiple_bce: bool,
                    opts: Options) -> CheckResult:
    d = _data()
    objective = ref.OBJECTIVES["multiple_bce" if multiple_bce else "softmax"]
    X, Y, net = d["X"], d["Y"], d["net"]
    P = objective.apply(X, net)
    want = objective.backward(X, Y, P, net, lam)
    G = (P - Y) / (K if multiple_bce else 1)
    plain = ref.linear_gradients(X, G, net, 0.0)
    cands = []
    for layout, rows, XX, nn in _nets(d):
        PP, YY = (P.T, Y.T) if rows else (P, Y)

        def flat_of(r: Any, rows: bool = rows) -> np.ndarray:
            return np.concatenate([g.reshape(-1) for g in gradients_of(r, rows)])
        cands += [(f"called as {how}", call) for how, call in func.by_names(
            {"X": XX, "Y": YY, "P": PP, "W": nn["W"], "b": nn["b"], "net": nn, "lam": lam},
            post=flat_of, label=layout)]
        for how, args in (("(X, Y, P, network, lam)", (XX, YY, PP, nn, lam)),
                          ("(X, Y, P, W, lam)", (XX, YY, PP, nn["W"], lam)),
                          ("(X, Y, P, W, b, lam)", (XX, YY, PP, nn["W"], nn["b"], lam)),
                          ("(X, Y, network, lam)", (XX, YY, nn, lam)),
                          ("(X, Y, W, b, lam)", (XX, YY, nn["W"], nn["b"], lam))):
            label = f"called as {cid.split('_l2')[0]}{how}" + (f", {layout}" if layout else "")
            cands.append(_candidate(label, args, nn, flat_of))
    flat = np.concatenate([want["W"].reshape(-1), want["b"].reshape(-1)])

    def flatten(gW: np.ndarray, gb: np.ndarray) -> np.ndarray:
        return np.concatenate([gW.reshape(-1), gb.reshape(-1)])

    W, b = net["W"], net["b"]
    known = {"the gradient sums over the batch instead of averaging (no 1/n)":
             flatten(plain["W"] * N + 2 * lam * W, plain["b"] * N)}
    if multiple_bce:
        known["the 1/K of eq. 14 is missing from the gradient"] = flatten(
            plain["W"] * K + 2 * lam * W, plain["b"] * K)
    conventions: dict[str, np.ndarray] = {}
    if lam > 0:
        half = "your L2 gradient is 1.0*lambda*W (the gradient of lambda/2*||W||^2)"
        known.update({
            "the L2 term is missing (the gradient ignores lambda)": flatten(plain["W"],
                                                                            plain["b"]),
            f"{half}; the text's J = L + lambda*||W||^2 gives 2*lambda*W":
                flatten(plain["W"] + lam * W, plain["b"]),
            "the L2 gradient is divided by n; the text's penalty is not averaged over the batch":
                flatten(plain["W"] + 2 * lam * W / N, plain["b"]),
            "the gradient of b includes 2*lambda*b; the text regularises W only":
                flatten(plain["W"] + 2 * lam * W, plain["b"] + 2 * lam * b)})
        if opts.l2_convention == "half":
            conventions = {half + ", the convention chosen with --l2-convention half":
                           flatten(plain["W"] + lam * W, plain["b"])}
    targets = [flat, *conventions.values()]
    how, got, _ = func.first_call(cands, lambda r: any(agrees(r, t) for t in targets))
    what = f"the gradient (W then b) with lambda = {lam}" if lam else "the gradient (W then b)"
    result = compare(cid, got, flat, what, known, conventions)
    if result.status == "fail" and "first difference at (" in result.message:
        i = int(result.message.split("first difference at (")[1].split(",")[0].rstrip(")"))
        part = f"grad W[{', '.join(str(int(k)) for k in np.unravel_index(i, W.shape))}]" \
            if i < W.size else \
            f"grad b[{i - W.size}]"
        result = fail(cid, result.message.replace(f"at ({i},)", f"at {part}"))
    return _with_note(result, how)


def check_backward(sub: Submission, opts: Options) -> CheckResult:
    return _gradient_check("BackwardPass", _Role(sub, "BackwardPass"), 0.0, False, opts)


def check_backward_l2(sub: Submission, opts: Options) -> CheckResult:
    return _gradient_check("BackwardPass_l2", _Role(sub, "BackwardPass"), 0.5, False, opts)


def check_multiple_bce_gradient(sub: Submission, opts: Options) -> CheckResult:
    return _gradient_check("multiple_bce_gradient", _Role(sub, "multiple_bce_gradient"), 0.0,
                           True, opts)


def check_multiple_bce_loss(sub: Submission, opts: Options) -> CheckResult:
    func = _Role(sub, "multiple_bce_loss")
    d = _data()
    P = ref.apply_network_sigmoid(d["X"], d["net"])
    want = float(ref.compute_loss_multiple_bce(P, d["Y"]))
    cands = [*func.by_names({"P": P, "Y": d["Y"]}),
             _candidate("(P, Y)", (P, d["Y"])), _candidate("(Y, P)", (d["Y"], P)),
             *func.by_names({"P": P.T, "Y": d["Y"].T}, label=ROWS),
             _candidate("(P, Y), " + ROWS, (P.T, d["Y"].T))]
    return _scalar_check("multiple_bce_loss", func, cands, want, {
        "the 1/K of eq. 14 is missing (a sum over the classes instead of their mean)": want * K,
        "it sums over the images instead of averaging (no 1/n)": want * N}, what="the loss")


# ------------------------------------------------------------------------- flips


def check_flip(sub: Submission, opts: Options) -> CheckResult:
    found = sub.find("flip")
    d = _data(n=6)
    X = d["X"]
    mask = np.array([True, False, True, True, False, True])
    want = ref.flip_images(X, mask)
    inds = ref.flip_indices()
    obj = found.obj

    def by_indices(ind: Any) -> np.ndarray:
        return ref.flip_images(X, mask, np.asarray(ind).reshape(-1))

    cands = [("indices (the text's inds_flip)",
              lambda o: by_indices(o() if callable(o) else o)),
             ("flip_images(X, mask)", lambda o: _call(o, X, mask)),
             ("a function of the images to flip", lambda o: _flip_columns(o, X, mask))]
    how, got, _ = first_call(obj, cands, lambda r: agrees(r, want))
    result = compare("flip", got, want, "the flip")
    if result.status == "fail":
        got = np.asarray(got, dtype=np.float64)
        if got.shape == want.shape:
            image = got[:, 0][np.argsort(inds)]  # un-flip the first flipped image
            rows = np.flatnonzero(np.any((image != X[:, 0]).reshape(3, 32, 32), axis=(0, 2)))
            if rows.size:
                result = fail("flip", f"image rows {rows.tolist()} are not mirrored "
                              f"correctly; {result.message}")
    return _with_note(result, f"{found.where}, {how}")


def _flip_columns(func: Callable, X: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = X.copy()
    out[:, mask] = np.asarray(_call(func, X[:, mask]))
    return out


# ------------------------------------------------------------------------- MiniBatchGD


def _to_columns(args: tuple, kwargs: dict) -> tuple[np.ndarray, np.ndarray, dict]:
    """A gradient call's (X, Y, network) in the text's layout, copied."""
    values = [*args, *kwargs.values()]
    X, Y = np.array(values[0], dtype=np.float64), np.array(values[1], dtype=np.float64)
    rows = X.shape[-1] == D and X.shape[0] != D
    net = next((v for v in values if isinstance(v, dict)), None)
    if net is None:
        arrays = [np.asarray(v) for v in values[2:] if isinstance(v, np.ndarray)]
        W = next(a for a in arrays if a.size == K * D)
        b = next(a for a in arrays if a.size == K)
        net = {"W": W, "b": b}
    keys = {k.lower(): k for k in net}
    W = np.array(net[keys["w"]], dtype=np.float64)
    b = np.array(net[keys["b"]], dtype=np.float64)
    if rows:
        X, Y, W, b = X.T, Y.T, W.T, b.T
    return X, Y, {"W": W, "b": b.reshape(-1, 1)}


def check_mini_batch_gd(sub: Submission, opts: Options) -> CheckResult:
    """MiniBatchGD run in the worker with its gradient function recorded (unshuffled, then
    asked to shuffle with its own rng), replayed here through the Lightning reference."""
    n, eta, lam = 400, 0.01, 0.0
    d = _data(n=n)
    role = _Role(sub, "MiniBatchGD", d)
    mbgd = role.obj
    _Role(sub, "BackwardPass", d)  # a skip names the gradient function when there is none
    grad_name = sub.call("global_name", func=mbgd, names=list(DD2424_ROLES["BackwardPass"]))
    if grad_name is None:
        return fail("MiniBatchGD", "MiniBatchGD does not call a gradient function by any of the "
                    f"names {', '.join(DD2424_ROLES['BackwardPass'])} (in any spelling)")
    forward_name = sub.call("global_name", func=mbgd, names=list(DD2424_ROLES["ApplyNetwork"]))
    X = (d["X"] - d["X"].mean(axis=1, keepdims=True)) / d["X"].std(axis=1, keepdims=True)
    init = {"W": d["net"]["W"] * 0.1, "b": np.zeros((K, 1))}
    results = []
    for shuffle in (False, True):
        record = sub.call("record_minibatch", mbgd=mbgd, grad_name=grad_name, X=X, Y=d["Y"],
                          init=init, params={"n_batch": 10, "eta": eta, "n_epochs": 5},
                          shuffle=shuffle, lam=lam, forward_name=forward_name)
        # what was asked, not what it did: a MiniBatchGD without a shuffle flag runs alike twice
        label = "asked to shuffle, with its own rng" if shuffle else "asked not to shuffle"
        result = training.dd2424("MiniBatchGD", record, init, eta, lam, _to_columns)
        how = str(record.get("call", ""))
        if how.startswith("MiniBatchGD(X, Y, GDparams"):
            how = ""  # the text's own call
        results.append(_with_note(result, ", ".join([label, *([f"called as {how}"] if how
                                                               else []),
                                                     *([ROWS] if record["rows"] else [])])))
    worst = first_failure(results)
    if worst.status == "pass":
        return CheckResult("MiniBatchGD", "pass", "; ".join(r.message for r in results))
    return worst


CHECKS: dict[str, Callable[[Submission, Options], CheckResult]] = {
    "LoadBatch": check_load_batch,
    "normalize": check_normalize,
    "ApplyNetwork": check_apply_network,
    "ComputeLoss": check_compute_loss,
    "ComputeCost": check_compute_cost,
    "ComputeAccuracy": check_compute_accuracy,
    "BackwardPass": check_backward,
    "BackwardPass_l2": check_backward_l2,
    "MiniBatchGD": check_mini_batch_gd,
    "flip": check_flip,
    "multiple_bce_loss": check_multiple_bce_loss,
    "multiple_bce_gradient": check_multiple_bce_gradient,
}
CHECKS = {cid: _with_method_notes(check) for cid, check in CHECKS.items()}
TRAINING = ("MiniBatchGD",)
