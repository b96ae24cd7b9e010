"""podiokit's version: the build (hatch), `podiokit.__version__` and the User-Agent read it."""

__version__ = "0.1.0"
