"""Object identifiers used by Authenticode and catalogs ([domain.md] section 9)."""

from __future__ import annotations

PKCS7_SIGNED_DATA = "1.2.840.113549.1.7.2"
PKCS7_DATA = "1.2.840.113549.1.7.1"
SPC_INDIRECT_DATA = "1.3.6.1.4.1.311.2.1.4"
SPC_STATEMENT_TYPE = "1.3.6.1.4.1.311.2.1.11"
SPC_SP_OPUS_INFO = "1.3.6.1.4.1.311.2.1.12"
SPC_PE_IMAGE_DATA = "1.3.6.1.4.1.311.2.1.15"
SPC_CAB_DATA = "1.3.6.1.4.1.311.2.1.25"
#: the data type Microsoft's own cabinet signatures use (an SpcLink)
SPC_LINK = "1.3.6.1.4.1.311.2.1.28"
SPC_SIPINFO = "1.3.6.1.4.1.311.2.1.30"
SPC_NESTED_SIGNATURE = "1.3.6.1.4.1.311.2.4.1"
SPC_RFC3161_TIMESTAMP = "1.3.6.1.4.1.311.3.3.1"
PKCS9_CONTENT_TYPE = "1.2.840.113549.1.9.3"
PKCS9_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
PKCS9_SIGNING_TIME = "1.2.840.113549.1.9.5"
PKCS9_COUNTERSIGNATURE = "1.2.840.113549.1.9.6"
CMS_ALGORITHM_PROTECTION = "1.2.840.113549.1.9.52"
TST_INFO = "1.2.840.113549.1.9.16.1.4"
MS_CTL = "1.3.6.1.4.1.311.10.1"
#: szOID_CATALOG_LIST: the subjectUsage of a catalog
CATALOG_LIST = "1.3.6.1.4.1.311.12.1.1"
#: szOID_CATALOG_LIST_MEMBER: subjectAlgorithm of a version 1 (SHA-1) catalog
CATALOG_LIST_MEMBER = "1.3.6.1.4.1.311.12.1.2"
#: szOID_CATALOG_LIST_MEMBER2: subjectAlgorithm of a version 2 (SHA-256) catalog
CATALOG_LIST_MEMBER2 = "1.3.6.1.4.1.311.12.1.3"
#: CAT_NAMEVALUE_OBJID: a name/value pair (member attribute or catalog extension)
CAT_NAMEVALUE = "1.3.6.1.4.1.311.12.2.1"
#: CAT_MEMBERINFO_OBJID: SIP subject GUID and cert version (version 1 catalogs)
CAT_MEMBERINFO = "1.3.6.1.4.1.311.12.2.2"
#: CAT_MEMBERINFO2_OBJID: version 2 catalogs; its value fits no published schema
CAT_MEMBERINFO2 = "1.3.6.1.4.1.311.12.2.3"
MS_JAVA_PERMISSIONS = "1.3.6.1.4.1.311.15.1"
MS_UNAUTHENTICATED_BLOB = "1.3.6.1.4.1.42921.1.2.1"
#: seen on Microsoft signatures: 'Microsoft Individual/Commercial Code Signing' purposes
MS_SEAL = "1.3.6.1.4.1.311.2.6.1"

EKU_CODE_SIGNING = "1.3.6.1.5.5.7.3.3"
EKU_TIME_STAMPING = "1.3.6.1.5.5.7.3.8"
EKU_WINDOWS_COMPONENT = "1.3.6.1.4.1.311.10.3.6"
EKU_WHQL = "1.3.6.1.4.1.311.10.3.5"

#: names used in reports for attributes this project understands
ATTRIBUTE_NAMES = {
    PKCS9_CONTENT_TYPE: "contentType",
    PKCS9_MESSAGE_DIGEST: "messageDigest",
    PKCS9_SIGNING_TIME: "signingTime",
    PKCS9_COUNTERSIGNATURE: "counterSignature",
    SPC_STATEMENT_TYPE: "SpcStatementType",
    SPC_SP_OPUS_INFO: "SpcSpOpusInfo",
    SPC_NESTED_SIGNATURE: "nestedSignature",
    SPC_RFC3161_TIMESTAMP: "rfc3161Timestamp",
    CMS_ALGORITHM_PROTECTION: "cmsAlgorithmProtection",
    MS_JAVA_PERMISSIONS: "javaPermissions",
    MS_SEAL: "msSeal",
}
