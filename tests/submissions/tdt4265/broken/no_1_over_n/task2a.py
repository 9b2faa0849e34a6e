from numpy_impl import tdt4265 as ref

pre_process_images = ref.pre_process_images
cross_entropy_loss = ref.binary_cross_entropy_loss


class BinaryModel(ref.BinaryModel):
    def backward(self, X, outputs, targets):
        self.grad = -(X.T @ (targets - outputs))  # BROKEN: no 1/N
