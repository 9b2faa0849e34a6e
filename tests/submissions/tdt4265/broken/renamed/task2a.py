"""pre_process_images under a name of the student's own (found with --map)."""
from numpy_impl import tdt4265 as ref

prepare_images = ref.pre_process_images
cross_entropy_loss = ref.binary_cross_entropy_loss


class BinaryModel(ref.BinaryModel):
    pass
