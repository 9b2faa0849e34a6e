def ApplyNetwork(X, network):
    e = np.exp(network["W"] @ X + network["b"])  # no shift by the maximum
    return e / np.sum(e, axis=0, keepdims=True)
