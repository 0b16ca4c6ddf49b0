"""1EdTech QTI import and export, without the database: bytes in, question specs out, and back.

`read_upload` takes an uploaded file (one QTI 2.1/2.2/3.0 assessment item, or a content package:
a zip with ``imsmanifest.xml``) and answers an `Import`: a title, and an `ItemReport` per item in
the file's order, each holding a validated `QuestionSpec` or the reason it was not imported.
`write_package` writes a QTI 3.0 content package that `read_upload` reads back to the same specs
and the same `AssessmentSettings` (pass mark, attempts, answer visibility, adaptive rule: namespaced
metadata in the manifest; the time limit is the test's `qti-time-limits`).

Untrusted input is refused with `InvalidInput` before anything is stored: files too large, zip
bombs (member count, declared and actual sizes), paths that leave the package, XML entity
declarations (billion laughs, external entities), documents that are not XML or not QTI.
"""

from __future__ import annotations

from repo_domain.qti._build import item_xml, write_package
from repo_domain.qti._import import Import, ItemReport, read_upload
from repo_domain.qti._safety import (
    PACKAGE_MEMBERS_MAX,
    PACKAGE_UNCOMPRESSED_MAX_BYTES,
    UPLOAD_MAX_BYTES,
    XML_MAX_BYTES,
)
from repo_domain.qti._settings import NS_SETTINGS, AssessmentSettings

__all__ = [
    "NS_SETTINGS",
    "AssessmentSettings",
    "PACKAGE_MEMBERS_MAX",
    "PACKAGE_UNCOMPRESSED_MAX_BYTES",
    "UPLOAD_MAX_BYTES",
    "XML_MAX_BYTES",
    "Import",
    "ItemReport",
    "item_xml",
    "read_upload",
    "write_package",
]
