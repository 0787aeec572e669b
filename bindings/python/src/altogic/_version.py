"""The package's version: the same as the library's (``altogic_version()``).

Written by scripts/version.sh from Cargo.toml ([workspace.package] version); do not edit.
"""

__version__ = "1.3.0"
