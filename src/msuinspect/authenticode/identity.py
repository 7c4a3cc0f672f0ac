"""Who signed: the class of a signer, from the identities and EKUs of its verified chain.

Classes (docs/trust.md):

* ``microsoft-windows``: Windows servicing. A leaf with the Windows System Component
  Verification EKU (1.3.6.1.4.1.311.10.3.6), or a ``Microsoft Windows…`` leaf issued by a
  Windows PCA (``Microsoft Windows Production PCA 2011``, ``Microsoft Windows Verification
  PCA``, ``Microsoft Windows Verification Intermediate PCA``, ``Microsoft Windows PCA…``).
* ``microsoft-hardware``: a third party's driver or software signed through Microsoft's
  hardware (WHQL / attestation) program: the WHQL EKU (1.3.6.1.4.1.311.10.3.5), a
  ``Microsoft Windows Hardware/Software Compatibility Publisher`` leaf, or a leaf issued by
  ``Microsoft Windows Third Party Component CA…`` / ``Microsoft Windows Hardware
  Compatibility PCA``.
* ``microsoft``: any other signer whose chain is verified to a Microsoft root shipped with
  msuinspect (Microsoft Corporation: Office, Visual C++, the outer cabinets of MSUs...).
* ``other``: everything else, and every signer whose chain could not be verified to a
  shipped Microsoft root (names alone prove nothing).
"""

from __future__ import annotations

from enum import StrEnum

from msuinspect.authenticode.trust import ChainResult, microsoft_root_sha1s
from msuinspect.cms.oids import EKU_WHQL, EKU_WINDOWS_COMPONENT


class SignerClass(StrEnum):
    MICROSOFT_WINDOWS = "microsoft-windows"
    MICROSOFT = "microsoft"
    MICROSOFT_HARDWARE = "microsoft-hardware"
    OTHER = "other"


_WINDOWS_EKUS = frozenset({EKU_WINDOWS_COMPONENT, "microsoft_nt5"})
_HARDWARE_EKUS = frozenset({EKU_WHQL, "microsoft_whql"})
_WINDOWS_PCAS = (
    "Microsoft Windows Production PCA",
    "Microsoft Windows Verification PCA",
    "Microsoft Windows Verification Intermediate PCA",
    "Microsoft Windows PCA",
)
_HARDWARE_LEAVES = (
    "Microsoft Windows Hardware Compatibility Publisher",
    "Microsoft Windows Software Compatibility Publisher",
)
_HARDWARE_CAS = (
    "Microsoft Windows Third Party Component CA",
    "Microsoft Windows Hardware Compatibility PCA",
)


def classify(chain: ChainResult | None) -> SignerClass:
    """The class of the signer at the head of ``chain``.

    Only a chain whose certificate signatures were verified up to a shipped Microsoft root
    (trusted, or failing only on validity at its moment) makes a Microsoft class."""
    if chain is None or not chain.path or chain.anchor is None:
        return SignerClass.OTHER
    if not (chain.trusted or chain.verified):
        return SignerClass.OTHER
    if chain.anchor.sha1 not in microsoft_root_sha1s():
        return SignerClass.OTHER
    leaf = chain.path[0]
    issuer = chain.path[1].common_name if len(chain.path) > 1 else ""
    ekus = set(leaf.eku)
    name = leaf.common_name
    if (
        ekus & _HARDWARE_EKUS
        or name.startswith(_HARDWARE_LEAVES)
        or issuer.startswith(_HARDWARE_CAS)
    ):
        return SignerClass.MICROSOFT_HARDWARE
    if ekus & _WINDOWS_EKUS or (
        name.startswith("Microsoft Windows") and issuer.startswith(_WINDOWS_PCAS)
    ):
        return SignerClass.MICROSOFT_WINDOWS
    return SignerClass.MICROSOFT
