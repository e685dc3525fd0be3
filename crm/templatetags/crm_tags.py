from django import template
from django.utils.html import format_html

from crm.dates import format_date, time_parts

register = template.Library()


@register.filter
def attr(obj, name: str):
    """`{{ row|attr:column.key }}`: a record's attribute (or display value) by column key."""
    display = getattr(obj, f"get_{name}_display", None)
    if callable(display):
        return display()
    value = getattr(obj, name, "")
    return "" if value is None else value


@register.simple_tag(takes_context=True)
def query_with(context, **changes):
    """The current query string with some parameters replaced (None drops one)."""
    params = context["request"].GET.copy()
    for key in ("after", "before"):
        params.pop(key, None)
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    return params.urlencode()


@register.filter
def masked(value) -> str:
    """A sensitive value as people expect to see it hidden: 138****5678, 9131**********1K."""
    text = str(value or "")
    if not text:
        return ""
    if len(text) <= 4:
        return "*" * len(text)
    keep_start = 3 if len(text) >= 8 else 1
    keep_end = 4 if len(text) >= 8 else 2
    return text[:keep_start] + "*" * (len(text) - keep_start - keep_end) + text[-keep_end:]


@register.filter
def user_data(value) -> str:
    """A value people typed, marked so (translate="no") inside a translated sentence:
    `{% blocktranslate with name=pipeline.name|user_data %}Board: {{ name }}{% endblocktranslate %}`."""
    return format_html('<span translate="no">{}</span>', value)


@register.filter
def named_date(value, format_name: str = "SHORT_DATE_FORMAT") -> str:
    """`{{ value|named_date:"SHORT_DATETIME_FORMAT" }}`: the `date` filter's text for a named
    format, several times faster (crm/dates.py); for dates in every row of a list."""
    return format_date(value, format_name)


@register.simple_tag
def time_element(value, format_name: str = "SHORT_DATE_FORMAT"):
    """`{% time_element row.created_at %}`: <time datetime="ISO">the date as people read it</time>,
    or nothing for no date."""
    if value in (None, ""):
        return ""
    return format_html('<time datetime="{}">{}</time>', *time_parts(value, format_name))
