"""Task 2a: pre-processing, the binary cross-entropy and the logistic regression model."""
import numpy as np


def pre_process_images(X: np.ndarray):
    """
    Args:
        X: images of shape [batch size, 784] in the range (0, 255)
    Returns:
        X: images of shape [batch size, 785] in the range (-1, 1), the bias trick applied
    """
    assert X.shape[1] == 784, f"X.shape[1]: {X.shape[1]}, should be 784"
    X = X.astype(np.float64) / 127.5 - 1
    # the bias trick: a column of ones after the pixels
    X = np.hstack([X, np.ones((X.shape[0], 1))])
    return X


def cross_entropy_loss(targets: np.ndarray, outputs: np.ndarray):
    """
    Args:
        targets: labels/targets of each image of shape: [batch size, 1]
        outputs: outputs of model of shape: [batch size, 1]
    Returns:
        Cross entropy error (float)
    """
    assert targets.shape == outputs.shape, \
        f"Targets shape: {targets.shape}, outputs: {outputs.shape}"
    # outputs that rounded to 0 or 1 would give log(0): raise them to the smallest normal number
    tiny = np.finfo(outputs.dtype).tiny
    log_p = np.log(np.maximum(outputs, tiny))
    log_1_minus_p = np.log(np.maximum(1 - outputs, tiny))
    return (-(targets * log_p + (1 - targets) * log_1_minus_p)).mean()


class BinaryModel:

    def __init__(self, l2_reg_lambda: float = 0.0):
        # Define number of input nodes
        self.I = 785
        self.l2_reg_lambda = l2_reg_lambda
        self.w = np.zeros((self.I, 1))
        self.grad = None

    def forward(self, X: np.ndarray) -> np.ndarray:
        """
        Args:
            X: images of shape [batch size, 785]
        Returns:
            y: output of model with shape [batch size, 1]
        """
        z = X @ self.w
        # sigmoid without overflow: exp of a non-positive number only
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1 / (1 + e), e / (1 + e))

    def backward(self, X: np.ndarray, outputs: np.ndarray, targets: np.ndarray) -> None:
        """
        Computes the gradient and saves it to the variable self.grad

        Args:
            X: images of shape [batch size, 785]
            outputs: outputs of model of shape: [batch size, 1]
            targets: labels/targets of each image of shape: [batch size, 1]
        """
        assert targets.shape == outputs.shape, \
            f"Output shape: {outputs.shape}, targets: {targets.shape}"
        batch_size = X.shape[0]
        self.grad = -(X.T @ (targets - outputs)) / batch_size + 2 * self.l2_reg_lambda * self.w
        assert self.grad.shape == self.w.shape, \
            f"Grad shape: {self.grad.shape}, w: {self.w.shape}"

    def zero_grad(self) -> None:
        self.grad = None


def gradient_approximation_test(model: BinaryModel, X: np.ndarray, Y: np.ndarray):
    """
    Numerical approximation for gradients. Should not be edited.
    Details about this test is given in the appendix in the assignment.
    """
    rng = np.random.default_rng(0)
    w_orig = rng.normal(loc=0, scale=1 / model.w.shape[0]**2, size=model.w.shape)
    epsilon = 1e-3
    for i in range(w_orig.shape[0]):
        model.w = w_orig.copy()
        orig = w_orig[i].copy()
        model.w[i] = orig + epsilon
        logits = model.forward(X)
        cost1 = cross_entropy_loss(Y, logits)
        model.w[i] = orig - epsilon
        logits = model.forward(X)
        cost2 = cross_entropy_loss(Y, logits)
        gradient_approximation = (cost1 - cost2) / (2 * epsilon)
        model.w[i] = orig
        # Actual gradient
        logits = model.forward(X)
        model.backward(X, logits, Y)
        difference = gradient_approximation - model.grad[i, 0]
        assert abs(difference) <= epsilon**2, \
            f"Calculated gradient is incorrect. Approximation: {gradient_approximation}, " \
            f"actual gradient: {model.grad[i, 0]}\n" \
            "If this test fails there could be errors in your cross entropy loss function, " \
            "forward function or backward function"


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    X_train = pre_process_images(rng.integers(0, 256, size=(100, 784)))
    Y_train = rng.integers(0, 2, size=(100, 1)).astype(np.float64)
    assert X_train.max() <= 1.0, "The images should be normalized to [-1, 1]"
    assert X_train.min() >= -1.0, "The images should be normalized to [-1, 1]"
    assert X_train.shape[1] == 785, "Expected X_train to have 785 elements per image"
    model = BinaryModel()
    logits = model.forward(X_train)
    np.testing.assert_almost_equal(logits.mean(), .5, err_msg="All outputs should be 0.5")
    for _ in range(2):
        gradient_approximation_test(model, X_train, Y_train)
        model.w = rng.standard_normal(model.w.shape)
