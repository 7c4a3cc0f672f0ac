"""Cabinets and MSUs (``MSCF``): the signature in the header reserve, SPC_CAB_DATA digest.

A cabinet is an MSU when it holds ``WSUSSCAN.cab``. The cabinet layer's findings about the
signature area are the format's findings.
"""

from __future__ import annotations

from msuinspect.authenticode.cab_digest import cab_hash_plan
from msuinspect.authenticode.formats.base import LAYER, FileKind, FormatView, SignatureBlob
from msuinspect.authenticode.ranges import WHOLE_FILE, hash_file
from msuinspect.cab.cabinet import Cabinet
from msuinspect.errors import MsuInspectError
from msuinspect.findings import Finding, Severity
from msuinspect.limits import Limits
from msuinspect.source import ByteSource

MAGIC = b"MSCF"
#: the cabinet layer's findings that are about the signature area
_SIGNATURE_CODES = ("cab-data-after-signature", "cab-reserve-unhashed-nonzero")


class CabinetFormat:
    name = "cab"
    kind = FileKind.CAB

    def sniff(self, head: bytes) -> bool:
        return head[:4] == MAGIC

    def open(
        self,
        source: ByteSource,
        *,
        cabinet: Cabinet | None = None,
        limits: Limits,
        file_hashes: bool = True,
    ) -> FormatView:
        cab = cabinet if cabinet is not None else Cabinet.open(source, limits=limits)
        msu = any(m.name.casefold() == "wsusscan.cab" for m in cab.members)
        view = FormatView(
            FileKind.MSU if msu else FileKind.CAB,
            findings=[
                f
                for f in cab.findings
                if f.code.startswith("cab-signature") or f.code in _SIGNATURE_CODES
            ],
            plan=cab_hash_plan(cab.layout),
        )
        try:
            _read_blob(source, cab, view, file_hashes)
        except MsuInspectError as exc:
            view.error = exc
        return view


def _read_blob(source: ByteSource, cab: Cabinet, view: FormatView, file_hashes: bool) -> None:
    sig = cab.signature
    if sig is None:
        return
    blob: bytes | None
    if sig.within_file and not source.random_access:
        # a nested cabinet: reading the signature at its end costs a full decode, so one
        # pass hashes with the usual algorithms and keeps the signature bytes
        assert view.plan is not None
        with source.open() as f:
            res = hash_file(
                f,
                source.size,
                {"authenticode": (view.plan, ("sha1", "sha256"))},
                whole_file=("sha1", "sha256") if file_hashes else (),
                capture=(sig.offset, sig.end),
            )
        view.prehashed = (res.digests.get("authenticode", {}), res.digests.get(WHOLE_FILE, {}))
        blob = res.captured
    else:
        blob = cab.read_signature_blob()
    if blob is None:
        view.findings.append(
            Finding(
                "unparsed-signature",
                Severity.ERROR,
                "the signature area lies outside the file",
                LAYER,
                offset=sig.offset,
            )
        )
        return
    after: tuple[Finding, ...] = ()
    if sig.bytes_after > 0:
        after = (
            Finding(
                "signature-trailing-data",
                Severity.ERROR,
                f"{sig.bytes_after} bytes follow the signature at the end of the "
                "file; they are not covered by any signature",
                LAYER,
                offset=sig.end,
                evidence={"count": sig.bytes_after},
            ),
        )
    view.blobs.append(SignatureBlob(blob, sig.offset, after))
