def BackwardPass(X, Y, P, network, lam):
    n = X.shape[1]
    G = P - Y
    grad_W = (G @ X.T + 2 * lam * network["W"]) / n  # the penalty is not averaged
    grad_b = np.sum(G, axis=1, keepdims=True) / n
    return {"W": grad_W, "b": grad_b}
