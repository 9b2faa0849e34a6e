from numpy_impl import tdt4265 as ref

cross_entropy_loss = ref.cross_entropy_loss
one_hot_encode = ref.one_hot_encode


class SoftmaxModel(ref.SoftmaxModel):
    def backward(self, X, outputs, targets):
        N = X.shape[0]
        self.grad = -(X.T @ (targets - outputs)) / N + 2 * self.l2_reg_lambda * self.w / N
