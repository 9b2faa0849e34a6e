"""The same assignment with one image per ROW, as many students write it: X is n x d, Y n x K,
W d x K and b 1 x K (the text's layout transposed)."""
import pickle

import numpy as np


def LoadBatch(filename):
    with open(filename, "rb") as fo:
        batch = pickle.load(fo, encoding="bytes")
    X = batch[b"data"].astype(np.float64) / 255
    y = np.array(batch[b"labels"])
    return X, np.eye(10)[y], y


def normalize(X, mean_X, std_X):
    return (X - mean_X) / std_X


def ApplyNetwork(X, network):
    s = X @ network["W"] + network["b"]
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def ComputeLoss(P, y):
    return -np.mean(np.log(P[np.arange(len(y)), y]))


def ComputeCost(P, y, network, lam):
    return ComputeLoss(P, y) + lam * np.sum(network["W"] ** 2)


def ComputeAccuracy(P, y):
    return np.mean(P.argmax(axis=1) == y)


def BackwardPass(X, Y, P, network, lam):
    n = X.shape[0]
    G = P - Y
    return {"W": X.T @ G / n + 2 * lam * network["W"], "b": G.sum(axis=0, keepdims=True) / n}


def MiniBatchGD(X, Y, GDparams, init_net, lam, rng):
    net = {k: v.copy() for k, v in init_net.items()}
    n, n_batch = X.shape[0], GDparams["n_batch"]
    for _epoch in range(GDparams["n_epochs"]):
        order = rng.permutation(n) if GDparams.get("shuffle", True) else np.arange(n)
        for j in range(n // n_batch):
            inds = order[j * n_batch:(j + 1) * n_batch]
            P = ApplyNetwork(X[inds], net)
            grads = BackwardPass(X[inds], Y[inds], P, net, lam)
            net["W"] = net["W"] - GDparams["eta"] * grads["W"]
            net["b"] = net["b"] - GDparams["eta"] * grads["b"]
    return net


def flip_indices():
    return np.arange(3072).reshape(3, 32, 32)[:, :, ::-1].reshape(-1)


def ApplyNetworkSigmoid(X, network):
    return 1 / (1 + np.exp(-(X @ network["W"] + network["b"])))


def ComputeLossMultipleBCE(P, Y):
    return -np.mean((1 - Y) * np.log(1 - P) + Y * np.log(P))


def BackwardPassMultipleBCE(X, Y, P, network, lam):
    n, K = X.shape[0], P.shape[1]
    G = (P - Y) / K
    return {"W": X.T @ G / n + 2 * lam * network["W"], "b": G.sum(axis=0, keepdims=True) / n}
