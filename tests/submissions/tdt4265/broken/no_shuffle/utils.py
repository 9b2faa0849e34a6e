from numpy_impl import tdt4265 as ref


def batch_loader(X, Y, batch_size, shuffle=False, drop_last=True, rng=None):
    return ref.batch_loader(X, Y, batch_size, False, drop_last)  # BROKEN: never shuffles
