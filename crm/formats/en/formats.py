"""English formats: Django's (django/conf/locale/en/formats.py), plus our own named formats
(crm.formats.OWN_FORMATS)."""

WEEKDAY_DATE_FORMAT = "l, F j, Y"  # Monday, December 28, 2026
WEEKDAY_MONTH_DAY_FORMAT = "D, M j"  # Mon, Dec 28
SHORT_MONTH_FORMAT = "M"  # Dec
