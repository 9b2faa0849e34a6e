"""The project's NumPy implementation behind the starter code's task2a API."""
from numpy_impl import tdt4265 as ref

pre_process_images = ref.pre_process_images
cross_entropy_loss = ref.binary_cross_entropy_loss


class BinaryModel(ref.BinaryModel):
    pass
