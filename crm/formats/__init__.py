"""Date formats per language (settings.FORMAT_MODULE_PATH), where Django's own fall short.

Django reads a format from here first and falls back to its own locale module for the rest.
Besides Django's named formats, every language here defines the same few of our own, used like
them through the `date` filter (`{{ day|date:"WEEKDAY_DATE_FORMAT" }}`); a name a language lacked
would be read as a literal format, so crm/tests/test_date_formats.py checks that each has them.
"""

OWN_FORMATS = ("WEEKDAY_DATE_FORMAT", "WEEKDAY_MONTH_DAY_FORMAT", "SHORT_MONTH_FORMAT")
