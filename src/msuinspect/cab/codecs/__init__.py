"""Decoder backends for the data of one cabinet folder.

The cabinet layer parses every structure itself and hands a backend only the folder's
compression type and its CFDATA blocks (already bounds- and checksum-checked). Backends:

* ``libarchive`` (through libarchive-c): LZX, MSZIP and stored, the fast path (checksums
  verified in C);
* ``zlib`` (in-house): stored and MSZIP folders, the fallback for them;
* ``libmspack`` (through ctypes): LZX and Quantum, the fallback when libarchive is missing
  or fails;

LZX and Quantum backends receive a synthetic single-file cabinet built from the folder, so
their own (stricter or looser) cabinet parsers never decide what the members are.
"""

from __future__ import annotations

from msuinspect.cab.codecs.base import Codec
from msuinspect.cab.codecs.registry import default_codecs

__all__ = ["Codec", "default_codecs"]
