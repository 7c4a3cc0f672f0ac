"""Containers layer: byte-exact reading of Microsoft cabinets ([MS-CAB]); MSU files are
cabinets too.

Entry point: :meth:`Cabinet.open`. Structures are in :mod:`.structs`, parsing in
:mod:`.layout`, data blocks in :mod:`.cfdata`, decoders in :mod:`.codecs`, nested cabinets in
:mod:`.nested`, safe extraction in :mod:`.extract`.
"""

from msuinspect.cab.cabinet import Cabinet
from msuinspect.cab.decode import DecodeRecord, FolderPlan, MemberSink
from msuinspect.cab.nested import MemberSource, looks_like_cabinet, open_nested
from msuinspect.cab.store import MemberOutcome, MemberStore
from msuinspect.cab.structs import (
    CabFolder,
    CabHeader,
    CabLayout,
    CabMember,
    Compression,
    CompressionKind,
    SignatureArea,
)

__all__ = [
    "CabFolder",
    "CabHeader",
    "CabLayout",
    "CabMember",
    "Cabinet",
    "Compression",
    "CompressionKind",
    "DecodeRecord",
    "FolderPlan",
    "MemberOutcome",
    "MemberSink",
    "MemberSource",
    "MemberStore",
    "SignatureArea",
    "looks_like_cabinet",
    "open_nested",
]
