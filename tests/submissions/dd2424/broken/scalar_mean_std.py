def normalize(X):
    return (X - np.mean(X)) / np.std(X)  # one mean and std for every dimension
