"""The :class:`Cabinet`: one parsed cabinet plus streaming access to its members' bytes.

Decoding is organised per folder (see :mod:`.decode`): a folder is decoded once from its
first CFDATA block and its output is cut into members by their ``uoffFolderStart`` and
``cbFile``.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from msuinspect.cab.codecs.base import Codec
from msuinspect.cab.codecs.registry import default_codecs
from msuinspect.cab.decode import (
    Decoder,
    FolderPlan,
    FolderSegment,
)
from msuinspect.cab.layout import LAYER, parse_layout
from msuinspect.cab.store import MemberStore
from msuinspect.cab.structs import CabFolder, CabLayout, CabMember, SignatureArea
from msuinspect.errors import CabinetSetError, LimitExceededError, MsuInspectError
from msuinspect.findings import Finding, Severity
from msuinspect.limits import Limits, OutputBudget
from msuinspect.source import ByteSource, FileSource

#: signature blobs larger than this are not read into memory
MAX_SIGNATURE_BLOB = 64 * 1024 * 1024

#: debug hook: when set, called with (source name, offset) each time :meth:`Cabinet.open`
#: parses a cabinet header, so tests can count the parses of one command (None: no cost)
on_open: Callable[[str, int], None] | None = None


@dataclass(frozen=True, slots=True)
class ParsedLayout:
    """What parsing a cabinet's header and CFFILE table gives: the layout, and the findings
    about it without a path (a cabinet opened from it names them after its source). The
    same bytes always give the same: :meth:`Cabinet.open` takes one to skip the parse."""

    layout: CabLayout
    findings: tuple[Finding, ...]


class Cabinet(MemberStore):
    """A parsed cabinet. Create with :meth:`open`; members are in ``members``."""

    def __init__(
        self,
        source: ByteSource,
        layout: CabLayout,
        findings: list[Finding],
        *,
        limits: Limits,
        codecs: Sequence[Codec],
        budget: OutputBudget,
        depth: int,
        parse_findings: Sequence[Finding] = (),
    ) -> None:
        self.source = source
        self.layout = layout
        self.findings = findings
        #: the parse's own findings, without a path (see :attr:`parsed`)
        self.parse_findings = tuple(parse_findings)
        self.limits = limits
        self.codecs = list(codecs)
        self.budget = budget
        self.depth = depth
        self.decoder = Decoder(self.codecs, limits, budget, self.findings)
        self.plans = self._plan_folders()

    def _plan_folders(self) -> list[FolderPlan]:
        """One plan per CFFOLDER; CFFOLDERs naming the same CFDATA chain share one plan, so
        a walk decodes that chain once. Shared or overlapping chains are reported."""
        layout = self.layout
        plans: list[FolderPlan] = []
        by_chain: dict[tuple[int, int, int], FolderPlan] = {}
        aliases: dict[int, list[int]] = {}
        for fo in layout.folders:
            key = (fo.coff_cab_start, fo.c_cf_data, fo.compression.raw)
            plan = by_chain.get(key)
            if plan is None or not fo.c_cf_data:
                plan = FolderPlan(
                    f"folder {fo.index}",
                    self.display_name,
                    (FolderSegment(self.source, layout, fo),),
                )
                by_chain.setdefault(key, plan)
            else:
                aliases.setdefault(plan.first.folder.index, []).append(fo.index)
            plans.append(plan)
        severity = Severity.WARNING if self.limits.allow_shared_data else Severity.ERROR
        if aliases:
            first, others = next(iter(aliases.items()))
            count = sum(len(v) for v in aliases.values())
            self.findings.append(
                Finding(
                    "cab-shared-data",
                    severity,
                    f"{count} CFFOLDER record(s) name the same CFDATA blocks as another "
                    f"(e.g. folder {others[0]} repeats folder {first}); each chain is decoded "
                    "once. Real Microsoft cabinets never share folder data",
                    LAYER,
                    path=self.display_name,
                    offset=layout.folders[others[0]].record_offset,
                    evidence={"folders": count},
                )
            )
        if self.source.random_access:
            clash = _overlapping_chains(self.source, layout, list(by_chain.values()))
            if clash is not None:
                a, b = clash
                self.findings.append(
                    Finding(
                        "cab-shared-data",
                        severity,
                        f"the CFDATA blocks of folder {b.index} start inside those of folder "
                        f"{a.index}; real Microsoft cabinets never share folder data",
                        LAYER,
                        path=self.display_name,
                        offset=b.record_offset,
                    )
                )
        return plans

    # ----------------------------------------------------------------- opening
    @classmethod
    def open(
        cls,
        source: ByteSource | str | os.PathLike[str],
        *,
        offset: int = 0,
        limits: Limits | None = None,
        codecs: Sequence[Codec] | None = None,
        budget: OutputBudget | None = None,
        depth: int = 0,
        parsed: ParsedLayout | None = None,
    ) -> Cabinet:
        """Parse the cabinet at ``offset`` of ``source`` (a path or a :class:`ByteSource`).

        ``parsed``, the :attr:`parsed` of a cabinet opened from the same bytes with the same
        limits, skips the parse (a batch meets the same nested cabinet again)."""
        if not isinstance(source, ByteSource):
            source = FileSource(source)
        limits = limits or Limits()
        if depth > limits.max_depth:
            raise LimitExceededError(
                f"cabinets nested deeper than {limits.max_depth} levels", path=source.display_name
            )
        if parsed is not None and (
            parsed.layout.base != offset or parsed.layout.source_size != source.size
        ):
            parsed = None  # not from these bytes: parse them
        raw: Sequence[Finding]
        if parsed is not None:
            layout, raw = parsed.layout, parsed.findings
        else:
            if on_open is not None:
                on_open(source.display_name, offset)
            found: list[Finding] = []
            try:
                with source.open() as f:
                    layout = parse_layout(
                        f,
                        source.size,
                        base=offset,
                        limits=limits,
                        findings=found,
                        probe_signature=source.random_access,
                    )
            except MsuInspectError as exc:
                raise exc.with_path(source.display_name) from None
            raw = found
        return cls(
            source,
            layout,
            [fi.with_path(source.display_name) for fi in raw],
            limits=limits,
            codecs=codecs if codecs is not None else default_codecs(),
            budget=budget or limits.budget(source.size),
            depth=depth,
            parse_findings=raw,
        )

    # --------------------------------------------------------------- accessors
    @property
    def parsed(self) -> ParsedLayout:
        """The layout and the parse's findings, for :meth:`open` of the same bytes."""
        return ParsedLayout(self.layout, self.parse_findings)

    @property
    def display_name(self) -> str:
        """The source's name, plus ``@offset`` for a cabinet embedded at a non-zero offset."""
        base = self.layout.base
        return self.source.display_name if base == 0 else f"{self.source.display_name}@{base}"

    @property
    def members(self) -> tuple[CabMember, ...]:
        return self.layout.members

    @property
    def folders(self) -> tuple[CabFolder, ...]:
        return self.layout.folders

    @property
    def signature(self) -> SignatureArea | None:
        return self.layout.signature

    def read_signature_blob(self) -> bytes | None:
        """The bytes of the declared signature area, or None when there is none or it lies
        outside the file."""
        sig = self.layout.signature
        if sig is None or not sig.within_file:
            return None
        if sig.size > MAX_SIGNATURE_BLOB:
            raise LimitExceededError(
                f"signature area of {sig.size} bytes is larger than {MAX_SIGNATURE_BLOB}",
                offset=sig.offset,
                path=self.display_name,
            )
        with self.source.open() as f:
            f.seek(sig.offset)
            return f.read(sig.size)

    # ---------------------------------------------------------------- decoding
    def plan_of(self, member: CabMember) -> FolderPlan:
        if member.continued:
            raise CabinetSetError(
                f"member {member.name!r} continues in another cabinet of a multi-volume set; "
                "open the whole set",
                offset=member.record_offset,
                path=self.display_name,
            )
        return self.plans[member.folder_index]


_BLOCK_HEADER = struct.Struct("<IHH")


def _overlapping_chains(
    source: ByteSource, layout: CabLayout, plans: Sequence[FolderPlan]
) -> tuple[CabFolder, CabFolder] | None:
    """The first pair of folders whose CFDATA chains overlap, reading only block headers.

    Chains are walked in order of their start; as long as no two overlap, each block lies
    after every block read before it, so one comparison per block suffices and at most one
    header per 8 bytes of the file is read. The last chain to start is not walked: nothing
    starts after it (a cabinet of one folder reads nothing).
    """
    folders = sorted((p.first.folder for p in plans), key=lambda fo: fo.coff_cab_start)
    if len(folders) < 2:
        return None
    hdr_len = 8 + layout.header.cb_cf_data
    size = layout.source_size
    reach = -1
    owner: CabFolder | None = None
    with source.open() as f:
        for i, fo in enumerate(folders):
            pos = layout.base + fo.coff_cab_start
            if owner is not None and pos < reach:
                return owner, fo
            if i == len(folders) - 1:
                break
            for _ in range(fo.c_cf_data):
                if pos + hdr_len > size:
                    break
                f.seek(pos)
                head = f.read(hdr_len)
                if len(head) < hdr_len:
                    break
                _csum, cb_data, _cb_uncomp = _BLOCK_HEADER.unpack_from(head)
                pos += hdr_len + cb_data
            if pos > reach:
                reach, owner = pos, fo
    return None
