"""Dates shown in text follow the user's language: "2026年12月" in Chinese, "December 2026" in
English, never "十二月 2026". Pages ask for a named format (YEAR_MONTH_FORMAT, SHORT_DATE_FORMAT…)
that each language defines (Django's locale files, corrected and extended by crm.formats), never
for a literal one, which fixes one language's word order for everyone."""

import re
from datetime import date, datetime
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.template import Context, Template
from django.utils import translation
from django.utils.formats import FORMAT_SETTINGS, get_format

from crm.formats import OWN_FORMATS

BASE = Path(settings.BASE_DIR)
LANGUAGES = [code for code, _name in settings.LANGUAGES]
NAMED = {name for name in FORMAT_SETTINGS if name.endswith("_FORMAT")} | set(OWN_FORMATS)
# Literal formats that are no text for people: ISO in attributes and links, and weekday names
# (which Django translates and which have no order of parts to get wrong).
MACHINE_OR_NAME = {"c", "Y-m-d", "D", "l"}
# Python files allowed a literal date format, each for a value no person reads as page text.
PYTHON_ALLOWED = {
    "crm/forms.py": "the ISO values of date inputs",
    "crm/exports.py": "CSV cells, ISO so that spreadsheets read them as dates",
    "crm/backup.py": "backup file names",
    "crm/management/commands/bench.py": "the UTC time of a measurement in docs/benchmarks.md",
    "customers/management/commands/bench_import.py": "the UTC time of a measurement in docs/benchmarks.md",
    "campaigns/management/commands/bench_send.py": "the UTC time of a measurement in docs/benchmarks.md",
    "customers/demo.py": "order references of the demo data (SO-202612-…)",
    "customers/exporting.py": "export file names",
    "customers/importing/vcard.py": "vCard BDAY values",
    "pipeline/calendar.py": "the month in the calendar's links (?month=2026-12)",
}


def _project_dirs() -> list[Path]:
    return [
        Path(config.path)
        for config in apps.get_app_configs()
        if BASE in Path(config.path).parents and ".venv" not in Path(config.path).parts
    ]


def _template_files():
    dirs = [Path(d) for engine in settings.TEMPLATES for d in engine.get("DIRS", [])]
    dirs += [path / "templates" for path in _project_dirs()]
    for directory in dirs:
        yield from (p for p in directory.rglob("*") if p.is_file() and p.suffix in (".html", ".txt", ".xml"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_defines_our_named_formats(language):
    # A name a language lacked would be read as a literal format and print letters.
    for name in OWN_FORMATS:
        assert get_format(name, language) != name, f"{language} has no {name}"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "zh-hans",
            {
                "YEAR_MONTH_FORMAT": "2026年9月",
                "MONTH_DAY_FORMAT": "9月5日",
                "SHORT_DATE_FORMAT": "2026年9月5日",
                "WEEKDAY_DATE_FORMAT": "2026年9月5日 星期六",
                "WEEKDAY_MONTH_DAY_FORMAT": "9月5日 星期六",
                "SHORT_MONTH_FORMAT": "9月",
            },
        ),
        (
            "en",
            {
                "YEAR_MONTH_FORMAT": "September 2026",
                "MONTH_DAY_FORMAT": "September 5",
                "SHORT_DATE_FORMAT": "09/05/2026",
                "WEEKDAY_DATE_FORMAT": "Saturday, September 5, 2026",
                "WEEKDAY_MONTH_DAY_FORMAT": "Sat, Sep 5",
                "SHORT_MONTH_FORMAT": "Sep",
            },
        ),
    ],
)
def test_named_formats_read_as_the_language_writes_dates(language, expected):
    day = date(2026, 9, 5)
    with translation.override(language):
        shown = {name: Template(f'{{{{ day|date:"{name}" }}}}').render(Context({"day": day})) for name in expected}
    assert shown == expected


def test_templates_ask_for_named_formats():
    pattern = re.compile(r"""\|(?:date|time|named_date):(["'])(.*?)\1|\{%\s*now\s+(["'])(.*?)\3""")
    literal = []
    for path in _template_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in pattern.finditer(line):
                fmt = match[2] if match[2] is not None else match[4]
                if fmt not in NAMED and fmt not in MACHINE_OR_NAME:
                    literal.append(f"{path.relative_to(BASE)}:{number}: {match[0]}")
    assert not literal, "literal date formats in templates (use a named format):\n" + "\n".join(literal)


def test_python_formats_dates_for_people_with_named_formats():
    pattern = re.compile(
        r"""\.strftime\(|\{[^{}"']*:%[^{}]*\}|\b(?:date|time)_format\(.*?,\s*(["'])(?![A-Z_]+_FORMAT\1)"""
    )
    literal = []
    for directory in _project_dirs():
        for path in directory.rglob("*.py"):
            relative = path.relative_to(BASE).as_posix()
            if relative in PYTHON_ALLOWED or "/tests/" in relative or "/migrations/" in relative:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if pattern.search(line):
                    literal.append(f"{relative}:{number}: {line.strip()}")
    assert not literal, "dates formatted with a literal format (use date_format with a named one):\n" + "\n".join(
        literal
    )


def test_localised_times_use_the_users_language():
    moment = datetime(2026, 12, 28, 21, 5)
    with translation.override("zh-hans"):
        assert Template('{{ t|time:"TIME_FORMAT" }}').render(Context({"t": moment})) == "21:05"
    with translation.override("en"):
        assert Template('{{ t|time:"TIME_FORMAT" }}').render(Context({"t": moment})) == "9:05 p.m."
