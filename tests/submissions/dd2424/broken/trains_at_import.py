trainX, trainY, trainy = LoadBatch("cifar-10-batches-py/data_batch_1")
mean_X = np.mean(trainX, axis=1).reshape(-1, 1)
std_X = np.std(trainX, axis=1).reshape(-1, 1)
trainX = normalize(trainX, mean_X, std_X)
trained_net = MiniBatchGD(trainX, trainY, {"n_batch": 100, "eta": 0.001, "n_epochs": 40},
                          {"W": 0.01 * np.random.randn(10, 3072), "b": np.zeros((10, 1))}, 0.0,
                          np.random.default_rng(42))
