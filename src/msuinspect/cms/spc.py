"""ASN.1 shapes of Authenticode's ``Spc*`` structures (asn1crypto)."""

from __future__ import annotations

from asn1crypto import algos, core


class SpcAttributeTypeAndOptionalValue(core.Sequence):
    _fields = [  # noqa: RUF012 - asn1crypto declares fields as class lists
        ("type", core.ObjectIdentifier),
        ("value", core.Any, {"optional": True}),
    ]


class DigestInfo(core.Sequence):
    _fields = [  # noqa: RUF012
        ("digest_algorithm", algos.DigestAlgorithm),
        ("digest", core.OctetString),
    ]


class SpcIndirectDataContent(core.Sequence):
    """What an Authenticode signature signs: the kind of object and its digest."""

    _fields = [  # noqa: RUF012
        ("data", SpcAttributeTypeAndOptionalValue),
        ("message_digest", DigestInfo),
    ]


class SpcString(core.Choice):
    _alternatives = [  # noqa: RUF012
        ("unicode", core.BMPString, {"implicit": 0}),
        ("ascii", core.IA5String, {"implicit": 1}),
    ]


class SpcSerializedObject(core.Sequence):
    _fields = [  # noqa: RUF012
        ("class_id", core.OctetString),
        ("serialized_data", core.OctetString),
    ]


class SpcLink(core.Choice):
    _alternatives = [  # noqa: RUF012
        ("url", core.IA5String, {"implicit": 0}),
        ("moniker", SpcSerializedObject, {"implicit": 1}),
        ("file", SpcString, {"explicit": 2}),
    ]


class SpcSpOpusInfo(core.Sequence):
    """Signed attribute with the program name and a 'more info' link."""

    _fields = [  # noqa: RUF012
        ("program_name", SpcString, {"explicit": 0, "optional": True}),
        ("more_info", SpcLink, {"explicit": 1, "optional": True}),
    ]


def spc_string_text(value: SpcString) -> str | None:
    try:
        native = value.native
    except (ValueError, TypeError):
        return None
    return native if isinstance(native, str) else None


def spc_link_text(value: SpcLink) -> str | None:
    try:
        if value.name in ("url",):
            text = value.chosen.native
            return text if isinstance(text, str) else None
        if value.name == "file":
            return spc_string_text(value.chosen)
    except (ValueError, TypeError):
        return None
    return None
