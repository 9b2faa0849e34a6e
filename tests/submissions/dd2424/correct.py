"""The project's NumPy implementation behind the DD2424 text's function names, one file."""
import dataclasses

from numpy_impl import dd2424 as ref

LoadBatch = ref.load_batch
normalize = ref.normalize
ApplyNetwork = ref.apply_network
ComputeLoss = ref.compute_loss
ComputeCost = ref.compute_cost
ComputeAccuracy = ref.compute_accuracy
ComputeLossMultipleBCE = ref.compute_loss_multiple_bce
BackwardPassMultipleBCE = ref.backward_pass_multiple_bce
flip_images = ref.flip_images


def BackwardPass(X, Y, P, network, lam):
    return ref.backward_pass(X, Y, P, network, lam)


def MiniBatchGD(X, Y, GDparams, init_net, lam, rng=None):
    # the reference's loop, calling this file's BackwardPass by name for every batch
    objective = dataclasses.replace(ref.OBJECTIVES["softmax"],
                                    backward=lambda *a: BackwardPass(*a))
    rng = ref.make_rng(42) if rng is None else rng
    return ref.mini_batch_gd(X, Y, GDparams, init_net, lam, rng, loss=objective)[0]


trainX, trainY, trainy = LoadBatch("data_batch_1")  # skipped: definitions-only loading
