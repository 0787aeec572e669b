"""The package's version: the same as the library's (``altogic_version()``)."""

__version__ = "1.1.0"
