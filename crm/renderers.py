"""The form renderer: Django's own widget and form templates from their Jinja2 copies, ours from
the project's Django templates.

A list page's filter form and bulk-action forms are a dozen dropdowns; Django renders every
`<option>` by including a template, and in the Django template language those includes were a
sixth of a list page's time. Django ships the same templates for Jinja2 (`django/forms/jinja2/`),
where an include is a call into compiled Python: the same markup, escaped the same way (the
Jinja2 backend turns autoescape on). Any other template a widget names (`crm/widgets/...`) comes
from TEMPLATES, as with `TemplatesSetting`; Django's own form templates are not overridden in
this project, and overriding one would mean overriding its Jinja2 copy.
"""

from __future__ import annotations

from functools import cached_property

from django.forms.renderers import Jinja2, TemplatesSetting


class FormRenderer(TemplatesSetting):
    @cached_property
    def _jinja2(self) -> Jinja2:
        return Jinja2()

    def get_template(self, template_name):
        if template_name.startswith("django/forms/"):
            return self._jinja2.get_template(template_name)
        return super().get_template(template_name)
