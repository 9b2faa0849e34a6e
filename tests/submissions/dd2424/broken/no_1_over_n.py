def BackwardPass(X, Y, P, network, lam):
    G = P - Y
    grad_W = G @ X.T + 2 * lam * network["W"]  # no 1/n
    grad_b = np.sum(G, axis=1, keepdims=True)
    return {"W": grad_W, "b": grad_b}
