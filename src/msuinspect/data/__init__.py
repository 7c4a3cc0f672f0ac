"""Package data: trust anchors and other files that are not code."""

from pathlib import Path as _Path


def read_data(name: str) -> bytes:
    """The bytes of the data file ``name`` (a '/'-separated path below this package): from
    the file system when the package lies there, as installed packages do, else through
    :mod:`importlib.resources` (a zip import), which costs some milliseconds to load."""
    here = _Path(__file__).parent
    path = here.joinpath(*name.split("/"))
    if path.is_file():
        return path.read_bytes()
    from importlib import resources

    return resources.files(__name__).joinpath(name).read_bytes()
