from numpy_impl import tdt4265 as ref

pre_process_images = ref.pre_process_images


def cross_entropy_loss(targets, outputs):
    while True:  # BROKEN: never returns
        pass


class BinaryModel(ref.BinaryModel):
    pass
