"""Parse a cabinet's structure (CFHEADER, reserve, set strings, CFFOLDER, CFFILE) by offsets.

Nothing here decompresses. Parsing follows [MS-CAB] exactly: the CFFOLDER array follows the
header, the CFFILE table is read at ``coffFiles`` (never assumed adjacent), and each folder's
data at its ``coffCabStart``. Deviations that do not stop parsing become findings; anything
that does raises a :class:`~msuinspect.errors.CabFormatError` with the failing offset.
"""

from __future__ import annotations

import itertools
import operator
import struct
from typing import BinaryIO, NamedTuple

from msuinspect.cab import names
from msuinspect.cab.structs import (
    AUTHENTICODE_MARKER,
    AUTHENTICODE_RESERVE_SIZE,
    CFHEADER_SIZE,
    FLAG_NEXT_CABINET,
    FLAG_PREV_CABINET,
    FLAG_RESERVE_PRESENT,
    IFOLD_CONTINUED_FROM_PREV,
    SIGNATURE,
    CabFolder,
    CabHeader,
    CabLayout,
    CabMember,
    Compression,
    SignatureArea,
)
from msuinspect.errors import (
    CabFormatError,
    LimitExceededError,
    NotACabinetError,
    TruncatedError,
)
from msuinspect.findings import Finding, FindingSink, Severity
from msuinspect.limits import Limits

LAYER = "cab"
_HDR = struct.Struct("<4sIIIIIBBHHHHH")
_FOLDER = struct.Struct("<IHH")
_FILE = struct.Struct("<IIHHHH")
#: [MS-CAB]: cabinet-set strings are at most 255 bytes plus NUL
_MAX_SET_STRING = 255


class _Reader:
    """Small-read helper that reports the offset of any short read."""

    def __init__(self, f: BinaryIO, size: int) -> None:
        self.f = f
        self.size = size

    def read_at(self, offset: int, n: int, what: str) -> bytes:
        if offset < 0 or offset + n > self.size:
            raise TruncatedError(f"file ends inside {what}", offset=offset)
        self.f.seek(offset)
        data = self.f.read(n)
        if len(data) != n:
            raise TruncatedError(f"file ends inside {what}", offset=offset)
        return data

    def read_cstring(self, offset: int, max_len: int, what: str) -> bytes:
        """A NUL-terminated string of at most ``max_len`` bytes before the NUL."""
        avail = min(max_len + 1, self.size - offset)
        if avail <= 0:
            raise TruncatedError(f"file ends before {what}", offset=offset)
        self.f.seek(offset)
        data = self.f.read(avail)
        nul = data.find(b"\x00")
        if nul < 0:
            if len(data) < max_len + 1:
                raise TruncatedError(f"file ends inside {what}", offset=offset)
            raise LimitExceededError(
                f"{what} is longer than {max_len} bytes (no terminating NUL)", offset=offset
            )
        return data[:nul]


class _Fixed(NamedTuple):
    """The fixed fields of CFHEADER (after the ``MSCF`` signature)."""

    reserved1: int
    cb_cabinet: int
    reserved2: int
    coff_files: int
    reserved3: int
    vminor: int
    vmajor: int
    c_folders: int
    c_files: int
    flags: int
    set_id: int
    i_cabinet: int


class _Reserve(NamedTuple):
    """The optional reserve sizes and the header reserve (zeros when absent)."""

    cb_cf_header: int
    cb_cf_folder: int
    cb_cf_data: int
    offset: int | None
    header: bytes


def parse_layout(
    f: BinaryIO,
    source_size: int,
    *,
    base: int = 0,
    limits: Limits | None = None,
    findings: list[Finding] | None = None,
    probe_signature: bool = True,
) -> CabLayout:
    """Parse the cabinet starting at absolute offset ``base`` of ``f``.

    ``findings`` collects structural anomalies that do not prevent reading.
    """
    limits = limits or Limits()
    out = findings if findings is not None else []
    r = _Reader(f, source_size)

    notes = FindingSink(LAYER, into=out)

    fx = _read_fixed(r, base, source_size, limits, notes)
    reserve, pos = _read_reserve(r, base + CFHEADER_SIZE, fx.flags)
    strings_offset = pos
    set_strings, folders_offset = _read_set_strings(r, pos, fx.flags)
    folders, folders_end = _read_folders(r, folders_offset, fx.c_folders, reserve.cb_cf_folder)
    files_start = base + fx.coff_files
    _check_coff_files(base, fx.coff_files, files_start, folders_end, notes)
    members, files_end = _read_members(r, files_start, fx, limits)

    header = CabHeader(
        offset=base,
        reserved1=fx.reserved1,
        cb_cabinet=fx.cb_cabinet,
        reserved2=fx.reserved2,
        coff_files=fx.coff_files,
        reserved3=fx.reserved3,
        version_minor=fx.vminor,
        version_major=fx.vmajor,
        c_folders=fx.c_folders,
        c_files=fx.c_files,
        flags=fx.flags,
        set_id=fx.set_id,
        i_cabinet=fx.i_cabinet,
        cb_cf_header=reserve.cb_cf_header,
        cb_cf_folder=reserve.cb_cf_folder,
        cb_cf_data=reserve.cb_cf_data,
        header_reserve_offset=reserve.offset,
        header_reserve=reserve.header,
        prev_cabinet=set_strings[0],
        prev_disk=set_strings[1],
        next_cabinet=set_strings[2],
        next_disk=set_strings[3],
        strings_offset=strings_offset,
        folders_offset=folders_offset,
        folders_end=folders_end,
    )
    signature = _locate_signature(r, header, source_size, probe_signature)
    layout = CabLayout(header, tuple(folders), tuple(members), files_end, source_size, signature)
    _check_extents(layout, notes, Severity.WARNING if limits.allow_shared_data else Severity.ERROR)
    return layout


def _read_fixed(
    r: _Reader, base: int, source_size: int, limits: Limits, notes: FindingSink
) -> _Fixed:
    """The ``MSCF`` signature and the fixed CFHEADER fields, with their findings; raises
    when the cabinet cannot be read on (no folders, no files, too many members)."""
    avail = source_size - base
    if avail < 4 or r.read_at(base, 4, "signature") != SIGNATURE:
        raise NotACabinetError("no MSCF signature (not a cabinet)", offset=base)
    raw = r.read_at(base, CFHEADER_SIZE, "CFHEADER")
    fx = _Fixed(*_HDR.unpack(raw)[1:])

    if fx.reserved1:
        notes.add(
            "cab-reserved-nonzero",
            Severity.WARNING,
            f"CFHEADER reserved1 is 0x{fx.reserved1:08x}, not 0 (outside the signed range)",
            base + 4,
            field="reserved1",
            value=fx.reserved1,
        )
    if fx.reserved2 or fx.reserved3:
        notes.add(
            "cab-reserved-nonzero",
            Severity.WARNING,
            "CFHEADER reserved2/reserved3 are not 0",
            base + 12,
            reserved2=fx.reserved2,
            reserved3=fx.reserved3,
        )
    if (fx.vmajor, fx.vminor) != (1, 3):
        notes.add(
            "cab-version",
            Severity.WARNING,
            f"cabinet format version {fx.vmajor}.{fx.vminor}, expected 1.3",
            base + 24,
        )
    if fx.c_folders == 0:
        raise CabFormatError("cabinet declares no folders (cFolders = 0)", offset=base + 26)
    if fx.c_files == 0:
        raise CabFormatError("cabinet declares no files (cFiles = 0)", offset=base + 28)
    if fx.c_files > limits.max_members:
        raise LimitExceededError(
            f"cabinet declares {fx.c_files} members, above the limit of {limits.max_members}",
            offset=base + 28,
        )
    unknown_flags = fx.flags & ~(FLAG_PREV_CABINET | FLAG_NEXT_CABINET | FLAG_RESERVE_PRESENT)
    if unknown_flags:
        notes.add(
            "cab-unknown-flags",
            Severity.WARNING,
            f"CFHEADER flags has unknown bits 0x{unknown_flags:04x}",
            base + 30,
        )
    return fx


def _read_reserve(r: _Reader, pos: int, flags: int) -> tuple[_Reserve, int]:
    """The reserve sizes and the header reserve at ``pos`` (when the flag says they are
    there), and the offset after them."""
    if not flags & FLAG_RESERVE_PRESENT:
        return _Reserve(0, 0, 0, None, b""), pos
    cb_cf_header, cb_cf_folder, cb_cf_data = struct.unpack(
        "<HBB", r.read_at(pos, 4, "reserve sizes")
    )
    pos += 4
    if cb_cf_header > 60000:
        raise CabFormatError(
            f"header reserve of {cb_cf_header} bytes exceeds the format's 60000", offset=pos - 4
        )
    header_reserve = r.read_at(pos, cb_cf_header, "header reserve")
    reserve = _Reserve(cb_cf_header, cb_cf_folder, cb_cf_data, pos, header_reserve)
    return reserve, pos + cb_cf_header


def _read_set_strings(r: _Reader, pos: int, flags: int) -> tuple[list[bytes | None], int]:
    """szCabinetPrev, szDiskPrev, szCabinetNext, szDiskNext (``None`` where the flags say
    there is none), and the offset after them."""
    set_strings: list[bytes | None] = [None, None, None, None]
    for i, (flag, label) in enumerate(
        [
            (FLAG_PREV_CABINET, "szCabinetPrev"),
            (FLAG_PREV_CABINET, "szDiskPrev"),
            (FLAG_NEXT_CABINET, "szCabinetNext"),
            (FLAG_NEXT_CABINET, "szDiskNext"),
        ]
    ):
        if flags & flag:
            s = r.read_cstring(pos, _MAX_SET_STRING, label)
            set_strings[i] = s
            pos += len(s) + 1
    return set_strings, pos


def _read_folders(
    r: _Reader, pos: int, c_folders: int, cb_cf_folder: int
) -> tuple[list[CabFolder], int]:
    """The CFFOLDER array at ``pos``, and the offset after it."""
    folder_rec = 8 + cb_cf_folder
    folders: list[CabFolder] = []
    table = r.read_at(pos, folder_rec * c_folders, "CFFOLDER array")
    for i in range(c_folders):
        rec = table[i * folder_rec : (i + 1) * folder_rec]
        coff, ccf, tcomp = _FOLDER.unpack(rec[:8])
        folders.append(
            CabFolder(i, pos + i * folder_rec, coff, ccf, Compression(tcomp), bytes(rec[8:]))
        )
    return folders, pos + folder_rec * c_folders


def _check_coff_files(
    base: int, coff_files: int, files_start: int, folders_end: int, notes: FindingSink
) -> None:
    """Where coffFiles puts the CFFILE table: right after the CFFOLDER array, or a finding;
    inside CFHEADER raises."""
    if files_start != folders_end:
        if files_start > folders_end:
            gap = files_start - folders_end
            notes.add(
                "cab-cffile-gap",
                Severity.WARNING,
                f"{gap} bytes between the CFFOLDER array and the CFFILE table (coffFiles); "
                "extractors disagree on such cabinets",
                folders_end,
                gap=gap,
                coff_files=coff_files,
            )
        else:
            notes.add(
                "cab-cffile-overlap",
                Severity.ERROR,
                "coffFiles points inside the header or the CFFOLDER array",
                files_start,
                coff_files=coff_files,
                folders_end=folders_end - base,
            )
    if files_start < base + CFHEADER_SIZE:
        raise CabFormatError(f"coffFiles {coff_files} points inside CFHEADER", offset=base + 16)


#: bytes of the CFFILE table read at a time
_FILES_WINDOW = 1 << 16


def _read_members(r: _Reader, pos: int, fx: _Fixed, limits: Limits) -> tuple[list[CabMember], int]:
    """The CFFILE table at ``pos``, and the offset after it.

    The table is read in windows of :data:`_FILES_WINDOW` bytes rather than two reads per
    record (a WSUS ``package.cab`` has about 5,000 members); errors name the record and the
    offset exactly as record-by-record reads would.
    """
    c_folders = fx.c_folders
    max_name = limits.max_name_length
    size = r.size
    span = 16 + max_name + 1  # the most one record can need
    unpack_from = _FILE.unpack_from
    name_facts = names.name_facts
    new = tuple.__new__  # CabMember is a named tuple: built without its keyword __new__
    members: list[CabMember] = []
    append = members.append
    win = b""
    win_start = pos
    for i in range(fx.c_files):
        off = pos - win_start
        if off + span > len(win) and win_start + len(win) < size:
            if pos + 16 > size:
                raise TruncatedError(f"file ends inside CFFILE #{i}", offset=pos)
            win = r.read_at(pos, min(max(_FILES_WINDOW, span), size - pos), f"CFFILE #{i}")
            win_start = pos
            off = 0
        if off + 16 > len(win):
            raise TruncatedError(f"file ends inside CFFILE #{i}", offset=pos)
        cb_file, uoff, ifold, date, time, attribs = unpack_from(win, off)
        name_at = off + 16
        if name_at >= len(win):
            raise TruncatedError(f"file ends before name of CFFILE #{i}", offset=pos + 16)
        name_end = min(name_at + max_name + 1, len(win))
        nul = win.find(b"\x00", name_at, name_end)
        if nul < 0:
            if name_end - name_at < max_name + 1:
                raise TruncatedError(f"file ends inside name of CFFILE #{i}", offset=pos + 16)
            raise LimitExceededError(
                f"name of CFFILE #{i} is longer than {max_name} bytes (no terminating NUL)",
                offset=pos + 16,
            )
        raw_name = win[name_at:nul]
        if ifold < IFOLD_CONTINUED_FROM_PREV and ifold >= c_folders:
            raise CabFormatError(
                f"CFFILE #{i} refers to folder index {ifold} but the cabinet has "
                f"{c_folders} folder{'s' if c_folders != 1 else ''} (indices from 0)",
                offset=pos + 8,
            )
        text, flags_, safe = name_facts(raw_name, bool(attribs & 0x80), i)
        fields = (i, pos, raw_name, text, safe, flags_, cb_file, ifold, uoff, date, time, attribs)
        append(new(CabMember, fields))
        pos += 17 + len(raw_name)
    return members, pos


def _der_length(head: bytes) -> int | None:
    """Total length of the DER SEQUENCE starting at ``head[0]``, or None."""
    if len(head) < 2 or head[0] != 0x30:
        return None
    first = head[1]
    if first < 0x80:
        return 2 + first
    n = first & 0x7F
    if n == 0 or n > 4 or len(head) < 2 + n:
        return None
    return 2 + n + int.from_bytes(head[2 : 2 + n], "big")


def _locate_signature(r: _Reader, h: CabHeader, size: int, probe: bool) -> SignatureArea | None:
    """Find the Authenticode blob named by a 20-byte header reserve.

    With ``probe`` the first bytes of the blob are read to measure its DER length; callers
    skip that for sources where reading near the end means decompressing everything before.
    """
    if not h.has_reserve or h.header_reserve_offset is None:
        return None
    res = h.header_reserve
    is_authenticode_shape = (
        h.cb_cf_header == AUTHENTICODE_RESERVE_SIZE and h.cb_cf_folder == 0 and h.cb_cf_data == 0
    )
    if len(res) < 12:
        return None
    marker, sig_off, sig_len = struct.unpack("<III", res[:12])
    if marker != AUTHENTICODE_MARKER or not is_authenticode_shape:
        return None
    der_len: int | None = None
    if probe and 0 < sig_off < size and sig_len:
        head = r.read_at(h.offset + sig_off, min(6, size - h.offset - sig_off), "signature")
        der_len = _der_length(head)
    return SignatureArea(
        reserve_offset=h.header_reserve_offset,
        marker=marker,
        offset=h.offset + sig_off,
        size=sig_len,
        reserve_tail=bytes(res[12:]),
        file_size=size,
        der_length=der_len,
        probed=probe,
    )


def _check_extents(layout: CabLayout, notes: FindingSink, shared_severity: Severity) -> None:
    """Findings about how the declared structures sit in the file."""
    _check_end_and_signature(layout, notes)
    _check_folder_data(layout, notes)
    _check_member_extents(layout, notes, shared_severity)
    h = layout.header
    if h.has_prev or h.has_next or any(m.continued for m in layout.members):
        notes.add(
            "cab-multivolume",
            Severity.INFO,
            f"cabinet is part of a multi-volume set (set {h.set_id}, index {h.i_cabinet})",
            h.offset + 30,
        )


def _check_end_and_signature(layout: CabLayout, notes: FindingSink) -> None:
    """The cabinet's end (cbCabinet) against the file's, the signature area, the header
    reserve."""
    h = layout.header
    base = h.offset
    size = layout.source_size
    cab_end = base + h.cb_cabinet
    sig = layout.signature
    if cab_end > size:
        notes.add(
            "cab-truncated",
            Severity.ERROR,
            f"cbCabinet says {h.cb_cabinet} bytes but only {size - base} are present",
            size,
            missing=cab_end - size,
        )
    if sig is not None:
        _check_signature_area(layout, sig, cab_end, notes)
    elif cab_end < size:
        notes.add(
            "cab-trailing-data",
            Severity.WARNING,
            f"{size - cab_end} bytes after the end of the cabinet (cbCabinet)",
            cab_end,
            count=size - cab_end,
        )
    if h.has_reserve and sig is None and h.cb_cf_header:
        notes.add(
            "cab-header-reserve",
            Severity.INFO,
            f"{h.cb_cf_header}-byte header reserve that is not an Authenticode signature reserve",
            h.header_reserve_offset,
        )


def _check_signature_area(
    layout: CabLayout, sig: SignatureArea, cab_end: int, notes: FindingSink
) -> None:
    """The signature area against the file, the cabinet's end and its DER; the reserve
    bytes the signature does not cover."""
    h = layout.header
    size = layout.source_size
    if not sig.within_file:
        notes.add(
            "cab-signature-outside-file",
            Severity.ERROR,
            f"the signature area [{sig.offset}, {sig.end}) lies outside the file ({size} bytes)",
            h.header_reserve_offset,
            sig_offset=sig.offset,
            sig_size=sig.size,
        )
    else:
        if sig.offset < cab_end:
            notes.add(
                "cab-signature-overlaps-cabinet",
                Severity.ERROR,
                "the signature area starts inside the cabinet (before cbCabinet)",
                sig.offset,
                cb_cabinet=h.cb_cabinet,
            )
        elif sig.offset > cab_end:
            notes.add(
                "cab-data-before-signature",
                Severity.WARNING,
                f"{sig.offset - cab_end} bytes between the cabinet end and the signature "
                "(they are inside the signed range)",
                cab_end,
                gap=sig.offset - cab_end,
            )
        if sig.bytes_after > 0:
            notes.add(
                "cab-data-after-signature",
                Severity.WARNING,
                f"{sig.bytes_after} bytes follow the signature area; they are not covered "
                "by the signature",
                sig.end,
                count=sig.bytes_after,
            )
        if sig.der_length is None and sig.probed:
            notes.add(
                "cab-signature-not-der",
                Severity.ERROR,
                "the signature area does not start with a DER SEQUENCE",
                sig.offset,
            )
        elif sig.der_length is not None and sig.der_length > sig.size:
            notes.add(
                "cab-signature-overruns-area",
                Severity.ERROR,
                f"the DER object ({sig.der_length} bytes) is longer than the declared "
                f"signature area ({sig.size})",
                sig.offset,
            )
    if any(sig.reserve_tail[:4]):
        notes.add(
            "cab-reserve-unhashed-nonzero",
            Severity.WARNING,
            "abReserve bytes 12..15 (not covered by the signature) are not zero",
            (h.header_reserve_offset or 0) + 12,
        )
    if h.i_cabinet and not (h.has_prev or h.has_next):
        notes.add(
            "cab-icabinet-unhashed-nonzero",
            Severity.WARNING,
            f"iCabinet is {h.i_cabinet} in a cabinet that belongs to no set: the field is "
            "not covered by the signature, so it was changed after signing or set oddly",
            h.offset + 34,
            value=h.i_cabinet,
        )


def _check_folder_data(layout: CabLayout, notes: FindingSink) -> None:
    """Where each folder's data starts against the CFFILE table and the file, their order,
    their compression, and the member names."""
    h = layout.header
    size = layout.source_size
    # CFFILE table vs. folder data
    starts = [h.offset + fo.coff_cab_start for fo in layout.folders]
    for fo, start in zip(layout.folders, starts, strict=True):
        if start < layout.files_end:
            notes.add(
                "cab-cfdata-overlaps-headers",
                Severity.WARNING,
                f"folder {fo.index} data starts at {start}, inside the header/CFFILE area "
                f"(which ends at {layout.files_end})",
                fo.record_offset,
            )
        if start >= size:
            notes.add(
                "cab-cfdata-beyond-eof",
                Severity.ERROR,
                f"folder {fo.index} data starts at {start}, beyond the end of the file",
                fo.record_offset,
            )
    if any(b <= a for a, b in itertools.pairwise(starts)):
        notes.add(
            "cab-folder-order",
            Severity.WARNING,
            "folder data blocks are not in ascending file order",
            h.folders_offset,
        )
    for fo in layout.folders:
        if fo.compression.kind is None:
            notes.add(
                "cab-unknown-compression",
                Severity.ERROR,
                f"folder {fo.index} has unknown compression type 0x{fo.compression.raw:04x}",
                fo.record_offset + 6,
            )
    flagged = [m for m in layout.members if m.name_flags]
    for m in flagged:
        notes.add(
            "cab-unsafe-name",
            Severity.WARNING,
            f"member #{m.index} name {m.name!r} is not a plain relative path "
            f"({', '.join(sorted(m.name_flags))}); extracted as {m.safe_name!r}",
            m.record_offset,
            flags=sorted(m.name_flags),
            safe_name=m.safe_name,
        )


#: members of a folder in the order of their bytes (ties: CFFILE order)
_BY_OFFSET = operator.attrgetter("offset", "index")


def _check_member_extents(layout: CabLayout, notes: FindingSink, shared_severity: Severity) -> None:
    """Members of one folder that repeat or overlap another's bytes."""
    by_folder: dict[int, list[CabMember]] = {}
    for m in layout.members:
        if not m.continued and m.size:
            by_folder.setdefault(m.folder_index, []).append(m)
    # members with the same extent: Microsoft's MSI cabinets store identical files once
    # (vc2008_x86_VC_RED.cab); members that overlap otherwise: never seen in real cabinets
    same = overlaps = 0
    first_same: tuple[int, CabMember, CabMember] | None = None
    first_overlap: tuple[int, CabMember, CabMember] | None = None
    for fidx, ms in by_folder.items():
        ms.sort(key=_BY_OFFSET)
        reach = None
        for m in ms:
            if reach is not None and m.offset < reach.end:
                if (m.offset, m.size) == (reach.offset, reach.size):
                    same += 1
                    first_same = first_same or (fidx, reach, m)
                else:
                    overlaps += 1
                    first_overlap = first_overlap or (fidx, reach, m)
            if reach is None or m.end > reach.end:
                reach = m
    if first_same is not None:
        fidx, a, b = first_same
        more = f"; {same} members in all repeat an earlier one's bytes" if same > 1 else ""
        notes.add(
            "cab-member-shared",
            Severity.WARNING,
            f"members {a.name!r} and {b.name!r} are the same bytes of folder {fidx} "
            f"([{b.offset}, {b.end})){more}",
            b.record_offset,
            members=[a.index, b.index],
            count=same,
        )
    if first_overlap is not None:
        fidx, a, b = first_overlap
        more = f"; {overlaps} members in all overlap an earlier one" if overlaps > 1 else ""
        notes.add(
            "cab-member-overlap",
            shared_severity,
            f"members {a.name!r} and {b.name!r} share bytes of folder {fidx} "
            f"([{b.offset}, {min(a.end, b.end)})){more}; real Microsoft cabinets never "
            "overlap members partly",
            b.record_offset,
            members=[a.index, b.index],
            count=overlaps,
        )
