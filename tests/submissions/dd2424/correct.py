"""DD2424 Assignment 1 in one file: plain NumPy, one image per column (the text's layout),
the text's function names, the bonus parts (flips, multiple binary cross-entropy) included."""
import copy
import pickle

import numpy as np


def LoadBatch(filename):
    """A CIFAR-10 batch file -> X (d x n) in [0, 1], Y (K x n) one-hot, y (n,) labels."""
    with open(filename, "rb") as fo:
        batch = pickle.load(fo, encoding="bytes")
    X = batch[b"data"].T.astype(np.float64) / 255
    y = np.array(batch[b"labels"])
    Y = np.eye(10)[y].T
    return X, Y, y


def normalize(X, mean_X, std_X):
    """(X - mean_X) / std_X per dimension; a constant dimension (std 0) is only centred."""
    return (X - mean_X) / np.where(std_X > 0, std_X, 1)


def ApplyNetwork(X, network):
    """P = SOFTMAX(W X + b), column by column (K x n)."""
    s = network["W"] @ X + network["b"]
    e = np.exp(s - s.max(axis=0, keepdims=True))  # shifted: exp never overflows
    return e / e.sum(axis=0, keepdims=True)


def _log(p):
    # a probability that rounded to 0 would give log(0): raise it to the smallest normal number
    return np.log(np.maximum(p, np.finfo(p.dtype).tiny))


def ComputeLoss(P, y):
    """The mean over the images of -log p_y (eq. 6); y holds the integer labels."""
    Y = np.eye(P.shape[0])[y].T
    return -(Y * _log(P)).sum(axis=0).mean()


def ComputeCost(P, y, network, lam):
    """Eq. 5: the loss plus lam * ||W||^2 (b is not regularised)."""
    return ComputeLoss(P, y) + lam * np.sum(network["W"] * network["W"])


def ComputeAccuracy(P, y):
    """The fraction of images whose most probable class is their label."""
    return float(np.mean(P.argmax(axis=0) == y))


def _gradients(X, G, network, lam):
    """Eq. 10-11 from G = dl/ds for each image (K x n)."""
    n = X.shape[1]
    return {"W": G @ X.T / n + 2 * lam * network["W"],
            "b": G.sum(axis=1, keepdims=True) / n}


def BackwardPass(X, Y, P, network, lam):
    """The gradients of the cost (eq. 5) w.r.t. W and b; dl/ds = p - y for each image."""
    return _gradients(X, P - Y, network, lam)


def ComputeLossMultipleBCE(P, Y):
    """Eq. 14 averaged over the images: -(1/K) sum_k [(1 - y_k) log(1 - p_k) + y_k log p_k]."""
    terms = -(Y * _log(P) + (1 - Y) * _log(1 - P))
    return terms.mean(axis=0).mean()


def BackwardPassMultipleBCE(X, Y, P, network, lam):
    """The gradients of the multiple-BCE cost: dl/ds = (p - y) / K for each image."""
    return _gradients(X, (P - Y) / P.shape[0], network, lam)


def flip_indices(height=32, width=32, channels=3):
    """The text's inds_flip (as a flat array): X[inds] mirrors every row of each image."""
    grid = np.arange(channels * height * width).reshape(channels, height, width)
    return grid[:, :, ::-1].reshape(-1)


def flip_images(X, mask, inds=None):
    """A copy of X (d x n) whose columns j with mask[j] are mirrored left to right."""
    if inds is None:
        inds = flip_indices()
    columns = np.flatnonzero(mask)
    out = X.copy()
    out[:, columns] = X[:, columns][inds]
    return out


def MiniBatchGD(X, Y, GDparams, init_net, lam, rng=None):
    """Mini-batch gradient descent (eq. 8-9) on a copy of init_net: n_epochs passes of
    n // n_batch updates. GDparams: n_batch, eta, n_epochs; optionally shuffle (True: a new
    order each epoch from rng) and flip (False: mirror each image with probability 0.5)."""
    rng = np.random.default_rng(42) if rng is None else rng
    trained_net = copy.deepcopy(init_net)
    n = X.shape[1]
    n_batch, eta = GDparams["n_batch"], GDparams["eta"]
    shuffle, flip = GDparams.get("shuffle", True), GDparams.get("flip", False)
    inds_flip = flip_indices() if flip else None
    for _epoch in range(GDparams["n_epochs"]):
        order = rng.permutation(n) if shuffle else np.arange(n)
        flips = rng.random(n) < 0.5 if flip else None
        for j in range(n // n_batch):
            inds = order[j * n_batch:(j + 1) * n_batch]
            Xbatch, Ybatch = X[:, inds], Y[:, inds]
            if flip:
                Xbatch = flip_images(Xbatch, flips[j * n_batch:(j + 1) * n_batch], inds_flip)
            P = ApplyNetwork(Xbatch, trained_net)
            grads = BackwardPass(Xbatch, Ybatch, P, trained_net, lam)
            for name in ("W", "b"):
                trained_net[name] -= eta * grads[name]
    return trained_net


trainX, trainY, trainy = LoadBatch("data_batch_1")  # skipped: definitions-only loading
