"""Task 3a: the categorical cross-entropy, one-hot encoding and the softmax regression model."""
import numpy as np


def cross_entropy_loss(targets: np.ndarray, outputs: np.ndarray):
    """
    Args:
        targets: labels/targets of each image of shape: [batch size, num_classes]
        outputs: outputs of model of shape: [batch size, num_classes]
    Returns:
        Cross entropy error (float)
    """
    assert targets.shape == outputs.shape, \
        f"Targets shape: {targets.shape}, outputs: {outputs.shape}"
    # a probability that underflowed to 0 would give log(0): raise it to the smallest normal
    log_p = np.log(np.maximum(outputs, np.finfo(outputs.dtype).tiny))
    return -(targets * log_p).sum(axis=1).mean()


class SoftmaxModel:

    def __init__(self, l2_reg_lambda: float):
        # Define number of input nodes
        self.I = 785
        # Define number of output nodes
        self.num_outputs = 10
        self.w = np.zeros((self.I, self.num_outputs))
        self.grad = None
        self.l2_reg_lambda = l2_reg_lambda

    def forward(self, X: np.ndarray) -> np.ndarray:
        """
        Args:
            X: images of shape [batch size, 785]
        Returns:
            y: output of model with shape [batch size, num_outputs]
        """
        z = X @ self.w
        # subtract each row's maximum first, so exp never overflows
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def backward(self, X: np.ndarray, outputs: np.ndarray, targets: np.ndarray) -> None:
        """
        Computes the gradient and saves it to the variable self.grad

        Args:
            X: images of shape [batch size, 785]
            outputs: outputs of model of shape: [batch size, num_outputs]
            targets: labels/targets of each image of shape: [batch size, num_classes]
        """
        assert targets.shape == outputs.shape, \
            f"Output shape: {outputs.shape}, targets: {targets.shape}"
        batch_size = X.shape[0]
        # the gradient of the mean loss, plus that of lambda * ||w||^2 (task 4a)
        self.grad = -(X.T @ (targets - outputs)) / batch_size + 2 * self.l2_reg_lambda * self.w
        assert self.grad.shape == self.w.shape, \
            f"Grad shape: {self.grad.shape}, w: {self.w.shape}"

    def zero_grad(self) -> None:
        self.grad = None


def one_hot_encode(Y: np.ndarray, num_classes: int):
    """
    Args:
        Y: shape [Num examples, 1]
        num_classes: Number of classes to use for one-hot encoding
    Returns:
        Y: shape [Num examples, num classes]
    """
    assert Y.ndim == 2 and Y.shape[1] == 1, f"Y.shape: {Y.shape}, should be [N, 1]"
    return np.eye(num_classes)[Y[:, 0].astype(int)]


def gradient_approximation_test(model: SoftmaxModel, X: np.ndarray, Y: np.ndarray):
    """
    Numerical approximation for gradients. Should not be edited.
    Details about this test is given in the appendix in the assignment.
    """
    epsilon = 1e-3
    for i in range(model.w.shape[0]):
        for j in range(model.w.shape[1]):
            orig = model.w[i, j].copy()
            model.w[i, j] = orig + epsilon
            logits = model.forward(X)
            cost1 = cross_entropy_loss(Y, logits)
            model.w[i, j] = orig - epsilon
            logits = model.forward(X)
            cost2 = cross_entropy_loss(Y, logits)
            gradient_approximation = (cost1 - cost2) / (2 * epsilon)
            model.w[i, j] = orig
            # Actual gradient
            logits = model.forward(X)
            model.backward(X, logits, Y)
            difference = gradient_approximation - model.grad[i, j]
            assert abs(difference) <= epsilon**2, \
                f"Calculated gradient is incorrect. Approximation: {gradient_approximation}, " \
                f"actual gradient: {model.grad[i, j]}\n" \
                "If this test fails there could be errors in your cross entropy loss function, " \
                "forward function or backward function"


if __name__ == "__main__":
    from task2a import pre_process_images

    # Simple test on one-hot encoding
    Y = np.zeros((1, 1), dtype=int)
    Y[0, 0] = 3
    Y = one_hot_encode(Y, 10)
    assert Y[0, 3] == 1 and Y.sum() == 1, \
        f"Expected the vector to be [0,0,0,1,0,0,0,0,0,0], but got {Y}"

    rng = np.random.default_rng(0)
    X_train = pre_process_images(rng.integers(0, 256, size=(100, 784)))
    Y_train = one_hot_encode(rng.integers(0, 10, size=(100, 1)), 10)
    assert X_train.shape[1] == 785, \
        f"Expected X_train to have 785 elements per image. Shape was: {X_train.shape}"

    model = SoftmaxModel(l2_reg_lambda=0.0)
    logits = model.forward(X_train)
    np.testing.assert_almost_equal(
        logits.mean(), 1 / 10, err_msg="Since the weights are all 0's, the softmax activation "
        "should be 1/10")

    # Gradient approximation check for 100 images
    X_train = X_train[:100]
    Y_train = Y_train[:100]
    for _ in range(2):
        gradient_approximation_test(model, X_train, Y_train)
        model.w = rng.standard_normal(model.w.shape)
