"""Finding cabinets that do not start at offset 0 (self-extractors, concatenations, and the
signature area of a signed cabinet followed by more data).

A candidate is every ``MSCF`` whose header parses completely (folders and files); like
cabextract, reserved fields are not required to be zero. After a cabinet is found, the
search resumes at its declared end. The number of candidates tried and cabinets found are
capped, so a file full of ``MSCF`` cannot make the search slow.
"""

from __future__ import annotations

from msuinspect.cab.cabinet import Cabinet
from msuinspect.cab.codecs.base import Codec
from msuinspect.cab.structs import SIGNATURE
from msuinspect.errors import CabFormatError, LimitExceededError
from msuinspect.limits import Limits, OutputBudget
from msuinspect.source import ByteSource

MAX_CANDIDATES = 4096
MAX_FOUND = 256
_CHUNK = 1 << 20


def find_cabinets(
    source: ByteSource,
    *,
    start: int = 0,
    limits: Limits,
    codecs: list[Codec],
    budget: OutputBudget,
) -> list[Cabinet]:
    """Cabinets found in ``source`` at or after ``start``, in file order."""
    found: list[Cabinet] = []
    tried = 0
    pos = start
    size = source.size
    with source.open() as f:
        while pos + 4 <= size:
            f.seek(pos)
            chunk = f.read(_CHUNK + 3)
            if len(chunk) < 4:
                break
            hit = chunk.find(SIGNATURE)
            if hit < 0:
                pos += max(1, len(chunk) - 3)
                continue
            cand = pos + hit
            tried += 1
            if tried > MAX_CANDIDATES:
                raise LimitExceededError(
                    f"more than {MAX_CANDIDATES} 'MSCF' candidates while searching for "
                    "embedded cabinets",
                    path=source.display_name,
                )
            try:
                cab = Cabinet.open(source, offset=cand, limits=limits, codecs=codecs, budget=budget)
            except (CabFormatError, LimitExceededError):
                pos = cand + 1
                continue
            found.append(cab)
            if len(found) >= MAX_FOUND:
                break
            pos = max(cand + 1, min(cab.layout.end, size))
    return found
