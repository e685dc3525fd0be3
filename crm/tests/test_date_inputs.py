"""Date inputs show ISO values in every language, and the server reads ISO in every language.

A browser's date and datetime-local inputs read only ISO values: in Chinese, Django's first input
format wrote "2026/12/28", the input showed nothing, and saving an untouched form erased the date.
"""

import importlib
import pkgutil
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django import forms
from django.apps import apps
from django.conf import settings
from django.utils import translation
from django.utils.formats import get_format

from crm.forms import AuditFilterForm, DateInput, DateTimeInput

LANGUAGES = [code for code, _name in settings.LANGUAGES]
# Modules that set the process up rather than define anything a page uses.
# bench_locust: Locust patches the standard library (gevent) when imported; it runs in a process of its own.
NOT_WALKED = ("settings", "test_settings", "wsgi", "asgi", "bench_locust")


def _project_apps():
    base = Path(settings.BASE_DIR)
    return [
        config
        for config in apps.get_app_configs()
        if base in Path(config.path).parents and ".venv" not in Path(config.path).parts
    ]


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def project_form_classes() -> dict[str, type[forms.BaseForm]]:
    """Every form class the project's apps define, found by importing each of their modules
    (tests and migrations aside) and walking the subclasses of Django's BaseForm. The admin site
    builds its forms at request time, with its own text-and-calendar widgets that read the first
    DATE_INPUT_FORMATS (ISO in every language: see test_first_input_format_is_iso)."""
    configs = _project_apps()
    for config in configs:
        for module in pkgutil.walk_packages([config.path], prefix=f"{config.name}."):
            parts = module.name.split(".")
            if "tests" in parts or "migrations" in parts or parts[-1] in NOT_WALKED:
                continue
            importlib.import_module(module.name)
    prefixes = tuple(f"{config.name}." for config in configs)
    return {
        f"{cls.__module__}.{cls.__qualname__}": cls
        for cls in _subclasses(forms.BaseForm)
        if cls.__module__.startswith(prefixes) and ".tests." not in cls.__module__
    }


def test_every_date_and_datetime_field_of_every_form_uses_the_iso_widgets():
    expected = {forms.DateTimeField: DateTimeInput, forms.DateField: DateInput}
    wrong, seen = [], set()
    with translation.override("zh-hans"):
        for name, form_class in sorted(project_form_classes().items()):
            for field_name, field in form_class.base_fields.items():
                if isinstance(field, forms.SplitDateTimeField | forms.TimeField):
                    wrong.append(f"{name}.{field_name}: {type(field).__name__} has no ISO widget of ours")
                    continue
                kind = next((k for k in expected if isinstance(field, k)), None)
                if kind is None:
                    continue
                seen.add(form_class.__name__)
                widget = field.widget
                if not isinstance(widget, expected[kind]):
                    wrong.append(f"{name}.{field_name}: {type(widget).__module__}.{type(widget).__name__}")
                    continue
                # What the browser receives, in the language whose own formats broke it.
                html = widget.render(
                    field_name, datetime(2026, 12, 28, 9, 30) if kind is forms.DateTimeField else date(2026, 12, 28)
                )
                value = "2026-12-28T09:30" if kind is forms.DateTimeField else "2026-12-28"
                if f'value="{value}"' not in html:
                    wrong.append(f"{name}.{field_name} renders {html}")
    assert not wrong, "date fields whose input a browser cannot read in Chinese:\n" + "\n".join(wrong)
    # The walk found the forms people save dates with (a walk that found nothing would pass).
    assert {
        "OpportunityForm",
        "OpportunityFilterForm",
        "ContactForm",
        "TransactionForm",
        "InteractionForm",
        "TaskForm",
        "QuickTaskForm",
        "ConvertForm",
        "RecordFilterForm",
        "AuditFilterForm",
    } <= seen


@pytest.mark.parametrize("language", LANGUAGES)
def test_first_input_format_is_iso(language):
    """A date widget without a format of its own (the admin site's) shows the first input format."""
    assert get_format("DATE_INPUT_FORMATS", language)[0] == "%Y-%m-%d"
    assert get_format("DATETIME_INPUT_FORMATS", language)[0] == "%Y-%m-%d %H:%M:%S"
    with translation.override(language):
        assert forms.DateInput().format_value(date(2026, 12, 28)) == "2026-12-28"


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_fields_read_what_a_browser_sends_in_every_language(language):
    zone = ZoneInfo(settings.TIME_ZONE)
    with translation.override(language):
        assert forms.DateField().clean("2026-12-28") == date(2026, 12, 28)
        assert forms.DateTimeField().clean("2026-12-28T09:30") == datetime(2026, 12, 28, 9, 30, tzinfo=zone)
        assert forms.DateTimeField().clean("2026-12-28T09:30:15") == datetime(2026, 12, 28, 9, 30, 15, tzinfo=zone)
        form = AuditFilterForm({"date_from": "2026-12-01", "date_to": "2026-12-28"})
        assert form.is_valid(), form.errors
        assert (form.cleaned_data["date_from"], form.cleaned_data["date_to"]) == (date(2026, 12, 1), date(2026, 12, 28))


def test_chinese_fields_also_read_the_ways_people_type_dates():
    with translation.override("zh-hans"):
        for typed in ("2026/12/8", "2026/12/08", "2026年12月8日"):
            assert forms.DateField().clean(typed) == date(2026, 12, 8), typed


def test_datetime_input_keeps_seconds_a_stored_time_has():
    """Saving an untouched form must not move a time: seconds stay, with a step that allows them."""
    widget = DateTimeInput()
    assert 'value="2026-12-28T09:30"' in widget.render("due", datetime(2026, 12, 28, 9, 30))
    html = widget.render("due", datetime(2026, 12, 28, 9, 30, 15))
    assert 'value="2026-12-28T09:30:15"' in html and 'step="1"' in html
    assert 'type="datetime-local"' in html
    assert 'type="date"' in DateInput().render("day", date(2026, 12, 28))
