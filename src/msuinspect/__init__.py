"""msuinspect: offline inspection of Windows update packages (MSU and CAB files).

The package is layered; each layer imports only the ones below it:

* :mod:`msuinspect.cab` -- byte-exact Microsoft cabinet reading (containers);
* :mod:`msuinspect.report` and :mod:`msuinspect.cli` -- rendering and the command line.

Shared vocabulary lives in :mod:`msuinspect.errors` (one exception tree rooted in
:class:`MsuInspectError`), :mod:`msuinspect.findings` (problems reported as data) and
:mod:`msuinspect.limits` (caps against hostile input).
"""

from msuinspect.errors import MsuInspectError
from msuinspect.findings import Finding, Severity
from msuinspect.limits import Limits

__version__ = "0.1.0"

__all__ = ["Finding", "Limits", "MsuInspectError", "Severity", "__version__"]
