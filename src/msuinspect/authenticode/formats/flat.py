"""Anything no other format recognises: hashed whole, reported as an unknown format."""

from __future__ import annotations

from msuinspect.authenticode.formats.base import LAYER, FileKind, FormatView
from msuinspect.cab.cabinet import Cabinet
from msuinspect.findings import Finding, Severity
from msuinspect.limits import Limits
from msuinspect.source import ByteSource


class FlatFormat:
    name = "flat"
    kind = FileKind.UNKNOWN

    def sniff(self, head: bytes) -> bool:
        return True

    def open(
        self,
        source: ByteSource,
        *,
        cabinet: Cabinet | None = None,
        limits: Limits,
        file_hashes: bool = True,
    ) -> FormatView:
        return FormatView(
            FileKind.UNKNOWN,
            findings=[
                Finding(
                    "unknown-format",
                    Severity.INFO,
                    "not a cabinet, PE, catalog or PKCS#7 file",
                    LAYER,
                    path=source.display_name,
                )
            ],
        )
