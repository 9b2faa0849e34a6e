"""The DD2424 checks: each function of the text against numpy_impl.dd2424, called in whichever
of the conventions seen in practice the hand-in uses (a network dict or separate W and b, labels
y or one-hot Y in either order, a cost from P or from X, one image per column or per row; the
message says which), then MiniBatchGD in lockstep with the Lightning reference.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from compare.check import training
from compare.check.names import DD2424_ROLES, Submission, first_call
from compare.check.result import CheckResult
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


def _call(func: Callable, *args: Any) -> Any:
    return func(*(_copy(a) for a in args))


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
    how, got, _ = first_call(func, candidates, lambda r: any(agrees(scalar(r), t) for t in targets))
    return _with_note(compare(cid, scalar(got), want, what, known, conventions), how)


def _layout_candidates(d: dict[str, Any], make: Callable[[bool, Any, Any, Any, Any, Any], list]
                       ) -> list[tuple[str, Callable]]:
    """Candidates for both layouts; ``make(rows, X, Y, y, P, net)`` lists (how, args)."""
    out = []
    for layout, rows, X, net in _nets(d):
        P = ref.apply_network(d["X"], d["net"])
        Y = d["Y"].T if rows else d["Y"]
        for how, args in make(rows, X, Y, d["y"], P.T if rows else P, net):
            label = ", ".join(x for x in (how, layout) if x)
            out.append((label, lambda f, args=args: _call(f, *args)))
    return out


# ------------------------------------------------------------------------- LoadBatch, normalize


def check_load_batch(sub: Submission, opts: Options) -> CheckResult:
    func = sub.find("LoadBatch").obj
    rng = np.random.default_rng(1)
    data = rng.integers(0, 256, size=(N, D)).astype(np.uint8)
    labels = rng.integers(0, K, size=N)
    X, Y, y = ref.batch_arrays(data, labels)
    # the worker writes the file in CIFAR-10's format (a pickle) where the hand-in can read it
    out = sub.call("load_batch", func=func, data=data, labels=labels.tolist())
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
    return _with_note(first_failure(results), note)


def check_normalize(sub: Submission, opts: Options) -> CheckResult:
    func = sub.find("normalize").obj
    X = _data()["X"]
    mean, std = ref.mean_std(X)
    want = ref.normalize(X, mean, std)
    candidates = [("normalize(X, mean, std)", lambda f: _call(f, X, mean, std)),
                  ("normalize(X) with X's own mean and std", lambda f: _call(f, X)),
                  ("normalize(X, mean, std), " + ROWS,
                   lambda f: np.asarray(_call(f, X.T, mean.T, std.T)).T)]
    how, got, _ = first_call(func, candidates, lambda r: agrees(r, want))
    scalar_mean = (X - X.mean()) / X.std()
    return _with_note(compare("normalize", got, want, "the normalised data", {
        "it uses one scalar mean and std for all dimensions; the text normalises each "
        "dimension by its own mean and std": scalar_mean}), how)


# ------------------------------------------------------------------------- the network


def _apply_candidates(d: dict[str, Any]) -> list[tuple[str, Callable]]:
    out = []
    for layout, rows, X, net in _nets(d):
        def back(r: Any, rows: bool = rows) -> np.ndarray:
            return np.asarray(r).T if rows else np.asarray(r)
        out += [(f"ApplyNetwork(X, network){', ' + layout if layout else ''}",
                 lambda f, X=X, net=net, back=back: back(_call(f, X, net))),
                (f"ApplyNetwork(X, W, b){', ' + layout if layout else ''}",
                 lambda f, X=X, net=net, back=back: back(_call(f, X, net["W"], net["b"])))]
    return out


def check_apply_network(sub: Submission, opts: Options) -> CheckResult:
    func = sub.find("ApplyNetwork").obj
    d = _data()
    results = []
    big = {"W": np.zeros((K, D)), "b": np.linspace(-1e3, 1e3, K)[:, None]}
    for label, net in (("for random weights", d["net"]), ("for scores of +-1e3", big)):
        case = {**d, "net": net}
        want = ref.apply_network(d["X"], net)
        how, got, _ = first_call(func, _apply_candidates(case), lambda r, w=want: agrees(r, w))
        result = _with_note(compare("ApplyNetwork", got, want, f"P {label}"), how)
        if result.status == "fail" and "1e3" in label:
            result = fail(result.id, "the softmax overflows for scores of +-1e3 (subtract each "
                          "column's maximum before exp); " + result.message)
        results.append(result)
    return first_failure(results)


def _loss_args(rows: bool, X: Any, Y: Any, y: Any, P: Any, net: dict) -> list:
    return [("ComputeLoss(P, y)", (P, y)), ("ComputeLoss(P, Y)", (P, Y)),
            ("ComputeLoss(Y, P)", (Y, P)), ("ComputeLoss(X, y, network)", (X, y, net)),
            ("ComputeLoss(X, Y, network)", (X, Y, net)),
            ("ComputeLoss(X, Y, W, b)", (X, Y, net["W"], net["b"]))]


def check_compute_loss(sub: Submission, opts: Options) -> CheckResult:
    func = sub.find("ComputeLoss").obj
    d = _data()
    P = ref.apply_network(d["X"], d["net"])
    want = float(ref.compute_loss(P, d["y"]))
    return _scalar_check("ComputeLoss", func, _layout_candidates(d, _loss_args), want,
                         {"it sums over the images instead of averaging (no 1/n)": want * N},
                         what="the loss")


def check_compute_cost(sub: Submission, opts: Options) -> CheckResult:
    func = sub.find("ComputeCost").obj
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
                ("ComputeCost(X, Y, W, b, lam)", (X, Y, net["W"], net["b"], lam))]

    return _scalar_check("ComputeCost", func, _layout_candidates(d, args), want, {
        "the L2 term is missing": loss,
        "the L2 term is lam/2 * ||W||^2; the text's eq. 5 has lam * ||W||^2":
            loss + lam / 2 * np.sum(W * W),
        "the L2 term includes b; the text regularises W only":
            want + lam * np.sum(b * b)}, what="the cost")


def check_compute_accuracy(sub: Submission, opts: Options) -> CheckResult:
    func = sub.find("ComputeAccuracy").obj
    d = _data()
    P = ref.apply_network(d["X"], d["net"])
    want = ref.compute_accuracy(P, d["y"])

    def args(rows: bool, X: Any, Y: Any, y: Any, P: Any, net: dict) -> list:
        return [(h.replace("ComputeLoss", "ComputeAccuracy"), a)
                for h, a in _loss_args(rows, X, Y, y, P, net)]

    return _scalar_check("ComputeAccuracy", func, _layout_candidates(d, args), want, {}, {
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


def _gradient_check(cid: str, func: Callable, lam: float, multiple_bce: bool,
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
        for how, args in (("(X, Y, P, network, lam)", (XX, YY, PP, nn, lam)),
                          ("(X, Y, P, W, lam)", (XX, YY, PP, nn["W"], lam)),
                          ("(X, Y, network, lam)", (XX, YY, nn, lam)),
                          ("(X, Y, W, b, lam)", (XX, YY, nn["W"], nn["b"], lam))):
            label = f"called as {cid.split('_l2')[0]}{how}" + (f", {layout}" if layout else "")
            cands.append((label, lambda f, args=args, rows=rows:
                          np.concatenate([g.reshape(-1) for g in
                                          gradients_of(_call(f, *args), rows)])))
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
    how, got, _ = first_call(func, cands, lambda r: any(agrees(r, t) for t in targets))
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
    return _gradient_check("BackwardPass", sub.find("BackwardPass").obj, 0.0, False, opts)


def check_backward_l2(sub: Submission, opts: Options) -> CheckResult:
    return _gradient_check("BackwardPass_l2", sub.find("BackwardPass").obj, 0.5, False, opts)


def check_multiple_bce_gradient(sub: Submission, opts: Options) -> CheckResult:
    return _gradient_check("multiple_bce_gradient", sub.find("multiple_bce_gradient").obj, 0.0,
                           True, opts)


def check_multiple_bce_loss(sub: Submission, opts: Options) -> CheckResult:
    func = sub.find("multiple_bce_loss").obj
    d = _data()
    P = ref.apply_network_sigmoid(d["X"], d["net"])
    want = float(ref.compute_loss_multiple_bce(P, d["Y"]))
    cands = [("(P, Y)", lambda f: _call(f, P, d["Y"])), ("(Y, P)", lambda f: _call(f, d["Y"], P)),
             ("(P, Y), " + ROWS, lambda f: _call(f, P.T, d["Y"].T))]
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
    shuffled with its own rng), replayed here through the Lightning reference."""
    mbgd = sub.find("MiniBatchGD").obj
    sub.find("BackwardPass")  # a skip names the gradient function when there is none
    grad_name = sub.call("global_name", func=mbgd, names=list(DD2424_ROLES["BackwardPass"]))
    if grad_name is None:
        return fail("MiniBatchGD", "MiniBatchGD does not call a gradient function by any of the "
                    f"names {', '.join(DD2424_ROLES['BackwardPass'])}")
    n, eta, lam = 400, 0.01, 0.0
    d = _data(n=n)
    X = (d["X"] - d["X"].mean(axis=1, keepdims=True)) / d["X"].std(axis=1, keepdims=True)
    init = {"W": d["net"]["W"] * 0.1, "b": np.zeros((K, 1))}
    results = []
    for shuffle in (False, True):
        record = sub.call("record_minibatch", mbgd=mbgd, grad_name=grad_name, X=X, Y=d["Y"],
                          init=init, params={"n_batch": 10, "eta": eta, "n_epochs": 5},
                          shuffle=shuffle, lam=lam)
        label = "shuffled with its own rng" if shuffle else "unshuffled"
        result = training.dd2424("MiniBatchGD", record, init, eta, lam, _to_columns)
        results.append(_with_note(result, ", ".join([label, *([ROWS] if record["rows"]
                                                             else [])])))
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
TRAINING = ("MiniBatchGD",)
