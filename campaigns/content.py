"""A campaign's message for one recipient: merge fields rendered in a sandbox, links made
trackable, the open pixel added, styles inlined for mail clients, a plain-text part made when the
marketer wrote none.

Merge fields are Jinja2 expressions (`{{ contact.given_name }}`, `{{ contact.company|default("") }}`)
rendered by an immutable sandbox over a fixed context of plain strings: no attribute of any
application object is reachable, no tag touches the database, and an unknown field is an error.
`check_content` renders every part against a sample recipient when the campaign is saved, so a
broken merge field is a form error, never a failure in the middle of a send.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache

import css_inline
from django.core.exceptions import ValidationError
from django.utils.html import strip_tags
from django.utils.translation import gettext as _
from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

# What a message may name; anything else is a validation error.
MERGE_FIELDS = {
    "contact": ("name", "given_name", "family_name", "email", "title", "company", "city"),
    "sender": ("name", "email"),
    "campaign": ("name",),
}
LINK = re.compile(r"""href\s*=\s*(["'])(https?://[^"'\s<>]+)\1""", re.IGNORECASE)
BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
BODY_START = re.compile(r"<body[^>]*>", re.IGNORECASE)
BLOCK_END = re.compile(r"</(p|div|h[1-6]|li|tr|table|ul|ol)\s*>|<br\s*/?>", re.IGNORECASE)
MAX_RENDERED = 1_000_000  # characters; a loop in a template cannot make a message bigger


class MergeEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, also refusing arithmetic that would build huge values ("x" * 10**9, 9 ** 9 ** 9)."""

    intercepted_binops = frozenset(["*", "**", "%"])

    def call_binop(self, context, operator, left, right):
        if operator == "**" or any(isinstance(side, (str, list, tuple)) for side in (left, right)):
            raise SecurityError(f"the operator {operator!r} is not allowed in merge fields")
        return super().call_binop(context, operator, left, right)


@lru_cache(maxsize=2)
def _environment(autoescape: bool) -> ImmutableSandboxedEnvironment:
    return MergeEnvironment(autoescape=autoescape, undefined=StrictUndefined)


# What a merge field may be made of: names, attribute and item reads of the fixed context,
# constants, a few string filters, tests and conditions (`{% if %}`, `a if b else c`, `~`). No
# loops, calls, macros, assignments or arithmetic: nothing whose cost the author controls.
ALLOWED_NODES = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Name,
    nodes.Getattr,
    nodes.Getitem,
    nodes.Const,
    nodes.Filter,
    nodes.Test,
    nodes.If,
    nodes.CondExpr,
    nodes.Compare,
    nodes.Operand,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Concat,
)
ALLOWED_FILTERS = {"default", "d", "upper", "lower", "title", "capitalize", "trim", "striptags", "e", "escape"}
ALLOWED_TESTS = {"defined", "undefined", "none", "string"}


def _check_nodes(tree: nodes.Node) -> None:
    for node in tree.find_all(nodes.Node):
        if not isinstance(node, ALLOWED_NODES):
            raise TemplateSyntaxError(
                _("“%(what)s” is not allowed in a merge field.") % {"what": type(node).__name__}, 1
            )
        if isinstance(node, nodes.Filter) and node.name not in ALLOWED_FILTERS:
            raise TemplateSyntaxError(_("The filter “%(name)s” is not allowed.") % {"name": node.name}, 1)
        if isinstance(node, nodes.Test) and node.name not in ALLOWED_TESTS:
            raise TemplateSyntaxError(_("The test “%(name)s” is not allowed.") % {"name": node.name}, 1)


@lru_cache(maxsize=256)
def _template(source: str, autoescape: bool):
    environment = _environment(autoescape)
    _check_nodes(environment.parse(source))
    return environment.from_string(source)


def render_merge(source: str, context: dict, *, html_part: bool = False) -> str:
    """Render merge fields; raise ValidationError on any template error."""
    if not source:
        return ""
    parts, size = [], 0
    try:
        # Rendered piece by piece, so a loop is stopped as soon as the message is too long.
        for part in _template(source, html_part).generate(context):
            size += len(part)
            if size > MAX_RENDERED:
                raise ValidationError(_("The message becomes too long once its merge fields are filled in."))
            parts.append(part)
    except ValidationError:
        raise
    except TemplateError as error:
        raise ValidationError(_("A merge field cannot be filled in: %(error)s") % {"error": error}) from None
    except Exception as error:  # 1/0, "a" + 1, a filter's bad argument, a huge value: the marketer's mistake
        message = f"{type(error).__name__}: {error}"[:200]
        raise ValidationError(_("A merge field cannot be filled in: %(error)s") % {"error": message}) from None
    return "".join(parts)


def recipient_context(*, contact, sender, campaign) -> dict:
    """The whole context a message may read: strings only. `contact` is the recipient, a contact
    (company and city from its company) or a lead (the company name and city it gave)."""
    if hasattr(contact, "company_name"):  # a lead
        company_name, city = contact.company_name, contact.city
    else:
        company = getattr(contact, "company", None)
        company_name, city = (company.name, company.city) if company else ("", "")
    return {
        "contact": {
            "name": contact.display_name,
            "given_name": contact.given_name,
            "family_name": contact.family_name,
            "email": contact.email,
            "title": getattr(contact, "title", ""),
            "company": company_name,
            "city": city,
        },
        "sender": {
            "name": (sender.get_full_name() or sender.username) if sender else "",
            "email": getattr(sender, "email", ""),
        },
        "campaign": {"name": campaign.name},
    }


def _sender(user) -> dict:
    if user is None:
        return {"name": "", "email": ""}
    return {"name": user.get_full_name() or user.username, "email": user.email}


def sample_context(campaign) -> dict:
    """A made-up recipient for checking a message before any real one is chosen."""
    return {
        "contact": {
            "name": "王小明",
            "given_name": "小明",
            "family_name": "王",
            "email": "xiaoming@example.com",
            "title": "经理",
            "company": "示例公司",
            "city": "上海",
        },
        "sender": _sender(campaign.owner if campaign.owner_id else None),
        "campaign": {"name": campaign.name or ""},
    }


def tracked_links(*html_sources: str) -> list[str]:
    """The literal http(s) links of the HTML messages, in order, once each: what clicks may lead to.
    A link built from merge fields is left as it is and not tracked."""
    links = []
    for match in LINK.finditer("\n".join(source or "" for source in html_sources)):
        url = html.unescape(match.group(2))
        if "{{" not in url and "{%" not in url and url not in links:
            links.append(url)
    return links


def plain_text_from(html_text: str) -> str:
    """A readable plain-text part from HTML: block ends become line breaks, links keep their address."""
    text = LINK.sub(lambda m: f'href="{m.group(2)}"', html_text)
    text = re.sub(r"<a\s[^>]*href=\"([^\"]+)\"[^>]*>(.*?)</a>", r"\2 (\1)", text, flags=re.IGNORECASE | re.DOTALL)
    text = re.sub(r"<(style|script|head)[^>]*>.*?</\1>", "", text, flags=re.IGNORECASE | re.DOTALL)
    text = BLOCK_END.sub("\n", text)
    text = html.unescape(strip_tags(text))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


@dataclass
class Rendered:
    subject: str
    html: str
    text: str


@dataclass
class Parts:
    subject: str
    preheader: str
    html_body: str
    text_body: str


def has_second_language(campaign) -> bool:
    return bool(campaign.second_language and campaign.second_subject.strip() and campaign.second_html_body.strip())


def parts_for(campaign, *, language: str = "", variant: str = "") -> Parts:
    """What one recipient gets: the second-language version when it is written and theirs, else
    the main one, with the test's second subject for variant "b"."""
    if has_second_language(campaign) and language == campaign.second_language:
        return Parts(
            campaign.second_subject, campaign.second_preheader, campaign.second_html_body, campaign.second_text_body
        )
    subject = campaign.subject_b if variant == "b" and campaign.subject_b.strip() else campaign.subject
    return Parts(subject, campaign.preheader, campaign.html_body, campaign.text_body)


def render_message(
    campaign,
    context: dict,
    *,
    parts: Parts | None = None,
    click_url=None,
    open_url: str = "",
    unsubscribe_url: str = "",
) -> Rendered:
    """The message for one recipient. `click_url(index)` gives the tracked address of the
    campaign's index-th link; without it links stay as written (previews, test sends)."""
    context = {**context, "unsubscribe_url": unsubscribe_url or "#"}
    parts = parts or parts_for(campaign)
    subject = " ".join(render_merge(parts.subject, context).split())
    body = render_merge(parts.html_body, context, html_part=True)
    text = render_merge(parts.text_body, context) if parts.text_body.strip() else plain_text_from(body)
    if click_url is not None and campaign.links:
        index_of = {url: index for index, url in enumerate(campaign.links)}

        def track(match):
            index = index_of.get(html.unescape(match.group(2)))
            if index is None:
                return match.group(0)
            return f"href={match.group(1)}{html.escape(click_url(index))}{match.group(1)}"

        body = LINK.sub(track, body)
    if parts.preheader:
        hidden = (
            '<div style="display:none;max-height:0;overflow:hidden;mso-hide:all">'
            f"{html.escape(render_merge(parts.preheader, context))}</div>"
        )
        body = (
            BODY_START.sub(lambda m: m.group(0) + hidden, body, count=1) if BODY_START.search(body) else hidden + body
        )
    if open_url:
        pixel = f'<img src="{html.escape(open_url)}" width="1" height="1" alt="" style="display:block;border:0">'
        body = BODY_END.sub(lambda m: pixel + m.group(0), body, count=1) if BODY_END.search(body) else body + pixel
    if unsubscribe_url and unsubscribe_url not in text:
        text = f"{text}\n\n{_('Unsubscribe')}: {unsubscribe_url}"
    return Rendered(subject=subject, html=inline_styles(body), text=text)


def inline_styles(body: str) -> str:
    """Move <style> rules into style attributes: many mail clients drop style sheets."""
    if "<style" not in body.lower():
        return body
    try:
        return css_inline.inline(body)
    except ValueError:
        return body


def check_content(campaign) -> None:
    """Render every part for a sample recipient; a broken merge field is a ValidationError naming the part."""
    context = {**sample_context(campaign), "unsubscribe_url": "#"}
    errors = {}
    for field, html_part in (
        ("subject", False),
        ("subject_b", False),
        ("preheader", False),
        ("html_body", True),
        ("text_body", False),
        ("second_subject", False),
        ("second_preheader", False),
        ("second_html_body", True),
        ("second_text_body", False),
        ("sms_body", False),
    ):
        source = getattr(campaign, field, "")
        try:
            render_merge(source, context, html_part=html_part)
        except ValidationError as error:
            errors[field] = error.messages
    if errors:
        raise ValidationError(errors)
