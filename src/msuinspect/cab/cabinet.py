"""The :class:`Cabinet`: one parsed cabinet plus streaming access to its members' bytes.

Decoding is organised per folder (see :mod:`.decode`): a folder is decoded once from its
first CFDATA block and its output is cut into members by their ``uoffFolderStart`` and
``cbFile``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from msuinspect.cab.codecs.base import Codec, default_codecs
from msuinspect.cab.decode import (
    Decoder,
    FolderPlan,
    FolderSegment,
)
from msuinspect.cab.layout import parse_layout
from msuinspect.cab.store import MemberStore
from msuinspect.cab.structs import CabFolder, CabLayout, CabMember, SignatureArea
from msuinspect.errors import CabinetSetError, LimitExceededError, MsuInspectError
from msuinspect.findings import Finding
from msuinspect.limits import Limits, OutputBudget
from msuinspect.source import ByteSource, FileSource

#: signature blobs larger than this are not read into memory
MAX_SIGNATURE_BLOB = 64 * 1024 * 1024


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
    ) -> None:
        self.source = source
        self.layout = layout
        self.findings = findings
        self.limits = limits
        self.codecs = list(codecs)
        self.budget = budget
        self.depth = depth
        self.decoder = Decoder(self.codecs, limits, budget, self.findings)
        self.plans = [
            FolderPlan(
                f"folder {fo.index}", self.display_name, (FolderSegment(source, layout, fo),)
            )
            for fo in layout.folders
        ]

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
    ) -> Cabinet:
        """Parse the cabinet at ``offset`` of ``source`` (a path or a :class:`ByteSource`)."""
        if not isinstance(source, ByteSource):
            source = FileSource(source)
        limits = limits or Limits()
        if depth > limits.max_depth:
            raise LimitExceededError(
                f"cabinets nested deeper than {limits.max_depth} levels", path=source.display_name
            )
        findings: list[Finding] = []
        try:
            with source.open() as f:
                layout = parse_layout(
                    f,
                    source.size,
                    base=offset,
                    limits=limits,
                    findings=findings,
                    probe_signature=source.random_access,
                )
        except MsuInspectError as exc:
            raise exc.with_path(source.display_name) from None
        findings = [fi.with_path(source.display_name) for fi in findings]
        return cls(
            source,
            layout,
            findings,
            limits=limits,
            codecs=codecs if codecs is not None else default_codecs(),
            budget=budget or OutputBudget(limits.max_total_output),
            depth=depth,
        )

    # --------------------------------------------------------------- accessors
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
