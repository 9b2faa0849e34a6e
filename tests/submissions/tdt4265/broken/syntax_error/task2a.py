from numpy_impl import tdt4265 as ref

print "task 2a"  # Python 2 syntax: dropped, the rest is loaded

pre_process_images = ref.pre_process_images
cross_entropy_loss = ref.binary_cross_entropy_loss


class BinaryModel(ref.BinaryModel):
    pass
