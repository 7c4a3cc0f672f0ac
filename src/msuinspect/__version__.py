"""The version of msuinspect."""

__version__ = "0.1.0"
