"""vCard 2.1 / 3.0 / 4.0 in, vCard 3.0 / 4.0 out.

vobject parses the cards, after our pre-pass: vCard 2.1 writes non-ASCII values as
QUOTED-PRINTABLE in the property's CHARSET, and phones break long lines with "=" soft breaks,
often in the middle of a UTF-8 sequence, which vobject would try to decode piece by piece.
So the pre-pass joins soft breaks, decodes each such value with its charset, and hands vobject
plain text.
"""

from __future__ import annotations

import quopri
import re
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from django.utils.translation import gettext as _

from customers.importing.reading import Table, UnreadableFile, canonical_encoding, not_valid_text, text_stream

HEADERS = ["FN", "N family", "N given", "EMAIL", "TEL CELL", "TEL", "ORG", "TITLE", "BDAY", "NOTE", "UID", "CATEGORIES"]
_QP = re.compile(r"(?:^|;)(?:ENCODING=)?QUOTED-PRINTABLE(?=;|$)", re.IGNORECASE)
_CHARSET = re.compile(r";CHARSET=([^;:]+)", re.IGNORECASE)
_ENCODING_PARAMS = re.compile(r";(?:ENCODING=)?QUOTED-PRINTABLE|;CHARSET=[^;:]+", re.IGNORECASE)


def _decode_quoted_printable(lines: list[str]) -> list[str]:
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        head, colon, value = line.partition(":")
        if colon and _QP.search(head):
            # Soft line breaks: a value ending in "=" continues on the next line.
            while value.endswith("=") and index + 1 < len(lines):
                index += 1
                value = value[:-1] + lines[index]
            match = _CHARSET.search(head)
            charset = canonical_encoding(match.group(1)) if match else "utf-8"
            raw = quopri.decodestring(value.encode("latin-1", errors="replace"))
            text = raw.decode(charset, errors="replace").replace("\r\n", "\n").replace("\n", "\\n")
            line = _ENCODING_PARAMS.sub("", head) + ":" + text
        elif colon and _CHARSET.search(head):
            line = _CHARSET.sub("", head) + ":" + value  # the file was decoded as a whole already
        out.append(line)
        index += 1
    return out


def _cards(text) -> Iterator[list[str]]:
    """The lines of each top-level card, read line by line (a card inside a card stays in it)."""
    lines: list[str] = []
    depth = 0
    for line in text:
        line = line.rstrip("\r\n")
        upper = line.strip().upper()
        if upper == "BEGIN:VCARD":
            depth += 1
        if depth:
            lines.append(line)
        if upper == "END:VCARD" and depth:
            depth -= 1
            if not depth:
                yield lines
                lines = []


def _types(prop) -> set[str]:
    types = {t.lower() for value in prop.params.get("TYPE", []) for t in value.split(",")}
    types.update(p.lower() for p in getattr(prop, "singletonparams", []))
    return types


def _text(value) -> str:
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value if v).strip()
    return str(value or "").strip()


def _card_row(card) -> list[str]:
    contents = card.contents
    fn = _text(contents["fn"][0].value) if "fn" in contents else ""
    family = given = ""
    if "n" in contents:
        name = contents["n"][0].value
        family, given = _text(getattr(name, "family", "")), _text(getattr(name, "given", ""))
    emails = contents.get("email", [])
    emails = sorted(emails, key=lambda p: "pref" not in _types(p))
    email = _text(emails[0].value) if emails else ""
    mobile = phone = ""
    for tel in contents.get("tel", []):
        number = _text(tel.value).removeprefix("tel:")
        if {"cell", "mobile"} & _types(tel):
            mobile = mobile or number
        else:
            phone = phone or number
    org = _text(contents["org"][0].value[:1]) if "org" in contents else ""
    title = _text(contents["title"][0].value) if "title" in contents else ""
    birthday = _text(contents["bday"][0].value) if "bday" in contents else ""
    note = _text(contents["note"][0].value) if "note" in contents else ""
    uid = _text(contents["uid"][0].value) if "uid" in contents else ""
    categories = (
        ",".join(_text(c) for p in contents.get("categories", []) for c in p.value) if "categories" in contents else ""
    )
    return [fn, family, given, email, mobile, phone, org, title, birthday, note, uid, categories]


def read_vcards(data: bytes | BinaryIO, *, encoding: str = "") -> Table:
    """The cards as rows under HEADERS, parsed one card at a time as the file is read."""
    import vobject

    text, used = text_stream(data, encoding)

    def rows():
        count = 0
        try:
            for number, lines in enumerate(_cards(text), start=2):
                card = vobject.readOne("\r\n".join(_decode_quoted_printable(lines)) + "\r\n", ignoreUnreadable=True)
                if card.name.upper() == "VCARD":
                    count += 1
                    yield number, _card_row(card)
        except UnicodeError:
            raise not_valid_text(used) from None
        except UnreadableFile:
            raise
        except Exception as error:  # vobject raises ParseError and friends, all meaning "not a vCard"
            raise UnreadableFile(_("The vCard file could not be read: %(error)s") % {"error": error}) from None
        if not count:
            raise UnreadableFile(_("The file holds no vCards."))

    return Table(headers=list(HEADERS), rows=rows(), encoding=used)


# --- writing ---------------------------------------------------------------------------------


def _escape(value: str) -> str:
    return (
        str(value).replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "").replace(",", "\\,").replace(";", "\\;")
    )


def _fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after a space, never inside a character."""
    out, current, size = [], "", 0
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > 75:
            out.append(current)
            current, size = " ", 1
        current += char
        size += width
    out.append(current)
    return "\r\n".join(out)


def contact_vcard(contact, *, version: str = "3.0", reveal: bool = False) -> str:
    """One contact as a vCard; phone numbers only for someone allowed to see them."""
    lines = ["BEGIN:VCARD", f"VERSION:{version}"]
    lines.append(f"FN:{_escape(contact.display_name)}")
    lines.append(f"N:{_escape(contact.family_name)};{_escape(contact.given_name)};;;")
    if contact.company_id:
        lines.append(f"ORG:{_escape(contact.company.name)}")
    if contact.title:
        lines.append(f"TITLE:{_escape(contact.title)}")
    if contact.email:
        lines.append(f"EMAIL;TYPE={'work' if version == '4.0' else 'INTERNET'}:{_escape(contact.email)}")
    if reveal:
        for value, kind in ((contact.mobile, "cell"), (contact.phone, "work")):
            if value:
                type_param = f"{kind},voice" if version == "4.0" else f"{kind.upper()},VOICE"
                lines.append(f"TEL;TYPE={type_param}:{_escape(value)}")
    if contact.birthday:
        birthday = contact.birthday.isoformat() if version == "3.0" else contact.birthday.strftime("%Y%m%d")
        lines.append(f"BDAY:{birthday}")
    tags = [t.name for t in contact.tags.all()]
    if tags:
        lines.append("CATEGORIES:" + ",".join(_escape(t) for t in tags))
    lines.append(f"UID:{_escape(contact.external_id or f'crm-contact-{contact.pk}')}")
    lines.append("END:VCARD")
    return "".join(_fold(line) + "\r\n" for line in lines)


def vcard_chunks(contacts: Iterable, *, version: str = "3.0", reveal: bool = False):
    for contact in contacts:
        yield contact_vcard(contact, version=version, reveal=reveal)


def write_vcards(stream, contacts: Iterable, *, version: str = "3.0", reveal: bool = False) -> int:
    """Write the cards to a binary file; returns how many."""
    count = 0
    for count, card in enumerate(vcard_chunks(contacts, version=version, reveal=reveal), start=1):  # noqa: B007
        stream.write(card.encode("utf-8"))
    return count
