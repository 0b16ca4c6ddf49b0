"""Reading untrusted uploads: size limits, a locked-down XML parser, a zip reader that counts.

Every refusal is an `InvalidInput` (the adapters answer 4xx) raised before anything is stored.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from dataclasses import dataclass

from lxml import etree

from repo_domain.errors import InvalidInput

#: Largest upload (an item file or a package), in bytes. The apps raise their request-body limit
#: on the import route to this plus multipart framing (`repo_http.upload_limit`), so a larger file
#: is refused at the edge (413); this check holds whatever that setting is.
UPLOAD_MAX_BYTES = 4 * 1024 * 1024
#: A package's members, and their total size once uncompressed (declared and actually read).
PACKAGE_MEMBERS_MAX = 1_000
PACKAGE_UNCOMPRESSED_MAX_BYTES = 32 * 1024 * 1024
#: One XML document (an item, a test, the manifest) once uncompressed.
XML_MAX_BYTES = 4 * 1024 * 1024

_CHUNK = 64 * 1024
_ZIP_MAGIC = b"PK\x03\x04"


def _parser() -> etree.XMLParser:
    # No entity substitution, no DTD loading, no network, libxml2's default size/depth limits;
    # comments and processing instructions are not content.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_xml(data: bytes, *, name: str) -> etree._Element:
    """The root element of `data`, or `InvalidInput` for anything but a plain XML document.

    A document that declares entities (the "billion laughs" and external-entity attacks both
    need a declaration) is refused outright rather than parsed with the references left in.
    """
    if len(data) > XML_MAX_BYTES:
        raise InvalidInput(
            f"{name} is larger than {XML_MAX_BYTES // (1024 * 1024)} MiB",
            code="too_large",
            field="file",
        )
    # Refused before parsing: libxml2 would otherwise stop a bomb with a less telling message.
    if b"<!ENTITY" in data or b"<!ENTITY" in data.replace(b"\x00", b""):
        raise _entities(name)
    try:
        # S320: the parser is the locked-down one above (no entities, DTDs, network, huge trees),
        # and entity declarations were refused before parsing.
        root = etree.fromstring(data, parser=_parser())  # noqa: S320
    except etree.XMLSyntaxError as exc:
        raise InvalidInput(
            f"{name} is not well-formed XML: {exc}", code="not_xml", field="file"
        ) from None
    except ValueError as exc:  # e.g. a str with an encoding declaration, or an empty document
        raise InvalidInput(f"{name} is not XML: {exc}", code="not_xml", field="file") from None
    if root is None:
        raise InvalidInput(f"{name} is not XML", code="not_xml", field="file")
    dtd = root.getroottree().docinfo.internalDTD
    # lxml-stubs do not know DTD.iterentities (lxml has it since 2.3).
    declared = dtd is not None and any(True for _ in dtd.iterentities())  # type: ignore[union-attr]
    if declared or any(True for _ in root.iter(etree.Entity)):
        raise _entities(name)
    return root


def _entities(name: str) -> InvalidInput:
    return InvalidInput(
        f"{name} declares or uses XML entities, which are not accepted",
        code="xml_entities",
        field="file",
    )


def is_zip(data: bytes) -> bool:
    return data.startswith(_ZIP_MAGIC)


def check_upload_size(data: bytes) -> None:
    if not data:
        raise InvalidInput("the file is empty", code="required", field="file")
    if len(data) > UPLOAD_MAX_BYTES:
        raise InvalidInput(
            f"the file is larger than {UPLOAD_MAX_BYTES // (1024 * 1024)} MiB",
            code="too_large",
            field="file",
        )


def safe_member_path(name: str) -> str:
    """`name` as a normalised relative path inside a package; refuses absolute or escaping ones."""
    candidate = name.replace("\\", "/")
    if (
        candidate.startswith("/")
        or (len(candidate) > 1 and candidate[1] == ":")  # C:/..., a Windows drive
        or "\x00" in candidate
    ):
        raise InvalidInput(
            f"the package names an absolute path: {name!r}", code="unsafe_path", field="file"
        )
    normalised = posixpath.normpath(candidate)
    if normalised == ".." or normalised.startswith("../") or normalised.startswith("/"):
        raise InvalidInput(
            f"the package names a path outside itself: {name!r}", code="unsafe_path", field="file"
        )
    return normalised


@dataclass(frozen=True, slots=True)
class Package:
    """A package's files by normalised path (directories left out), read within the limits."""

    files: dict[str, bytes]


def read_package(data: bytes) -> Package:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InvalidInput(
            f"the package is not a valid zip file: {exc}", code="bad_zip", field="file"
        ) from None
    with archive:
        members = archive.infolist()
        if len(members) > PACKAGE_MEMBERS_MAX:
            raise InvalidInput(
                f"the package has more than {PACKAGE_MEMBERS_MAX} files",
                code="too_many_files",
                field="file",
            )
        declared = 0
        for info in members:
            safe_member_path(info.filename)
            declared += info.file_size
        if declared > PACKAGE_UNCOMPRESSED_MAX_BYTES:
            raise _too_big()
        files: dict[str, bytes] = {}
        total = 0
        for info in members:
            if info.is_dir():
                continue
            if info.flag_bits & 0x1:
                raise InvalidInput(
                    f"the package holds an encrypted file: {info.filename!r}",
                    code="bad_zip",
                    field="file",
                )
            # The sizes in the zip's directory are the sender's word: count what inflates.
            chunks = []
            size = 0
            try:
                with archive.open(info) as stream:
                    while chunk := stream.read(_CHUNK):
                        size += len(chunk)
                        total += len(chunk)
                        if size > info.file_size or total > PACKAGE_UNCOMPRESSED_MAX_BYTES:
                            raise _too_big()
                        chunks.append(chunk)
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
                raise InvalidInput(
                    f"the package's file {info.filename!r} cannot be read: {exc}",
                    code="bad_zip",
                    field="file",
                ) from None
            files[safe_member_path(info.filename)] = b"".join(chunks)
    return Package(files=files)


def _too_big() -> InvalidInput:
    limit = PACKAGE_UNCOMPRESSED_MAX_BYTES // (1024 * 1024)
    return InvalidInput(
        f"the package holds more than {limit} MiB once uncompressed",
        code="too_large",
        field="file",
    )
