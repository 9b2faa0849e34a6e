def BackwardPass(X, Y, P, network, lam):
    n = X.shape[1]
    G = P - Y
    grad_W = G @ X.T / n + 2 * lam * network["W"]
    grad_b = np.sum(G, axis=1, keepdims=True) / n + 2 * lam * network["b"]  # b regularised
    return {"W": grad_W, "b": grad_b}


def ComputeCost(P, y, network, lam):
    return ComputeLoss(P, y) + lam * (np.sum(network["W"] ** 2) + np.sum(network["b"] ** 2))
