"""The hand-written QTI samples, and hostile files, shared by the domain, API and web tests."""

from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

#: A `files` dependency of the tests that read it (packages/domain/tests/BUILD), so the path is
#: relative to the sandbox root.
SAMPLES = Path("packages/domain/tests/repo_domain_tests/qti_samples")


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def zip_of(files: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def sample_package() -> bytes:
    """package_v2p1/ zipped: a manifest, a test ordering 3 items, one of them a hotspot."""
    root = SAMPLES / "package_v2p1"
    return zip_of(
        {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
    )


def padded_package(size: int) -> bytes:
    """The sample package grown to about `size` bytes by an incompressible media file that no
    item uses (a package with pictures is this large; the import reads only the XML)."""
    root = SAMPLES / "package_v2p1"
    files = {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }
    base = len(zip_of(files))
    files["media/padding.bin"] = random.Random(size).randbytes(max(size - base - 200, 0))
    return zip_of(files, compression=zipfile.ZIP_STORED)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" identifier="bomb" title="&lol9;">
<itemBody><p>&lol9;</p></itemBody></assessmentItem>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE item [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" identifier="xxe" title="x">
<itemBody><p>&secret;</p></itemBody></assessmentItem>
"""

WRONG_NAMESPACE = b"""<?xml version="1.0"?>
<assessmentItem xmlns="http://example.com/not-qti" identifier="x" title="x">
<itemBody/></assessmentItem>
"""


def zip_bomb() -> bytes:
    """64 MiB of zeros that deflate to about 64 kB: over the uncompressed limit."""
    return zip_of({"imsmanifest.xml": b"<manifest/>", "zeros.bin": bytes(64 * 1024 * 1024)})


def lying_zip() -> bytes:
    """A member whose directory entry declares 10 bytes but inflates to 1 MiB."""
    data = bytearray(zip_of({"items/a.xml": bytes(1024 * 1024)}))
    # Patch the declared uncompressed size (local header at offset 22, central directory entry
    # at 24 bytes past its signature) down to 10.
    data[22:26] = (10).to_bytes(4, "little")
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    return bytes(data)
