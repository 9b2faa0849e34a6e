"""The error of a definition that cannot be used, raised from every floor of numpy_impl (the
splits refuse a dataset a split is not defined on; the run room's schema refuses bad values)."""


class ExperimentError(ValueError):
    """An experiment, file, flag or value that cannot be used; the message is one line that
    says which and why. Every CLI exits with code 2 on it (ExitCode.USAGE)."""
