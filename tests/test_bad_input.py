"""Hostile and broken inputs: each gives a specific FilingError naming the source, fast."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tasks.errors import (
    HostileXmlError,
    MalformedXmlError,
    NoOwnershipXmlError,
    NotOwnershipFormError,
    UnreadableFilingError,
)
from tasks.extract import parse_file

pytestmark = pytest.mark.fast

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<ownershipDocument><documentType>3</documentType><remarks>&lol9;</remarks></ownershipDocument>
"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE ownershipDocument [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<ownershipDocument><documentType>3</documentType><remarks>&xxe;</remarks></ownershipDocument>
"""


def _write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


@pytest.fixture
def good_bytes(corpus: Path) -> bytes:
    return (corpus / "filings" / "0000100493-20-000092.txt").read_bytes()


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFilingError, match="No such file"):
        parse_file(str(tmp_path / "nope.txt"))


def test_empty_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "empty.txt", b"")
    with pytest.raises(UnreadableFilingError, match="empty") as info:
        parse_file(path)
    assert info.value.source == path and path in str(info.value)


def test_binary_garbage(tmp_path: Path) -> None:
    path = _write(tmp_path, "garbage.bin", bytes(range(1, 256)) * 40)
    with pytest.raises(NoOwnershipXmlError, match="neither an EDGAR submission"):
        parse_file(path)


def test_truncated_submission(tmp_path: Path, good_bytes: bytes) -> None:
    cut = good_bytes[: good_bytes.index(b"</ownershipDocument>") - 200]
    with pytest.raises(MalformedXmlError, match="not closed"):
        parse_file(_write(tmp_path, "cut.txt", cut))


def test_truncated_bare_xml(tmp_path: Path, good_bytes: bytes) -> None:
    xml = good_bytes[good_bytes.index(b"<?xml") : good_bytes.index(b"</ownershipDocument>") - 50]
    with pytest.raises(MalformedXmlError, match="not well-formed"):
        parse_file(_write(tmp_path, "cut.xml", xml))


def test_wrong_root_element(tmp_path: Path) -> None:
    with pytest.raises(NoOwnershipXmlError, match="root element is <edgarSubmission>"):
        parse_file(_write(tmp_path, "x.xml", b"<?xml version='1.0'?><edgarSubmission/>"))


def test_submission_without_xml_document(tmp_path: Path, good_bytes: bytes) -> None:
    data = good_bytes.replace(b"<XML>", b"<XBRL>").replace(b"</XML>", b"</XBRL>")
    with pytest.raises(NoOwnershipXmlError, match="first document has no <XML>"):
        parse_file(_write(tmp_path, "paper.txt", data))


def test_a_document_type_outside_the_six_forms_is_rejected_naming_it(corpus: Path, tmp_path: Path) -> None:
    # No real filing has one: a real Form 4 with its documentType changed to "10-K".
    real = (corpus / "filings" / "0001062993-23-012371.xml").read_bytes()
    assert b"<documentType>4</documentType>" in real
    path = _write(tmp_path, "x.xml", real.replace(b"<documentType>4<", b"<documentType>10-K<"))
    with pytest.raises(NotOwnershipFormError, match="'10-K', not an ownership form") as info:
        parse_file(path)
    assert info.value.kind == "not_ownership_form" and info.value.source == path
    missing = _write(tmp_path, "y.xml", real.replace(b"<documentType>4</documentType>", b""))
    with pytest.raises(NotOwnershipFormError, match="documentType is None"):
        parse_file(missing)


def test_billion_laughs_fails_fast(tmp_path: Path) -> None:
    path = _write(tmp_path, "lol.xml", BILLION_LAUGHS)
    start = time.perf_counter()
    with pytest.raises(HostileXmlError, match="DTD or entities"):
        parse_file(path)
    # Not a speed assertion: expansion would take minutes and gigabytes, refusal is instant.
    assert time.perf_counter() - start < 5


def test_xxe_reads_nothing(tmp_path: Path) -> None:
    with pytest.raises(HostileXmlError) as info:
        parse_file(_write(tmp_path, "xxe.xml", XXE))
    assert "root:" not in str(info.value)


def test_hardened_parser_does_not_expand_entities_even_without_the_guard() -> None:
    # Defence in depth: if the DOCTYPE guard were bypassed, lxml itself must not resolve.
    from tasks.parser import _hardened_parser
    from lxml import etree

    root = etree.fromstring(XXE, _hardened_parser())
    assert "root:" not in "".join(root.itertext())
