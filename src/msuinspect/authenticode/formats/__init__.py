"""The signed file formats, in the order they are tried (see :mod:`.base`).

The first format whose ``sniff`` accepts a file's first bytes reads it; the flat format
accepts anything, so it comes last. This tuple is the one place a format is registered.
"""

from __future__ import annotations

from msuinspect.authenticode.formats.base import (
    SIGNABLE_KINDS,
    FileKind,
    FormatView,
    SignatureBlob,
    SignedFormat,
)
from msuinspect.authenticode.formats.cab import CabinetFormat
from msuinspect.authenticode.formats.flat import FlatFormat
from msuinspect.authenticode.formats.pe import PEFormat
from msuinspect.authenticode.formats.pkcs7 import PKCS7Format

CABINET = CabinetFormat()
PE = PEFormat()
PKCS7 = PKCS7Format()
FLAT = FlatFormat()

#: every format, in the order they are tried
FORMATS: tuple[SignedFormat, ...] = (CABINET, PE, PKCS7, FLAT)


def detect(head: bytes) -> SignedFormat:
    """The format of the file that starts with ``head`` (at least its first 64 bytes)."""
    return next(f for f in FORMATS if f.sniff(head))


__all__ = [
    "CABINET",
    "FLAT",
    "FORMATS",
    "PE",
    "PKCS7",
    "SIGNABLE_KINDS",
    "FileKind",
    "FormatView",
    "SignatureBlob",
    "SignedFormat",
    "detect",
]
