"""The message of one recipient: merge fields in a sandbox, tracked links, the open pixel, the
preheader, the plain-text part."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from campaigns import content
from campaigns.models import Campaign
from campaigns.tests.factories import HTML
from customers.tests.factories import CompanyFactory, ContactFactory


def context(**contact):
    base = {
        "name": "王小明",
        "given_name": "小明",
        "family_name": "王",
        "email": "xm@example.com",
        "title": "经理",
        "company": "示例公司",
        "city": "上海",
    }
    return {
        "contact": {**base, **contact},
        "sender": {"name": "Li Lei", "email": "lilei@example.com"},
        "campaign": {"name": "Spring"},
    }


def campaign(**fields):
    values = {"name": "Spring", "subject": "Hello", "html_body": "<p>Hi</p>", **fields}
    return Campaign(**values)


def click(index):
    return f"https://crm.example.com/marketing/r/c/tok-{index}/"


# --- merge fields ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source, expected",
    [
        ("{{ contact.given_name }}，您好", "小明，您好"),
        ("{{ contact.name }} at {{ contact.company }} in {{ contact.city }}", "王小明 at 示例公司 in 上海"),
        ("{{ sender.name }} <{{ sender.email }}>", "Li Lei <lilei@example.com>"),
        ("{{ campaign.name }}", "Spring"),
        ('{{ contact.title|default("客户") }}', "经理"),
        ("", ""),
    ],
)
def test_merge_fields_are_filled_in(source, expected):
    assert content.render_merge(source, context()) == expected


@pytest.mark.django_db
def test_a_real_contact_fills_in_every_field():
    company = CompanyFactory(name="星河科技", city="深圳")
    contact = ContactFactory(family_name="李", given_name="雷", email="lei@example.com", title="CTO", company=company)
    values = content.recipient_context(contact=contact, sender=company.owner, campaign=campaign())

    rendered = content.render_merge(
        "{{ contact.name }}|{{ contact.email }}|{{ contact.title }}|{{ contact.company }}|{{ contact.city }}", values
    )

    assert rendered == "李雷|lei@example.com|CTO|星河科技|深圳"
    assert values["sender"]["name"] == (company.owner.get_full_name() or company.owner.username)
    # Plain strings only: nothing of an application object is reachable.
    assert all(isinstance(v, str) for part in values.values() for v in part.values())


BAD_SOURCES = [
    "{{ contact.nickname }}",
    "{{ nobody.name }}",
    "{{ contact.name ",
    "{% if %}x{% endif %}",
    "{% for %}",
    "{{ contact.__class__ }}",
    "{{ contact.__class__.__init__.__globals__ }}",
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ contact.items.__self__ }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ lipsum.__globals__ }}",
    '{{ "x" * 100000000 }}',
    "{{ [1] * 100000000 }}",
    "{{ 9 ** 9 ** 9 }}",
    '{{ "%99999999d" % 1 }}',
    "{{ 1 / 0 }}",
    "{{ 10 // 0 }}",
    "{{ contact.name + 1 }}",
    '{{ "abc"|truncate(-1) }}',
    '{{ "x"|center(10000000000000) }}',
    "{% for i in range(100000) %}{% for j in range(100000) %}xx{% endfor %}{% endfor %}",
    '{{ "{0.__class__}".format(contact) }}',
    "{{ contact.update({'name': 'x'}) }}",
]


@pytest.mark.parametrize("source", BAD_SOURCES)
@pytest.mark.parametrize("html_part", [False, True])
def test_a_broken_or_hostile_merge_field_is_a_validation_error(source, html_part):
    with pytest.raises(ValidationError):
        content.render_merge(source, context(), html_part=html_part)


@pytest.mark.parametrize("field", ["subject", "preheader", "html_body", "text_body"])
@pytest.mark.parametrize(
    "source", ["{{ contact.nickname }}", "{{ contact.__class__ }}", '{{ "x" * 100000000 }}', "{{ 1/0 }}"]
)
def test_check_content_names_the_broken_part(field, source):
    with pytest.raises(ValidationError) as raised:
        content.check_content(campaign(**{field: source}))

    assert set(raised.value.message_dict) == {field}


def test_check_content_accepts_a_good_message():
    content.check_content(
        campaign(subject="{{ contact.given_name }}", preheader="{{ campaign.name }}", html_body=HTML, text_body="")
    )


def test_the_html_part_is_autoescaped_and_the_text_part_is_not():
    values = context(name="<script>alert(1)</script>", given_name="<b>Bob</b>")
    rendered = content.render_message(
        campaign(
            subject="{{ contact.given_name }}", html_body="<p>{{ contact.name }}</p>", text_body="{{ contact.name }}"
        ),
        values,
    )

    assert "<script>" not in rendered.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
    assert rendered.text == "<script>alert(1)</script>"
    assert rendered.subject == "<b>Bob</b>"


def test_the_subject_is_one_line():
    rendered = content.render_message(campaign(subject="Hello\r\n{{ contact.given_name }}\nBcc: x@y"), context())
    assert rendered.subject == "Hello 小明 Bcc: x@y"


# --- links -----------------------------------------------------------------------------------------


def test_tracked_links_are_the_literal_http_links_in_order_once_each():
    source = (
        '<a href="https://a.example.com/x?p=1&amp;q=2">a</a>'
        "<a href='http://b.example.com/'>b</a>"
        '<a HREF = "https://a.example.com/x?p=1&amp;q=2">again</a>'
        '<a href="mailto:sales@example.com">mail</a>'
        '<a href="tel:+8613800138000">call</a>'
        '<a href="/relative/">relative</a>'
        '<a href="javascript:alert(1)">js</a>'
        '<a href="https://c.example.com/?e={{contact.email}}">merged</a>'
        '<a href="{{ unsubscribe_url }}">unsubscribe</a>'
        '<img src="https://img.example.com/logo.png">'
        "<p>https://d.example.com/ in text</p>"
    )

    assert content.tracked_links(source) == ["https://a.example.com/x?p=1&q=2", "http://b.example.com/"]
    assert content.tracked_links("") == []


def test_render_message_tracks_the_links_adds_the_pixel_and_the_preheader():
    body = HTML
    message = campaign(html_body=body, preheader="仅限本周 <b>only</b>", links=content.tracked_links(body))
    rendered = content.render_message(
        message,
        context(),
        click_url=click,
        open_url="https://crm.example.com/marketing/r/o/tok/",
        unsubscribe_url="https://crm.example.com/marketing/r/u/tok/",
    )

    hrefs = re.findall(r'href="([^"]+)"', rendered.html)
    assert hrefs == [click(0), click(1), "https://crm.example.com/marketing/r/u/tok/"]
    assert "shop.example.com" not in rendered.html
    # The pixel, once, just before </body>.
    assert rendered.html.count('src="https://crm.example.com/marketing/r/o/tok/"') == 1
    assert re.search(
        r'<img src="https://crm\.example\.com/marketing/r/o/tok/"[^>]*width="1"[^>]*>\s*</body>', rendered.html
    )
    # The preheader right after <body>, hidden and escaped.
    after_body = rendered.html.split("<body", 1)[1].split(">", 1)[1]
    assert after_body.startswith('<div style="display:none')
    assert "仅限本周 &lt;b&gt;only&lt;/b&gt;</div>" in after_body
    # The style sheet is inlined.
    assert re.search(r'<p style="color: ?#333333;?"', rendered.html)


def test_a_link_not_frozen_in_the_campaign_stays_as_written():
    body = '<p><a href="https://a.example.com/">a</a> <a href="https://new.example.com/">new</a></p>'
    rendered = content.render_message(
        campaign(html_body=body, links=["https://a.example.com/"]), context(), click_url=click, open_url="https://o/"
    )

    assert re.findall(r'href="([^"]+)"', rendered.html) == [click(0), "https://new.example.com/"]


def test_without_click_url_links_stay_and_no_pixel_is_added():
    body = '<p><a href="https://a.example.com/">a</a></p>'
    rendered = content.render_message(campaign(html_body=body, links=["https://a.example.com/"]), context())

    assert 'href="https://a.example.com/"' in rendered.html
    assert "<img" not in rendered.html


def test_a_fragment_without_body_still_gets_pixel_and_preheader():
    rendered = content.render_message(
        campaign(html_body="<p>Hi</p>", preheader="Pre"), context(), open_url="https://crm.example.com/o/"
    )

    assert rendered.html.startswith('<div style="display:none')
    assert rendered.html.endswith(
        '<img src="https://crm.example.com/o/" width="1" height="1" alt="" style="display:block;border:0">'
    )


# --- the plain-text part ---------------------------------------------------------------------------


def test_plain_text_is_made_from_the_html_when_none_was_written():
    body = (
        "<html><head><style>p{color:red}</style><title>T</title></head><body>"
        "<h1>春季新品</h1><p>{{ contact.name }}，您好！</p>"
        '<p>See <a href="https://shop.example.com/?a=1&amp;b=2">our shop</a>.</p>'
        "<ul><li>One &amp; two</li><li>Three</li></ul><script>alert(1)</script></body></html>"
    )
    with translation.override("en"):  # the one word the CRM adds, in the recipient's language
        rendered = content.render_message(
            campaign(html_body=body, text_body="  ", links=content.tracked_links(body)),
            context(),
            click_url=click,
            unsubscribe_url="https://crm.example.com/u/",
        )

    lines = [line for line in rendered.text.splitlines() if line]
    assert lines[:5] == [
        "春季新品",
        "王小明，您好！",
        "See our shop (https://shop.example.com/?a=1&b=2).",
        "One & two",
        "Three",
    ]
    assert "alert" not in rendered.text and "color" not in rendered.text and "<" not in rendered.text
    assert rendered.text.endswith("Unsubscribe: https://crm.example.com/u/")


def test_a_written_text_part_is_used_and_gets_the_unsubscribe_link_once():
    rendered = content.render_message(
        campaign(html_body="<p>HTML</p>", text_body="Hi {{ contact.given_name }}: {{ unsubscribe_url }}"),
        context(),
        unsubscribe_url="https://crm.example.com/u/",
    )

    assert rendered.text == "Hi 小明: https://crm.example.com/u/"


@pytest.mark.parametrize(
    "source",
    [
        '{{ "a"|center(300000000)|length }}',
        '{{ "%0300000000d"|format(1) }}',
        '{{ "{:>300000000}".format(1) }}',
        "{{ lipsum(100000) }}",
        "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
        "{{ 3 * 4 }}",
        "{% set x = contact.name %}{{ x }}",
        "{% macro m() %}{% endmacro %}",
        "{{ contact.name|safe }}",
        "{{ cycler(1, 2).next() }}",
    ],
)
def test_what_could_cost_without_limit_is_refused_before_anything_runs(source):
    """Merge fields need names, a few string filters and conditions; loops, calls and arithmetic
    are refused when the template is read, so no message can burn a worker's CPU or memory."""
    with pytest.raises(ValidationError):
        content.render_merge(source, context())


def test_conditions_and_the_string_filters_still_work():
    rendered = content.render_merge(
        "{% if contact.title %}{{ contact.title|upper }}{% else %}{{ contact.name|default('客户') }}{% endif %}"
        "{{ ' · ' ~ contact.company|trim if contact.company is defined else '' }}",
        context(),
    )
    assert rendered
