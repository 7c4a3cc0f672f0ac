# ruff: noqa: E501
"""Finding and error codes with their help text, generated from docs/findings.md by
tests/scan/regen_rules.py: do not edit by hand."""

from __future__ import annotations

#: code -> (docs section, severity or error class, meaning)
RULES: dict[str, tuple[str, str, str]] = {
    "architecture-disagreement": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "warning",
        "the sources disagree on the processor architecture",
    ),
    "cab-cfdata-beyond-eof": (
        'Cabinet layer findings (`layer: "cab"`)',
        "error",
        "a folder's data starts past the end of the file",
    ),
    "cab-cfdata-count-overflow": (
        'Cabinet layer findings (`layer: "cab"`)',
        "warning",
        "more CFDATA blocks than the 16-bit count says (cabinets > 2 GiB); reading went on",
    ),
    "cab-cfdata-overlaps-headers": (
        'Cabinet layer findings (`layer: "cab"`)',
        "warning",
        "a folder's data starts inside the header/CFFILE area",
    ),
    "cab-cffile-gap": (
        'Cabinet layer findings (`layer: "cab"`)',
        "warning",
        "bytes between the CFFOLDER array and `coffFiles`. Extractors disagree on such files: cabextract reads the CFFILE table after the folders, [MS-CAB], 7-Zip and msuinspect read it at `coffFiles` (libmspack issue #55).",
    ),
    "cab-cffile-overlap": (
        'Cabinet layer findings (`layer: "cab"`)',
        "error",
        "`coffFiles` points into the header or folder array",
    ),
    "cab-data-after-signature": (
        'Cabinet layer findings (`layer: "cab"`)',
        "warning",
        "bytes after the signature area: not covered by the signature (cf. CVE-2013-3900 / CVE-2020-1464, domain.md §7.3)",
    ),
    "cab-data-before-signature": (
        'Cabinet layer findings (`layer: "cab"`)',
        "warning",
        "bytes between `cbCabinet` and the signature (they are hashed)",
    ),
    "cab-embedded-cabinet": (
        'Cabinet layer findings (`layer: "cab"`)',
        "warning",
        "a cabinet found at a non-zero offset (self-extractor, concatenation, or the file does not start with a cabinet)",
    ),
    "cab-folder-order": (
        'Cabinet layer findings (`layer: "cab"`)',
        "warning",
        "folder data is not in ascending file order",
    ),
    "cab-format": (
        "Error codes",
        "CabFormatError",
        "a structure is invalid (offset given)",
    ),
    "cab-header-reserve": (
        'Cabinet layer findings (`layer: "cab"`)',
        "info",
        "a header reserve that is not an Authenticode reserve",
    ),
    "cab-icabinet-unhashed-nonzero": (
        'Cabinet layer findings (`layer: "cab"`)',
        "warning",
        "a signed cabinet that belongs to no set (no previous or next cabinet) has a non-zero iCabinet (bytes 34-35): the field is not covered by the signature, so it was changed after signing or written oddly (`evidence.value`)",
    ),
    "cab-member-overlap": (
        'Cabinet layer findings (`layer: "cab"`)',
        "error",
        "members partly overlap in a folder (one finding per cabinet, with the count in `evidence.count`); a warning with `--allow-shared-data`. Real Microsoft cabinets never do this.",
    ),
    "cab-member-shared": (
        'Cabinet layer findings (`layer: "cab"`)',
        "warning",
        "members are exactly the same bytes of a folder (same offset and size; one finding with the count). Microsoft's MSI cabinets store identical files this way (`vc2008_x86_VC_RED.cab`); extraction writes each, within the written-bytes budget.",
    ),
    "cab-multivolume": (
        'Cabinet layer findings (`layer: "cab"`)',
        "info",
        "the cabinet belongs to a multi-volume set",
    ),
    "cab-nesting-too-deep": (
        'Cabinet layer findings (`layer: "cab"`)',
        "error",
        "with `-r`, a nested cabinet lies deeper than `--max-depth`: it is listed (or written as a file) but not expanded; stderr says `[not-expanded]`, exit 1",
    ),
    "cab-reserve-unhashed-nonzero": (
        'Cabinet layer findings (`layer: "cab"`)',
        "warning",
        "abReserve bytes 12..15 (not hashed) are non-zero",
    ),
    "cab-reserved-nonzero": (
        'Cabinet layer findings (`layer: "cab"`)',
        "warning",
        "CFHEADER `reserved1/2/3` not zero. `reserved1` lies outside the Authenticode-signed range of a signed cabinet.",
    ),
    "cab-set-id-mismatch": (
        'Cabinet layer findings (`layer: "cab"`)',
        "warning",
        "neighbouring cabinets have different setIDs",
    ),
    "cab-set-incomplete": (
        'Cabinet layer findings (`layer: "cab"`)',
        "warning",
        "a cabinet of the set was not found next to the file (once per missing neighbour), or a folder continues into or from a cabinet that is not there",
    ),
    "cab-set-inconsistent": (
        'Cabinet layer findings (`layer: "cab"`)',
        "warning",
        "continuation flags of neighbouring cabinets do not match",
    ),
    "cab-set-loop": (
        'Cabinet layer findings (`layer: "cab"`)',
        "warning",
        "the set refers back to a cabinet already seen",
    ),
    "cab-set-member-unreadable": (
        'Cabinet layer findings (`layer: "cab"`)',
        "error",
        "a cabinet of the set cannot be parsed",
    ),
    "cab-shared-data": (
        'Cabinet layer findings (`layer: "cab"`)',
        "error",
        "CFFOLDER records name the same CFDATA blocks (decoded once; `evidence.folders` counts the repeats), or one folder's blocks start inside another's; a warning with `--allow-shared-data`",
    ),
    "cab-signature-not-der": (
        'Cabinet layer findings (`layer: "cab"`)',
        "error",
        "the signature area does not start with a DER SEQUENCE",
    ),
    "cab-signature-outside-file": (
        'Cabinet layer findings (`layer: "cab"`)',
        "error",
        "the signature area named by the reserve lies outside the file (a download cut short, most often): the file could not be read completely, so its outcome is `error`, not `unsigned`",
    ),
    "cab-signature-overlaps-cabinet": (
        'Cabinet layer findings (`layer: "cab"`)',
        "error",
        "the signature area starts before `cbCabinet`",
    ),
    "cab-signature-overruns-area": (
        'Cabinet layer findings (`layer: "cab"`)',
        "error",
        "the DER object is longer than the declared area",
    ),
    "cab-trailing-data": (
        'Cabinet layer findings (`layer: "cab"`)',
        "warning",
        "bytes after `cbCabinet` in an unsigned cabinet",
    ),
    "cab-truncated": (
        'Cabinet layer findings (`layer: "cab"`)',
        "error",
        "the file is shorter than `cbCabinet`",
    ),
    "cab-unknown-compression": (
        'Cabinet layer findings (`layer: "cab"`)',
        "error",
        "a folder's `typeCompress` is none of stored/MSZIP/Quantum/LZX",
    ),
    "cab-unknown-flags": (
        'Cabinet layer findings (`layer: "cab"`)',
        "warning",
        "CFHEADER flags has bits other than PREV/NEXT/RESERVE",
    ),
    "cab-unsafe-name": (
        'Cabinet layer findings (`layer: "cab"`)',
        "warning",
        "a member name is not a plain relative path; evidence lists the flags (`absolute`, `drive-letter`, `unc-path`, `dotdot`, `nul`, `control-character`, `alternate-stream`, `device-name`, `invalid-utf8`, `empty`, `trailing-dot-or-space`, `reserved-character`, `bidi-control`: a right-to-left override or other bidirectional control that shows the name in another order than it is, e.g. `invoice\\u202etxt.exe`) and the sanitised name used for extraction",
    ),
    "cab-version": (
        'Cabinet layer findings (`layer: "cab"`)',
        "warning",
        "format version is not 1.3",
    ),
    "cabinet-set": (
        "Error codes",
        "CabinetSetError",
        "a member needs a cabinet of its set that is not present",
    ),
    "catalog-attribute-undecodable": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "warning",
        "catalog structure oddities",
    ),
    "catalog-attribute-unparsed": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "warning",
        "catalog structure oddities",
    ),
    "catalog-ctl-field": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "warning",
        "catalog structure oddities",
    ),
    "catalog-ctl-version": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "info",
        "the CTL version is not v1 (0) (`evidence.version`)",
    ),
    "catalog-duplicate-attribute": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "warning",
        "catalog structure oddities",
    ),
    "catalog-findings-truncated": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "info",
        "at most 50 findings of one code are kept per catalog",
    ),
    "catalog-format": (
        "Error codes",
        "CatalogFormatError",
        "not a catalog (not PKCS#7, not a CTL, required CTL fields missing)",
    ),
    "catalog-member-limit": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "error",
        "more members than the parser reads (`--max-catalog-members`, default 1,000,000; `evidence.limit`)",
    ),
    "catalog-member-unparsed": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "error/warning",
        "error: the member list itself is malformed, and the members after that point are lost (`evidence.member`: how many were read); warning: one member cannot be read (it is skipped), has more than two fields (the extra ones are ignored), or has attributes that cannot be read or parsed (kept raw)",
    ),
    "catalog-not-catalog-list": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "info",
        "a CTL that is not a file catalog (e.g. `authroot.stl`)",
    ),
    "catalog-repeated-identifier": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "info",
        "the same member identifier appears more than once",
    ),
    "catalog-trailing-data": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "warning",
        "catalog structure oddities",
    ),
    "catalog-unknown-attribute": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "info",
        "a catalog attribute this tool does not understand (evidence: OID and hex)",
    ),
    "catalog-unknown-subject-algorithm": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "info",
        "a CTL that is not a file catalog (e.g. `authroot.stl`)",
    ),
    "certificate-unparsed": (
        'Authenticode findings (`layer: "authenticode"`)',
        "error",
        "a certificate embedded in the signature cannot be parsed in full (e.g. one changed byte in an extension): it is left out of chain building and the signature is not trusted",
    ),
    "certificates-capped": (
        'Authenticode findings (`layer: "authenticode"`)',
        "warning",
        "a SignedData (a signature's, or an RFC 3161 timestamp token's) carries more certificates than msuinspect reads (`--max-certificates`, default 256; `evidence.count` were left out, `evidence.limit`): a chain that needs them fails, so the signature is untrusted, never trusted by mistake",
    ),
    "cfdata-checksum": (
        "Error codes",
        "ChecksumError",
        "a CFDATA block's checksum does not match (offset of the block)",
    ),
    "chain-invalid": (
        'Authenticode findings (`layer: "authenticode"`)',
        "error",
        "the chain fails validation for another reason (message says why)",
    ),
    "compressed-manifest-unexpected": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "error",
        "a DCM-compressed manifest in a package for Windows 6.x: such manifests exist only from Windows 10 on, and one cannot be checked against the catalogs, so it could hide an altered manifest",
    ),
    "covered-by-invalid-catalog": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "warning",
        "a file (not a manifest: for those it is `metadata-not-covered`) is listed only in a catalog that is not valid: unsigned, its signature does not verify, or it chains to no trusted root (the message says which); its coverage is `not-covered`",
    ),
    "decode-error": (
        "Error codes",
        "DecodeError",
        "no backend could decode a folder; the message lists each backend's error",
    ),
    "detached-signature": (
        'Authenticode findings (`layer: "authenticode"`)',
        "info",
        "a detached signature (`.p7x`…): the signed file is not present, its digest is not checked",
    ),
    "digest-mismatch": (
        'Authenticode findings (`layer: "authenticode"`)',
        "error",
        "the digest of the signed bytes differs from the signed digest (the file was changed after signing); or a signature embedded in a PE or cabinet carries no digest of the file at all (its content is not SpcIndirectDataContent, e.g. a catalog's SignedData pasted in: it signs something else)",
    ),
    "download-name-sha1-mismatch": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "error",
        "the Update Catalog file name carries a SHA-1 that is not the file's",
    ),
    "expired-no-timestamp": (
        'Authenticode findings (`layer: "authenticode"`)',
        "error",
        "a certificate is outside its validity at `--as-of` and there is no valid timestamp to validate at",
    ),
    "extract-name-collision": (
        'Cabinet layer findings (`layer: "cab"`)',
        "warning",
        "output names were taken (members of one file with the same name, or a file or link where a folder goes); `~N` suffixes were used. One finding per extraction: `evidence.count` counts the names taken; the message names the first example",
    ),
    "host-evidence": (
        "Error codes",
        "EvidenceError",
        "an evidence file given to `host import` / `host status` cannot be used: empty, not recognised, a collector file without any section, or (for `host status`) unreadable; nothing is imported (exit 1)",
    ),
    "host-spec": (
        "Error codes",
        "HostSpecError",
        "a `--host` value, preset name or TOML host profile cannot be read (a usage error, exit 2)",
    ),
    "input-error": (
        "Error codes",
        "InputError",
        "file missing or unreadable",
    ),
    "internal-error": (
        "Error codes",
        "(any other exception)",
        "a bug in msuinspect, reported for that file (exit status 70); the batch goes on",
    ),
    "kb-disagreement": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "warning",
        "the pkgProperties `KB Article Number` (a hint) names a KB the package manifests do not; the summary's `kb_numbers` are the manifests' (evidence: `manifests`, `pkgproperties`)",
    ),
    "legacy-signature-format": (
        'Authenticode findings (`layer: "authenticode"`)',
        "info",
        "an RSA signature over a bare digest (VeriSign-era countersignatures)",
    ),
    "limit-exceeded": (
        "Error codes",
        "LimitExceededError",
        "a safety limit was hit (output size, ratio, members, name length, depth, restarts; a PKCS#7 file over `--max-pkcs7-size`; an XML document over `--max-xml-size` or nested deeper than `--max-xml-depth`)",
    ),
    "manifest-compressed": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "info",
        "a DCM/PA30 component manifest (a delta against the servicing stack's base manifests), not expanded",
    ),
    "manifest-file-name-unsafe": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "warning",
        "a `<file>` name in a manifest is not a plain relative path",
    ),
    "manifest-file-no-name": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "warning/info",
        "component manifest oddities (`manifest-hash-attribute-differs` is info)",
    ),
    "manifest-format": (
        "Error codes",
        "",
        "a package manifest, component manifest or unattend file that is XML but not of its kind",
    ),
    "manifest-hash-attribute-differs": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "warning/info",
        "component manifest oddities (`manifest-hash-attribute-differs` is info)",
    ),
    "manifest-hash-unreadable": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "warning/info",
        "component manifest oddities (`manifest-hash-attribute-differs` is info)",
    ),
    "manifest-identity-incomplete": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "warning/info",
        "component manifest oddities (`manifest-hash-attribute-differs` is info)",
    ),
    "manifest-namespace": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "warning/info",
        "component manifest oddities (`manifest-hash-attribute-differs` is info)",
    ),
    "manifest-no-identity": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "error",
        "a component manifest has no `<assemblyIdentity>`",
    ),
    "member-beyond-folder-data": (
        "Error codes",
        "FolderDataEnded",
        "a member ends past the data its folder holds",
    ),
    "member-hash-mismatch": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "error",
        "altered: a catalog whose signature verifies (and is trusted) lists this file (not a manifest) by name with another hash; evidence: `status`, `catalog`",
    ),
    "metadata-not-covered": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "error",
        'a `.mum` or `.manifest` is not listed (with its hash) in a valid catalog of its cabinet (signature verifies and chains to a trusted root): coverage `not-covered` (also when the cabinet holds no catalog at all, or lists it only in a catalog that is not valid), or `mismatch` when a valid catalog lists it by name with another hash (the only direct evidence of an altered file; nothing is paired "by elimination"). A DCM-compressed manifest is `not-analysed`, not this. Such a manifest never feeds the identity of a package that has covered ones',
    ),
    "mum-esu-gated": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "info",
        "a package manifest references `ExtendedSecurityUpdatesAI` (heuristic ESU marker, domain.md §3)",
    ),
    "mum-format": (
        "Error codes",
        "",
        "a package manifest, component manifest or unattend file that is XML but not of its kind",
    ),
    "mum-identity-incomplete": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "warning",
        "package manifest oddities",
    ),
    "mum-installer-assemblies": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "warning",
        "package manifest oddities",
    ),
    "mum-namespace": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "warning",
        "package manifest oddities",
    ),
    "mum-no-package": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "error",
        "a package manifest has no `<package>` element",
    ),
    "mum-parent-empty": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "warning",
        "package manifest oddities",
    ),
    "name-content-conflict": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "error",
        "a `WindowsN.N-KBnnnn-arch` file name claims a KB, Windows version or architecture that the content contradicts, or claims an update package for a file that is not one; the summary shows the content's answer (evidence: `claim`, `content`)",
    ),
    "nested-cabinet-unreadable": (
        'Cabinet layer findings (`layer: "cab"`)',
        "error",
        "a member starts like a cabinet but cannot be parsed; with `-r` it is not expanded (`[not-expanded]` on stderr, exit 1)",
    ),
    "no-code-signing-usage": (
        'Authenticode findings (`layer: "authenticode"`)',
        "error",
        "the signer certificate's EKU does not allow code signing",
    ),
    "not-a-cabinet": (
        "Error codes",
        "NotACabinetError",
        "no `MSCF` where a cabinet was expected (and none found elsewhere)",
    ),
    "not-analysed": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "info",
        "a recognised generation this tool does not analyse in depth: PSFX MSU, WIM-container MSU, DCM/PA30-compressed manifests, PA30 delta payloads, DCS-compressed files, PSF express payloads",
    ),
    "opaque-container": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "info",
        "the members of a WSUS metadata cabinet (the `package.cab` of WSUSSCAN.cab, recognised by content) are counted, not expanded",
    ),
    "output-error": (
        "Error codes",
        "OutputError",
        "writing to the output folder failed",
    ),
    "pe-certificate-entry-invalid": (
        'Authenticode findings (`layer: "authenticode"`)',
        "error",
        "a WIN_CERTIFICATE entry has an impossible length",
    ),
    "pe-certificate-not-pkcs7": (
        'Authenticode findings (`layer: "authenticode"`)',
        "error",
        "the first WIN_CERTIFICATE of the certificate table is not a PKCS#7 signature (`evidence.cert_type`): Windows reads only the first entry, so the file has no signature it can use; a PKCS#7 entry further on is not read",
    ),
    "pe-certificate-table-outside-file": (
        'Authenticode findings (`layer: "authenticode"`)',
        "error",
        "the security directory points past the end of the file (a file cut short, most often): outcome `error`, not `unsigned`",
    ),
    "pe-certificate-table-too-large": (
        'Authenticode findings (`layer: "authenticode"`)',
        "error",
        "the certificate table claims more bytes than msuinspect reads (`--max-pe-certificate-table`, default 64 MiB; the rest is ignored)",
    ),
    "pe-certificate-table-unaligned": (
        'Authenticode findings (`layer: "authenticode"`)',
        "warning",
        "the certificate table is not 8-byte aligned",
    ),
    "pe-data-after-certificate-table": (
        'Authenticode findings (`layer: "authenticode"`)',
        "warning",
        "bytes after the certificate table (covered by the digest)",
    ),
    "pe-format": (
        "Error codes",
        "PEFormatError",
        "the PE headers cannot be parsed",
    ),
    "pe-multiple-certificates": (
        'Authenticode findings (`layer: "authenticode"`)',
        "warning",
        "more than one WIN_CERTIFICATE entry; Windows reads the first",
    ),
    "pkcs7-not-der": (
        'Authenticode findings (`layer: "authenticode"`)',
        "warning",
        "the SignedData's outer structure is BER (indefinite or long-form lengths), not DER: re-encoded after signing; parsed and verified anyway, as Windows does",
    ),
    "properties-bad-line": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "warning/info",
        "`*-pkgProperties.txt` oddities",
    ),
    "properties-bad-value": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "warning/info",
        "`*-pkgProperties.txt` oddities",
    ),
    "properties-duplicate-key": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "warning/info",
        "`*-pkgProperties.txt` oddities",
    ),
    "properties-empty": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "warning/info",
        "`*-pkgProperties.txt` oddities",
    ),
    "properties-encoding": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "warning/info",
        "`*-pkgProperties.txt` oddities",
    ),
    "properties-missing-key": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "warning/info",
        "`*-pkgProperties.txt` oddities",
    ),
    "properties-unquoted": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "warning/info",
        "`*-pkgProperties.txt` oddities",
    ),
    "servicing-data": (
        "Error codes",
        "ServicingDataError",
        "the bundled servicing knowledge base (`data/servicing.toml`) is missing, not TOML, or breaks its schema: a broken installation",
    ),
    "signature-invalid": (
        'Authenticode findings (`layer: "authenticode"`)',
        "error",
        "the signer's signature, or its messageDigest attribute, does not verify, or cannot be checked (no certificate), or its signed contentType attribute names another type than the content's, or its signed attributes carry no messageDigest (RFC 5652: then nothing binds the content)",
    ),
    "signature-trailing-data": (
        'Authenticode findings (`layer: "authenticode"`)',
        "error/warning",
        "error: bytes after a signature's DER (in a cabinet's signature area, a PE `WIN_CERTIFICATE` entry or a PKCS#7 file) that are not zero padding (a non-zero byte, or 8 or more bytes), or bytes after a cabinet's signature at the end of the file (CVE-2013-3900 / CVE-2020-1464 class); warning: non-zero bytes in a PE certificate table after its last `WIN_CERTIFICATE` entry",
    ),
    "signatures-capped": (
        'Authenticode findings (`layer: "authenticode"`)',
        "warning",
        "the file holds more signatures, primary and nested, than msuinspect reads (`--max-signatures`, default 64, depth first; `evidence.limit`): the others are neither parsed nor verified",
    ),
    "signer-not-microsoft-servicing": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "warning",
        "a publishing layer (MSU, update cabinet, catalog) of an update package is signed by a class other than `microsoft-windows` or `microsoft` (docs/trust.md): a third party's driver signed through Microsoft's hardware program, another publisher, or a private PKI given with `--trust-root`",
    ),
    "target-disagreement": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "warning",
        "the package's own sources (parent packages, component versions, the catalogs' OSAttr, pkgProperties `Applies to`) do not name the same Windows version (evidence lists each); the file name is not a source",
    ),
    "time-budget": (
        "Error codes",
        "TimeBudgetError",
        "`scan`: the file was not done within `--timeout` seconds; its worker was stopped and the scan went on (docs/batch.md)",
    ),
    "timestamp-after-as-of": (
        'Authenticode findings (`layer: "authenticode"`)',
        "warning",
        "a valid timestamp is later than the validation time asked for (`--as-of`): the signature did not exist at that time; its chain is still checked at the timestamp's time",
    ),
    "timestamp-invalid": (
        'Authenticode findings (`layer: "authenticode"`)',
        "warning",
        "a timestamp is not over this signature, does not verify (an RFC 3161 token must hold a TSTInfo, and its signed contentType must say so), or its signer is not trusted at its time",
    ),
    "truncated": (
        "Error codes",
        "TruncatedError",
        "the file ends inside a structure (offset given)",
    ),
    "unattend-format": (
        "Error codes",
        "",
        "a package manifest, component manifest or unattend file that is XML but not of its kind",
    ),
    "unattend-identity-disagreement": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "warning",
        "the unattend XML names a package (name and version) other than the main package manifest `update.mum` (evidence: `unattend`, `manifest`)",
    ),
    "unattend-identity-incomplete": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "warning",
        "unattend file oddities",
    ),
    "unattend-namespace": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "warning",
        "unattend file oddities",
    ),
    "unattend-no-package": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "warning",
        "unattend file oddities",
    ),
    "unattend-no-source": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "warning",
        "unattend file oddities",
    ),
    "unattend-package-no-identity": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "error",
        "an unattend `<package>` has no `<assemblyIdentity>`; it is ignored",
    ),
    "unattend-source-ambiguous": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "warning",
        "the unattend source matches several members that differ only in case (evidence: `location`, `members`)",
    ),
    "unattend-source-missing": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "error",
        "the unattend source names a file that is not a member of the MSU (evidence: `location`, `member`)",
    ),
    "unattend-source-unsafe": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "error",
        "the unattend `source location` leaves the package (`..`, absolute, drive, UNC, sub-folders): never resolved",
    ),
    "unattend-unexpected-element": (
        'Package findings (`layer: "package"` and `"catalog"`)',
        "warning",
        "unattend file oddities",
    ),
    "unknown-format": (
        'Authenticode findings (`layer: "authenticode"`)',
        "info",
        "the file is not a cabinet, PE, catalog or PKCS#7 file",
    ),
    "unknown-unauthenticated-attribute": (
        'Authenticode findings (`layer: "authenticode"`)',
        "warning",
        "an unauthenticated attribute this tool does not understand (not covered by the signature)",
    ),
    "unparsed-signature": (
        'Authenticode findings (`layer: "authenticode"`)',
        "error",
        "a signature (or a nested one) cannot be parsed",
    ),
    "unparsed-unauthenticated-attributes": (
        'Authenticode findings (`layer: "authenticode"`)',
        "warning",
        "the unauthenticated attributes (timestamps, nested signatures) cannot be read in full; those read are used",
    ),
    "unsafe-path": (
        "Error codes",
        "UnsafePathError",
        "extraction refused a path (a link in the way, or escaping the folder)",
    ),
    "unsupported-compression": (
        "Error codes",
        "UnsupportedCompressionError",
        "no enabled backend supports the folder's compression (e.g. `unsupported compression: Quantum`)",
    ),
    "untrusted-root": (
        'Authenticode findings (`layer: "authenticode"`)',
        "error",
        "no chain to a trusted root (self-signed, or an unknown root: add it with `--trust-root` if you trust it)",
    ),
    "weak-digest": (
        'Authenticode findings (`layer: "authenticode"`)',
        "warning",
        "MD5 or SHA-1 in the signature, its chain, its timestamp (an MD5 imprint or countersignature) or its timestamp chain (reported, not rejected; evidence: `algorithms`). Only MD5 makes the file's outcome a `warning`: SHA-1 is the norm for Windows 6.0-era packages",
    ),
    "xml-format": (
        "Error codes",
        "XmlError` / `UnsafeXmlError",
        "malformed XML / a DOCTYPE, entity or DTD (refused before parsing)",
    ),
    "xml-unsafe": (
        "Error codes",
        "XmlError` / `UnsafeXmlError",
        "malformed XML / a DOCTYPE, entity or DTD (refused before parsing)",
    ),
}
