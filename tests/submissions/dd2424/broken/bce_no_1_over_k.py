def ComputeLossMultipleBCE(P, Y):
    terms = (1 - Y) * np.log(1 - P) + Y * np.log(P)
    return np.mean(-np.sum(terms, axis=0))  # eq. 14's 1/K left out


def BackwardPassMultipleBCE(X, Y, P, network, lam):
    n = X.shape[1]
    G = P - Y  # and here
    grad_W = G @ X.T / n + 2 * lam * network["W"]
    grad_b = np.sum(G, axis=1, keepdims=True) / n
    return {"W": grad_W, "b": grad_b}
