def flip_indices():
    return np.arange(3072)[::-1].reshape(-1, 1)  # turns the image upside down as well
