"""Chinese formats that differ from Django's (django/conf/locale/zh_Hans/formats.py)."""

MONTH_DAY_FORMAT = "n月j日"  # 9月5日 (Django's "m月j日" writes 09月5日)

# ISO first. A form field without an explicit widget format shows its value in the first input
# format, and Django's first, "2026/12/28", is a value a browser's date input cannot read. Django's
# list also spells the Chinese form with strptime directives that do not exist (%n; %j is the day of
# the year), so "2026年9月5日" never parsed.
DATE_INPUT_FORMATS = [
    "%Y-%m-%d",  # 2026-09-05
    "%Y/%m/%d",  # 2026/09/05, 2026/9/5
    "%Y年%m月%d日",  # 2026年9月5日
]
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S.%f",
    "%Y/%m/%d %H:%M",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
]

# Our own named formats (crm.formats.OWN_FORMATS).
WEEKDAY_DATE_FORMAT = "Y年n月j日 l"  # 2026年12月28日 星期一
WEEKDAY_MONTH_DAY_FORMAT = "n月j日 D"  # 12月28日 星期一
SHORT_MONTH_FORMAT = "n月"  # 12月
