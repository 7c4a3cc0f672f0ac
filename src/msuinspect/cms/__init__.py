"""Cryptographic message syntax layer: the PKCS#7/CMS SignedData found in Authenticode
signatures and catalogs, and the ASN.1 shapes Microsoft adds to it (SpcIndirectDataContent,
SpcSpOpusInfo, certificate trust lists). Parsing only: no verification here."""
