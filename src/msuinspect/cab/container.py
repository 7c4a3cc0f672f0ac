"""Open a file as cabinets the way a user expects: the cabinet at offset 0 (joined with its
multi-volume set when it has one), plus any further cabinets embedded in the file.

This is the entry point the CLI and the package layer use for top-level files; members that
are themselves cabinets are opened with :func:`msuinspect.cab.nested.open_nested`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from msuinspect.cab.cabinet import Cabinet
from msuinspect.cab.codecs.base import Codec
from msuinspect.cab.codecs.registry import default_codecs
from msuinspect.cab.layout import LAYER
from msuinspect.cab.search import find_cabinets
from msuinspect.cab.store import MemberStore
from msuinspect.cab.volumes import discover_set
from msuinspect.errors import CabFormatError, MsuInspectError, NotACabinetError
from msuinspect.findings import Finding, Severity
from msuinspect.limits import Limits
from msuinspect.source import ByteSource, FileSource


@dataclass(slots=True)
class CabinetFile:
    """Everything readable as cabinets in one file."""

    source: ByteSource
    #: each unit is a single cabinet or a multi-volume set
    units: list[MemberStore]
    #: the cabinets themselves (set members included), for layout reports
    cabinets: list[Cabinet]
    findings: list[Finding] = field(default_factory=list)


def _is_multivolume(cab: Cabinet) -> bool:
    h = cab.layout.header
    return h.has_prev or h.has_next or any(m.continued for m in cab.members)


def open_cabinet_file(
    path: ByteSource | str | os.PathLike[str],
    *,
    limits: Limits | None = None,
    codecs: Sequence[Codec] | None = None,
    follow_sets: bool = True,
    search: bool = True,
) -> CabinetFile:
    """Open ``path``: the cabinet at offset 0, its set, and embedded cabinets.

    Raises the error of offset 0 when no cabinet can be read at all.
    """
    source = path if isinstance(path, ByteSource) else FileSource(path)
    limits = limits or Limits()
    codec_list = list(codecs) if codecs is not None else default_codecs()
    budget = limits.budget(source.size)
    result = CabinetFile(source, [], [])
    first_error: MsuInspectError | None = None
    resume = 0
    try:
        cab = Cabinet.open(source, limits=limits, codecs=codec_list, budget=budget)
    except CabFormatError as exc:
        if not search:
            raise
        first_error = exc
    else:
        if follow_sets and _is_multivolume(cab):
            unit = discover_set(cab)
            result.units.append(unit)
            result.cabinets.extend(unit.cabinets)
        else:
            result.units.append(cab)
            result.cabinets.append(cab)
        sig = cab.layout.signature
        resume = max(cab.layout.end, sig.end if sig is not None and sig.within_file else 0)
    if search and resume < source.size:
        try:
            extra = find_cabinets(
                source, start=max(resume, 1), limits=limits, codecs=codec_list, budget=budget
            )
        except MsuInspectError as exc:
            result.findings.append(
                Finding(exc.code, Severity.WARNING, str(exc), LAYER, path=source.display_name)
            )
            extra = []
        for cab in extra:
            what = "the file does not start with a cabinet; " if first_error else ""
            result.findings.append(
                Finding(
                    "cab-embedded-cabinet",
                    Severity.WARNING,
                    f"{what}a cabinet is embedded here",
                    LAYER,
                    path=source.display_name,
                    offset=cab.layout.base,
                )
            )
            result.units.append(cab)
            result.cabinets.append(cab)
    if not result.units:
        if first_error is not None:
            raise first_error
        raise NotACabinetError("no cabinet found", offset=0, path=source.display_name)
    return result
