"""A DD2424 assignment 1 as a student writes it: plain NumPy, one image per column (the text's
layout), the text's function names, top-level code that loads CIFAR-10 and trains. The broken
hand-ins (broken/NAME.py) are this file with the definitions in NAME.py laid over it."""
import pickle

import numpy as np


def LoadBatch(filename):
    with open(filename, "rb") as fo:
        batch = pickle.load(fo, encoding="bytes")
    X = batch[b"data"].astype(np.float64).T / 255
    y = np.array(batch[b"labels"])
    Y = np.zeros((10, X.shape[1]))
    Y[y, np.arange(X.shape[1])] = 1
    return X, Y, y


def normalize(X, mean_X, std_X):
    return (X - mean_X) / std_X


def ApplyNetwork(X, network):
    s = network["W"] @ X + network["b"]
    s = s - np.max(s, axis=0, keepdims=True)
    e = np.exp(s)
    return e / np.sum(e, axis=0, keepdims=True)


def ComputeLoss(P, y):
    n = P.shape[1]
    return np.mean(-np.log(P[y, np.arange(n)]))


def ComputeCost(P, y, network, lam):
    return ComputeLoss(P, y) + lam * np.sum(network["W"] ** 2)


def ComputeAccuracy(P, y):
    return np.mean(np.argmax(P, axis=0) == y)


def BackwardPass(X, Y, P, network, lam):
    n = X.shape[1]
    G = P - Y
    grad_W = G @ X.T / n + 2 * lam * network["W"]
    grad_b = np.sum(G, axis=1, keepdims=True) / n
    return {"W": grad_W, "b": grad_b}


def MiniBatchGD(X, Y, GDparams, init_net, lam, rng):
    trained_net = {k: v.copy() for k, v in init_net.items()}
    n = X.shape[1]
    n_batch, eta = GDparams["n_batch"], GDparams["eta"]
    for _epoch in range(GDparams["n_epochs"]):
        order = rng.permutation(n) if GDparams.get("shuffle", True) else np.arange(n)
        for j in range(n // n_batch):
            inds = order[j * n_batch:(j + 1) * n_batch]
            Xbatch, Ybatch = X[:, inds], Y[:, inds]
            P = ApplyNetwork(Xbatch, trained_net)
            grads = BackwardPass(Xbatch, Ybatch, P, trained_net, lam)
            trained_net["W"] = trained_net["W"] - eta * grads["W"]
            trained_net["b"] = trained_net["b"] - eta * grads["b"]
    return trained_net


def flip_indices():
    aa = np.int32(np.arange(32)).reshape((32, 1))
    bb = np.int32(np.arange(31, -1, -1)).reshape((32, 1))
    vv = np.tile(32 * aa, (1, 32))
    ind_flip = vv.reshape((32 * 32, 1)) + np.tile(bb, (32, 1))
    inds_flip = np.vstack((ind_flip, 1024 + ind_flip))
    return np.vstack((inds_flip, 2048 + ind_flip))


def ApplyNetworkSigmoid(X, network):
    return 1 / (1 + np.exp(-(network["W"] @ X + network["b"])))


def ComputeLossMultipleBCE(P, Y):
    K = P.shape[0]
    terms = (1 - Y) * np.log(1 - P) + Y * np.log(P)
    return np.mean(-np.sum(terms, axis=0) / K)


def BackwardPassMultipleBCE(X, Y, P, network, lam):
    n, K = X.shape[1], P.shape[0]
    G = (P - Y) / K
    grad_W = G @ X.T / n + 2 * lam * network["W"]
    grad_b = np.sum(G, axis=1, keepdims=True) / n
    return {"W": grad_W, "b": grad_b}


if __name__ == "__main__":
    trainX, trainY, trainy = LoadBatch("data_batch_1")
    mean_X = np.mean(trainX, axis=1).reshape(-1, 1)
    std_X = np.std(trainX, axis=1).reshape(-1, 1)
    trainX = normalize(trainX, mean_X, std_X)
    rng = np.random.default_rng(42)
    init_net = {"W": 0.01 * rng.standard_normal((10, 3072)), "b": np.zeros((10, 1))}
    GDparams = {"n_batch": 100, "eta": 0.001, "n_epochs": 40}
    trained_net = MiniBatchGD(trainX, trainY, GDparams, init_net, 0.0, rng)
