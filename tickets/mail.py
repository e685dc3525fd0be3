"""Support e-mail as data: read an inbound message, cut the quoted conversation from a reply, and
keep the ticket number in the subjects and threading headers of the answers.

Pure functions over bytes and strings, on the standard library's `email` package; nothing here
touches the database, reads settings or sends anything.

What inbound mail looks like in practice, and what `parse_message` does about it:

- Chinese mailers label text GBK or GB2312 but use characters only GB18030 has: those charsets are
  always decoded as GB18030. Text without a usable charset is tried as UTF-8, then GB18030, and
  decoded with replacement characters as a last resort; headers with raw 8-bit bytes likewise.
- Headers are often broken (unterminated encoded words, a Date that is no date, no Message-ID, no
  From): every field falls back to an empty value, and a missing Message-ID to a stable one
  derived from the message's bytes, so fetching the same message twice yields the same id.
- Only input that cannot be a message at all (nothing but whitespace) raises `MailParseError`.
- Text never contains NUL characters (PostgreSQL refuses them) and headers never line breaks.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import hashlib
import html
import mimetypes
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.errors import MessageError
from email.message import Message
from email.parser import BytesParser
from email.policy import Compat32
from email.utils import make_msgid, parseaddr, parsedate_to_datetime
from html.parser import HTMLParser
from typing import NamedTuple

__all__ = [
    "TICKET_NUMBER_RE",
    "Attachment",
    "InboundMessage",
    "MailParseError",
    "decode_header_text",
    "find_ticket_number",
    "make_message_id",
    "parse_message",
    "reply_subject",
    "strip_quoted_reply",
    "thread_headers",
]

TICKET_NUMBER_RE = re.compile(r"(?<![A-Za-z0-9])T-[0-9]{4}-[0-9]{6}(?![0-9])")
"""A ticket number, `T-2026-000123`, standing on its own (ASCII digits only)."""

MAX_REFERENCES = 20
"""How many ancestors an answer's References header names (the most recent ones)."""

_MAX_DEPTH = 30  # nesting of multiparts that is read; real mail stays below ten
_SYNTHETIC_ID_DOMAIN = "message-id.invalid"
_AUTOMATIC_PRECEDENCE = {"bulk", "junk", "auto_reply", "list"}
_AUTOMATIC_SENDERS = {"mailer-daemon", "postmaster"}


class MailParseError(ValueError):
    """The input is not an e-mail message at all."""


class Attachment(NamedTuple):
    """A file carried by a message: its decoded name, MIME type and content."""

    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class InboundMessage:
    """What the ticket desk needs from one inbound e-mail.

    Message ids keep their angle brackets (`<id@host>`). Fields a message lacks are empty strings
    or lists; `date` is None when the Date header is missing or unreadable.
    """

    message_id: str
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    from_address: str = ""
    from_name: str = ""
    subject: str = ""
    date: datetime | None = None
    text: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    is_automatic: bool = False
    # The receiving mail server judged the From address forged (see `_sender_forged`).
    sender_forged: bool = False

    @property
    def parent_ids(self) -> list[str]:
        """Every earlier message this one answers, oldest first, each once."""
        return _unique([*self.references, *self.in_reply_to])


# --- Parsing ------------------------------------------------------------------------------------


class _RawHeaders(Compat32):
    """compat32, except that header values come back as the raw text (8-bit bytes as surrogate
    escapes) instead of `Header` objects, so that they are decoded here, GB18030 included."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        if name.lower() in ("content-type", "content-disposition"):
            return _without_clashing_parameters(value)
        return value


_EXTENDED_PARAMETER = re.compile(r";\s*(\w+)\*(?:([0-9]+)\*?)?\s*(?==|;|$)")  # a bare "name*" counts too


def _without_clashing_parameters(value: str) -> str:
    """Python's parameter decoder (and so its MIME parser) fails on a header that gives one RFC 2231
    parameter both whole (`name*=`) and in numbered pieces (`name*0*=`): such a name is renamed
    out of the way, which loses that parameter and nothing else."""
    forms: dict[str, set[bool]] = {}
    for match in _EXTENDED_PARAMETER.finditer(value):
        forms.setdefault(match.group(1).lower(), set()).add(match.group(2) is None)
    clashing = {name for name, seen in forms.items() if len(seen) > 1}
    if not clashing:
        return value

    def rename(match: re.Match[str]) -> str:
        clashes = match.group(1).lower() in clashing
        return f"; x-dropped-{match.group(0)[1:].lstrip()}" if clashes else match.group(0)

    return _EXTENDED_PARAMETER.sub(rename, value)


_POLICY = _RawHeaders()


def parse_message(raw: bytes) -> InboundMessage:
    """Read an e-mail message (RFC 5322 bytes, as fetched over IMAP) into an `InboundMessage`.

    Never fails on a malformed message: what cannot be read is left empty. Raises MailParseError
    only for input holding nothing but whitespace.
    """
    raw = bytes(raw)
    if not raw.strip():
        raise MailParseError("An empty input is not an e-mail message.")
    try:
        message = message_from_bytes(raw, policy=_POLICY)
    except RecursionError:
        # Multiparts nested thousands deep exhaust the parser: keep the headers, drop the body.
        message = BytesParser(policy=_POLICY).parsebytes(raw, headersonly=True)
        message.set_payload("")
    from_name, from_address = _sender(message)
    message_ids = _message_ids(_header(message, "Message-ID"))
    body = _Body()
    _read_part(message, body, depth=0)
    return InboundMessage(
        message_id=message_ids[0] if message_ids else _synthetic_message_id(raw),
        in_reply_to=_message_ids(_header(message, "In-Reply-To")),
        references=_message_ids(" ".join(_headers(message, "References"))),
        from_address=from_address,
        from_name=from_name,
        subject=decode_header_text(_header(message, "Subject")),
        date=_date(_header(message, "Date")),
        text=body.text(),
        attachments=body.attachments,
        is_automatic=_is_automatic(message, from_address),
        sender_forged=_sender_forged(message, from_address),
    )


def decode_header_text(value: str) -> str:
    """A header value as readable text: RFC 2047 encoded words decoded, raw 8-bit bytes guessed,
    folding and control characters turned into single spaces."""
    if not value:
        return ""
    value = _unfold(value)
    pieces: list[str | tuple[str, bytes]] = []  # plain text, or (charset, bytes of encoded words)
    position = 0
    for match in _ENCODED_WORD.finditer(value):
        between = value[position : match.start()]
        position = match.end()
        data = _decode_encoded_word(match.group(2), match.group(3))
        if data is None:  # undecodable: keep the word as it stands
            pieces.append(between + match.group(0))
            continue
        # Whitespace between two encoded words is not part of the text (RFC 2047 section 6.2).
        if between and not (between.isspace() and pieces and isinstance(pieces[-1], tuple)):
            pieces.append(between)
        charset = match.group(1).split("*", 1)[0].lower()
        if pieces and isinstance(pieces[-1], tuple) and pieces[-1][0] == charset:
            # A character may be split across adjacent words of one charset: join their bytes.
            pieces[-1] = (charset, pieces[-1][1] + data)
        else:
            pieces.append((charset, data))
    pieces.append(value[position:])
    text = "".join(
        _decode_bytes(piece[1], piece[0]) if isinstance(piece, tuple) else _raw_header_text(piece) for piece in pieces
    )
    return _one_line(text)


_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")


def _decode_encoded_word(encoding: str, text: str) -> bytes | None:
    data = text.encode("utf-8", "surrogateescape")
    if encoding in "qQ":
        return binascii.a2b_qp(data, header=True)
    data = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
    data = data[: len(data) - len(data) % 4] if len(data) % 4 == 1 else data + b"=" * (-len(data) % 4)
    try:
        return base64.b64decode(data)
    except binascii.Error:
        return None


def _raw_header_text(text: str) -> str:
    """Header text as parsed from bytes: ASCII, with any 8-bit bytes carried as surrogate escapes."""
    if text.isascii():
        return text
    return _guess_decode(text.encode("utf-8", "surrogateescape"))


def _header(message: Message, name: str) -> str:
    value = message.get(name)
    return "" if value is None else str(value)


def _headers(message: Message, name: str) -> list[str]:
    return [str(value) for value in message.get_all(name) or []]


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", value)


def _one_line(text: str) -> str:
    return re.sub(r"[\x00-\x1f\x7f]+", " ", text).strip()


def _sender(message: Message) -> tuple[str, str]:
    """(display name, address) of the From header, or of Sender when From is missing."""
    value = _header(message, "From") or _header(message, "Sender")
    if not value:
        return "", ""
    value = _unfold(value)
    name, address = parseaddr(value)
    if "@" not in address:
        found = re.search(r"[^\s<>()\[\],;:\"@]+@[^\s<>()\[\],;:\"@]+", value)
        address = found.group(0) if found else ""
        if not name and not found:
            name = value
    return decode_header_text(name).strip("\"' "), _one_line(_raw_header_text(address)).lower()


_MESSAGE_ID = re.compile(r"<([^<>]*)>")
_BARE_MESSAGE_ID = re.compile(r"[^\s<>,;()\"]+@[^\s<>,;()\"]+")


def _message_ids(value: str) -> list[str]:
    """The message ids a header names, in angle brackets, each once; bare `id@host` tokens too."""
    value = _raw_header_text(_unfold(value))
    ids = [found for found in map(_normalise_id, _MESSAGE_ID.findall(value)) if found]
    if not ids:
        ids = [found for found in map(_normalise_id, _BARE_MESSAGE_ID.findall(value)) if found]
    return _unique(ids)


def _synthetic_message_id(raw: bytes) -> str:
    return f"<{hashlib.sha256(raw).hexdigest()}@{_SYNTHETIC_ID_DOMAIN}>"


def _date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(_one_line(_raw_header_text(value)))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # "-0000" means the sender's zone is unknown; the time itself is UTC (RFC 5322 3.3).
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _sender_forged(message: Message, from_address: str) -> bool:
    """Whether the receiving mail server found the sender's domain forged: its
    Authentication-Results header (the topmost: a server adds its own above whatever the sender
    wrote) says dmarc=fail, or an SPF failure with no passing DKIM signature of the From
    address's own domain. Only ever used to withhold trust, never to grant it, so a header the
    sender wrote themselves gains them nothing."""
    values = _headers(message, "Authentication-Results")
    if not values:
        return False
    domain = from_address.rpartition("@")[2].lower()
    results = _auth_results(values[0])
    if any(method == "dmarc" and result == "fail" for method, result, _props in results):
        return True
    spf_failed = any(method == "spf" and result in ("fail", "softfail") for method, result, _props in results)
    aligned_dkim = any(
        method == "dkim" and result == "pass" and _aligned(props.get("header.d", ""), domain)
        for method, result, props in results
    )
    return spf_failed and not aligned_dkim


def _auth_results(value: str) -> list[tuple[str, str, dict[str, str]]]:
    """(method, result, properties) of each result of an Authentication-Results value (RFC 8601),
    comments left out; the first part, the server's id, is not a result."""
    results = []
    for part in _unfold(value).split(";")[1:]:
        tokens = re.sub(r"\([^()]*\)", " ", part).split()
        if not tokens or "=" not in tokens[0]:
            continue
        method, _equals, result = tokens[0].lower().partition("=")
        properties = dict(token.lower().partition("=")[::2] for token in tokens[1:] if "=" in token)
        results.append((method, result, properties))
    return results


def _aligned(signing_domain: str, from_domain: str) -> bool:
    """Whether a DKIM signature's domain is the From domain or a parent of it (relaxed alignment)."""
    return bool(signing_domain) and (from_domain == signing_domain or from_domain.endswith("." + signing_domain))


def _is_automatic(message: Message, from_address: str) -> bool:
    """Whether a program sent this (auto-reply, bounce, list): answering it could start a mail loop."""
    auto_submitted = _first_token(_header(message, "Auto-Submitted"))
    if auto_submitted and auto_submitted != "no":
        return True
    if any(message.get(name) is not None for name in ("X-Autoreply", "X-Autorespond", "X-Failed-Recipients")):
        return True
    if _first_token(_header(message, "Precedence")) in _AUTOMATIC_PRECEDENCE:
        return True
    if any(re.fullmatch(r"\s*<\s*>\s*", path) for path in _headers(message, "Return-Path")):
        return True
    if message.get_content_type() == "multipart/report":
        return True
    return from_address.partition("@")[0] in _AUTOMATIC_SENDERS


def _first_token(value: str) -> str:
    return _unfold(value).split(";", 1)[0].strip().lower()


# --- Body and attachments -----------------------------------------------------------------------


class _Body:
    """The text parts and attachments collected while walking a message."""

    def __init__(self) -> None:
        self.plain: list[str] = []
        self.html: list[str] = []
        self.attachments: list[Attachment] = []

    def text(self) -> str:
        """The plain text parts when there are any, else the HTML ones turned into text."""
        parts = self.plain or [_html_to_text(part) for part in self.html]
        text = "\n\n".join(part.strip("\n") for part in parts if part.strip())
        return text.strip("\n")


def _read_part(part: Message, body: _Body, *, depth: int) -> None:
    if depth > _MAX_DEPTH:
        return
    content_type = part.get_content_type()
    if content_type.startswith("message/") and part.is_multipart():
        _attach_message(part, body, content_type)
        return
    if part.is_multipart():
        subparts = [sub for sub in part.get_payload() if isinstance(sub, Message)]
        if content_type == "multipart/alternative":
            _read_alternatives(subparts, body, depth=depth + 1)
        else:
            for sub in subparts:
                _read_part(sub, body, depth=depth + 1)
        return
    filename = _filename(part)
    if content_type in ("text/plain", "text/html") and not filename and part.get_content_disposition() != "attachment":
        text = _part_text(part)
        if content_type == "text/html":
            body.html.append(text)
        else:
            body.plain.append(_unflow(text, part) if _param(part, "format") == "flowed" else text)
        return
    content = part.get_payload(decode=True)
    if isinstance(content, bytes):
        name = filename or _default_filename(content_type, len(body.attachments) + 1)
        body.attachments.append(Attachment(name, content_type, content))


def _read_alternatives(subparts: list[Message], body: _Body, *, depth: int) -> None:
    """Versions of one text: the plain one wins, the HTML one stands in; files in any version count."""
    versions = []
    for sub in subparts:
        version = _Body()
        _read_part(sub, version, depth=depth)
        versions.append(version)
        body.attachments.extend(version.attachments)
    plain = [version.plain for version in versions if version.plain]
    html_versions = [version.html for version in versions if version.html]
    if plain:
        body.plain.extend(plain[-1])
    elif html_versions:
        body.html.extend(html_versions[-1])


def _attach_message(part: Message, body: _Body, content_type: str) -> None:
    """An attached message (a forward, a bounce's original, its delivery report) kept as a file."""
    try:
        content = b"".join(sub.as_bytes() for sub in part.get_payload() if isinstance(sub, Message))
    except (MessageError, LookupError, ValueError, TypeError, RecursionError):  # unwritable headers
        return
    default = "message.eml" if content_type in ("message/rfc822", "message/global") else None
    name = _filename(part) or default or _default_filename("text/plain", len(body.attachments) + 1)
    body.attachments.append(Attachment(name, content_type, content))


def _part_text(part: Message) -> str:
    content = part.get_payload(decode=True)
    if not isinstance(content, bytes):
        return ""
    text = _decode_bytes(content, part.get_content_charset())
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\0", "")


def _param(part: Message, name: str) -> str:
    value = part.get_param(name)
    return value.strip().lower() if isinstance(value, str) else ""


def _unflow(text: str, part: Message) -> str:
    """Join the soft line breaks of format=flowed text (RFC 3676), quoted lines at their own depth."""
    delete_space = _param(part, "delsp") == "yes"
    lines: list[tuple[int, str]] = []
    joining = False
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):  # space-stuffing
            content = content[1:]
        flowed = content.endswith(" ") and content != "-- "
        if flowed and delete_space:
            content = content[:-1]
        if joining and lines and lines[-1][0] == depth:
            lines[-1] = (depth, lines[-1][1] + content)
        else:
            lines.append((depth, content))
        joining = flowed
    return "\n".join(f"{'>' * depth} {content}".rstrip() if depth else content for depth, content in lines)


def _filename(part: Message) -> str:
    """The attachment's file name, decoded (RFC 2231, RFC 2047 or raw 8-bit) and without any path."""
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        value = part.get_param(param, header=header)
        if isinstance(value, tuple):  # RFC 2231: (charset, language, text with bytes as Latin-1)
            charset, _language, text = value
            try:
                data = text.encode("latin-1", "surrogateescape")
            except UnicodeEncodeError:
                data = text.encode("utf-8", "surrogateescape")
            name = _one_line(_decode_bytes(data, charset or None))
        elif isinstance(value, str):
            name = decode_header_text(value.strip('"'))
        else:
            continue
        name = re.split(r"[/\\]", name)[-1].strip(" .")
        if name:
            return name[-255:]
    return ""


_MIME_TYPES = mimetypes.MimeTypes()  # Python's own table only, so names do not vary by machine


def _default_filename(content_type: str, number: int) -> str:
    return f"attachment-{number}{_MIME_TYPES.guess_extension(content_type) or '.bin'}"


# --- Character sets -----------------------------------------------------------------------------

_GB_CHARSETS = {"gbk", "gb2312", "gb_2312", "gb_2312-80", "x-gbk", "cp936", "ms936", "windows-936", "euc-cn"}
_UNKNOWN_CHARSETS = {"", "us-ascii", "ascii", "unknown-8bit", "x-unknown", "unknown", "default"}


def _codec(charset: str | None) -> str | None:
    """The Python codec for a declared charset, or None when the declaration says nothing useful."""
    name = (charset or "").strip().strip("\"'").lower()
    if name in _UNKNOWN_CHARSETS or not name.isascii():
        return None
    if name in _GB_CHARSETS:
        return "gb18030"
    try:
        normalised = codecs.lookup(name).name
    except (LookupError, ValueError):
        return None
    return "gb18030" if normalised in ("gbk", "gb2312") else normalised


def _decode_bytes(data: bytes, charset: str | None) -> str:
    """Text in the declared charset; a wrong declaration falls back to UTF-8 or GB18030 when
    either reads the bytes cleanly, and to replacement characters when nothing does."""
    codec = _codec(charset)
    if codec is not None:
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            pass
        except (LookupError, ValueError):  # not a text codec, or one that fails outright
            codec = None
    for guess in ("utf-8", "gb18030"):
        try:
            return data.decode(guess)
        except UnicodeDecodeError:
            continue
    try:
        return data.decode(codec or "utf-8", "replace")
    except (LookupError, ValueError):
        return data.decode("utf-8", "replace")


def _guess_decode(data: bytes) -> str:
    return _decode_bytes(data, None)


# --- HTML to text -------------------------------------------------------------------------------


class _HtmlText(HTMLParser):
    """Text of an HTML body as a mail reader shows it: no scripts or styles, entities resolved,
    one line per block, blockquotes as "> " lines."""

    _HIDDEN = frozenset({"script", "style", "title", "template", "xml"})
    _BLOCKS = frozenset(
        {"address", "article", "aside", "center", "dd", "div", "dl", "dt", "footer", "form", "header", "hr"}
        | {"li", "main", "nav", "ol", "section", "table", "tbody", "thead", "tfoot", "tr", "ul"}
    )
    _PARAGRAPHS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._line: list[str] = []
        self._line_quote = 0
        self._hidden = 0
        self._quote = 0
        self._last_quote = 0
        self._pre = 0
        self._gap = False  # a paragraph ended: a blank line goes before the next text

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden += 1
        elif tag == "br":
            self._end_line(keep_empty=True)
        elif tag in self._PARAGRAPHS:
            self._end_paragraph()
            self._quote += tag == "blockquote"
            self._pre += tag == "pre"
        elif tag in self._BLOCKS:
            self._end_line()
            if tag == "li":
                self._write("- ")
        elif tag in ("td", "th") and self._line:
            self._write(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden = max(self._hidden - 1, 0)
        elif tag in self._PARAGRAPHS:
            self._end_paragraph()
            if tag == "blockquote":
                self._quote = max(self._quote - 1, 0)
            elif tag == "pre":
                self._pre = max(self._pre - 1, 0)
        elif tag in self._BLOCKS:
            self._end_line()

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        if self._pre:
            first, *rest = data.replace("\r\n", "\n").split("\n")
            self._write(first, collapse=False)
            for line in rest:
                self._end_line(keep_empty=True)
                self._write(line, collapse=False)
        else:
            self._write(data)

    def text(self) -> str:
        self._end_line()
        text = "\n".join(self.lines)
        return re.sub(r"\n{3,}", "\n\n", text).strip("\n")

    def _write(self, text: str, *, collapse: bool = True) -> None:
        if collapse:
            text = re.sub(r"\s+", " ", text)
            if not self._line or "".join(self._line).endswith(" "):
                text = text.lstrip(" ")
        if text:
            if not self._line:
                self._line_quote = self._quote
            self._line.append(text)

    def _end_line(self, *, keep_empty: bool = False) -> None:
        line = "".join(self._line).rstrip()
        self._line = []
        if not line and not keep_empty:
            return
        quote = self._line_quote if line else self._quote
        if self._gap and self.lines:
            self.lines.append(("> " * min(quote, self._last_quote)).rstrip())
        self._gap = False
        self.lines.append(("> " * quote + line).rstrip())
        self._last_quote = quote

    def _end_paragraph(self) -> None:
        self._end_line()
        self._gap = True


def _html_to_text(markup: str) -> str:
    parser = _HtmlText()
    try:
        parser.feed(markup)
        parser.close()
        return parser.text()
    except (AssertionError, ValueError, RecursionError):
        # The parser gave up on broken markup: drop hidden elements and tags the blunt way.
        markup = re.sub(r"(?is)<(script|style|title)\b.*?(</\1\s*>|$)", " ", markup)
        text = html.unescape(re.sub(r"<[^>]*>?", " ", markup))
        return re.sub(r"[ \t]+", " ", text).strip()


# --- Replies ------------------------------------------------------------------------------------

_QUOTE_SEPARATORS = re.compile(
    r"""^\s*(?:
        -{2,}\s*(?:Original\s+Message|原始邮件|原始郵件)\s*-{2,}   # Outlook, QQ Mail, Foxmail
      | _{10,}                                                      # Outlook's rule above the headers
    )\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
_ATTRIBUTION_END = re.compile(r"(?:\bwrote|\bschrieb|a\s+écrit|写道|寫道)\s*[:：]\s*$", re.IGNORECASE)
_ATTRIBUTION_START = re.compile(r"^(?:On\s|Am\s|Le\s|在)")
_ATTRIBUTION_DATE = re.compile(r"于\s*\d")  # Gmail in Chinese: "Alice <a@example.com> 于2026年1月5日周一 10:00写道："
_FROM_LINE = re.compile(r"^\s*\*?(?:From|发件人|寄件者)\s*\*?\s*[:：]", re.IGNORECASE)
_HEADER_LINE = re.compile(
    r"^\s*\*?(?:Sent|Date|To|Cc|Subject|发送时间|发件时间|日期|时间|收件人|抄送|主题|寄件日期|收件者|主旨)\s*\*?\s*[:：]",
    re.IGNORECASE,
)


def strip_quoted_reply(text: str) -> str:
    """The new part of a reply: without quoted lines (">") and without everything from the first
    separator of the previous conversation on ("On ... wrote:", "-----Original Message-----",
    "在 ... 写道：", an Outlook or Foxmail "From:"/"发件人：" header block, Outlook's "_____" rule).

    Returns an empty string when the message is nothing but quotation.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for index in range(len(lines)):
        start = _separator_start(lines, index)
        if start is not None:
            lines = lines[:start]
            break
    kept = [line.rstrip() for line in lines if not line.lstrip().startswith(">")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip("\n")


def _separator_start(lines: list[str], index: int) -> int | None:
    """Where the quoted conversation starts, if line `index` ends one of its separators."""
    line = lines[index]
    if _QUOTE_SEPARATORS.match(line):
        return index
    if _FROM_LINE.match(line):
        following = [next_line for next_line in lines[index + 1 : index + 6] if next_line.strip()][:4]
        return index if any(_HEADER_LINE.match(next_line) for next_line in following) else None
    if _ATTRIBUTION_END.search(line):
        return _attribution_start(lines, index)
    return None


def _attribution_start(lines: list[str], end: int) -> int | None:
    """The first line of an attribution ("On Monday, Alice wrote:") ending on line `end`: it may
    be wrapped over up to three lines."""
    for index in range(end, max(end - 3, -1), -1):
        line = lines[index].strip()
        if not line or line.startswith(">"):
            break
        if _ATTRIBUTION_START.match(line):
            return index
        found = _ATTRIBUTION_DATE.search(line)
        if found:
            # "… 于2026年…写道：" wrapped before 于 begins on the line above.
            return index - 1 if found.start() == 0 and index > 0 and lines[index - 1].strip() else index
    # Any "… wrote:" right above quoted lines introduces them.
    following = next((line for line in lines[end + 1 :] if line.strip()), "")
    return end if following.lstrip().startswith(">") else None


# --- Subjects and threading ---------------------------------------------------------------------

_REPLY_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|sv|antw)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]|(?:回复|回覆|答复|答覆)\s*[:：])\s*",
    re.IGNORECASE,
)


def find_ticket_number(subject: str) -> str | None:
    """The first ticket number in a subject (`[T-2026-000123] Re: …`), or None."""
    found = TICKET_NUMBER_RE.search(subject or "")
    return found.group(0) if found else None


def reply_subject(number: str, subject: str) -> str:
    """The subject of an answer on a ticket: `[T-2026-000123] Re: <subject>`, however many reply
    prefixes ("Re:", "RE[2]:", "回复：", "答复:") and copies of the number the subject had."""
    if not TICKET_NUMBER_RE.fullmatch(number):
        raise ValueError(f"{number!r} is not a ticket number.")
    text = _one_line(subject or "")
    tag = rf"(?<![A-Za-z0-9]){re.escape(number)}(?![0-9])"
    text = re.sub(rf"\[\s*{tag}\s*\]|【\s*{tag}\s*】|[(（]\s*{tag}\s*[)）]|{tag}", " ", text)
    while True:
        text = text.strip()
        prefix = _REPLY_PREFIX.match(text)
        if not prefix:
            break
        text = text[prefix.end() :]
    text = re.sub(r"\s{2,}", " ", text)
    return f"[{number}] Re: {text}".rstrip()


def make_message_id(domain: str) -> str:
    """A new, unique Message-ID in angle brackets, on the help desk's mail domain."""
    domain = (domain or "").strip().rstrip(".")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(f"{domain!r} is not a mail domain.") from None
    if not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?", domain):
        raise ValueError(f"{domain!r} is not a mail domain.")
    return make_msgid(domain=domain)


def thread_headers(message_id: str, parent_ids: list[str]) -> dict[str, str]:
    """Message-ID, In-Reply-To and References of an answer, so mail readers thread it.

    `parent_ids` are the ids of the earlier messages, oldest first, the one answered last. An id
    named twice keeps its later place, so the one answered stays last; References names at most the
    last `MAX_REFERENCES`. Malformed ids and the message's own id are left out.
    """
    own = _outgoing_id(message_id)
    if own is None:
        raise ValueError(f"{message_id!r} is not a message id.")
    parents = [parent for parent in map(_outgoing_id, parent_ids) if parent is not None and parent != own]
    parents = list(reversed(_unique(reversed(parents))))[-MAX_REFERENCES:]
    headers = {"Message-ID": own}
    if parents:
        headers["In-Reply-To"] = parents[-1]
        headers["References"] = " ".join(parents)
    return headers


def _outgoing_id(message_id: str) -> str | None:
    """A message id to send: whitespace inside it (a line break above all) makes it malformed."""
    message_id = (message_id or "").strip()
    return None if re.search(r"\s", message_id) else _normalise_id(message_id)


def _normalise_id(message_id: str) -> str | None:
    """A message id as read from a header, unfolded, in angle brackets; None if there is none."""
    inner = re.sub(r"\s+", "", message_id or "").removeprefix("<").removesuffix(">")
    if not inner or re.search(r"[<>\x00-\x1f\x7f]", inner):
        return None
    return f"<{inner}>"


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
