"""The project's test support: fakes written in the real formats (``tests.fakes``)."""
