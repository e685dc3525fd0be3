"""Jinja2 for the few templates rendered once per row of a list (`ListSpec.row_template`) or per
card of the board.

Rendering 50 rows in the Django template language cost a third of a list page: every variable,
filter and tag is resolved through the template engine at each row. The row templates are Jinja2
(`<app>/jinja2/<app>/*.jinja`), compiled to Python once, and loop over the rows themselves. They
escape exactly like the Django templates: the Jinja2 backend turns autoescape on, and values
already safe (`format_html`, `SafeString`) pass through as they are.

Strings to translate are not written in these templates (makemessages does not read Jinja2):
the view passes them in, translated. The helpers the templates may call are the ones below;
an app adds its own with `register_filter` from its `ready()`.
"""

from __future__ import annotations

from collections.abc import Callable

from django.template.defaultfilters import floatformat
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.safestring import SafeString
from jinja2 import Environment, StrictUndefined

from crm.dates import format_date, iso_value
from crm.templatetags.crm_tags import attr, time_element

_filters: dict[str, Callable] = {}


def register_filter(name: str, func: Callable) -> None:
    _filters[name] = func


def shown(value):
    """A value as `{{ value }}` shows it in a Django template: local time, localized format."""
    return formats.localize(timezone.template_localtime(value))


def environment(**options) -> Environment:
    # Escaping is never off, whatever the settings say; a missing variable is a bug to see in
    # tests, not an empty cell.
    options = {**options, "undefined": StrictUndefined}
    options.pop("autoescape", None)
    env = Environment(autoescape=True, **options)
    env.globals.update(time_element=time_element, url=lambda name, *args: reverse(name, args=args))
    env.filters.update(
        attr=attr,
        floatformat=floatformat,
        named_date=format_date,
        iso_date=iso_value,
        shown=shown,
        **_filters,
    )
    return env


def render_fragment(template_name: str, context: dict, request=None) -> SafeString:
    """A Jinja2 template's output, to insert into a Django template as it is (`{{ rows_html }}`):
    every value in it was escaped by Jinja2's autoescape, and nothing is added to it here."""
    return SafeString(render_to_string(template_name, context, request=request))
