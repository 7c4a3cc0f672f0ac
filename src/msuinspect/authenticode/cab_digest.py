"""The bytes an Authenticode signature on a cabinet covers (SPC_CAB_DATA).

For a signed cabinet (the 20-byte reserve with marker 0x00100000): bytes 0-3, 8-33 and
56-59 of the header, then everything from offset 60 (the set strings, the CFFOLDER records,
the CFFILE table and the data) up to the signature offset. Not covered: reserved1 (4-7),
iCabinet (34-35), the reserve sizes (36-39), the marker, signature offset and size and four
more reserve bytes (40-55), and the signature itself. For an unsigned cabinet: bytes 0-3 and
8 to the end. (domain.md section 7.1; osslsigncode ``cab_digest_calc``.)
"""

from __future__ import annotations

from msuinspect.authenticode.ranges import HashPlan
from msuinspect.cab.structs import CabLayout


def cab_hash_plan(layout: CabLayout) -> HashPlan:
    """The hash plan of the cabinet starting at offset 0 of its file."""
    sig = layout.signature
    if sig is None:
        return HashPlan(((0, 4), (8, layout.source_size)))
    end = min(sig.offset, layout.source_size)
    return HashPlan(((0, 4), (8, 34), (56, max(end, 56))))
