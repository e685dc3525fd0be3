"""Messages that are stored or flashed lose whatever reads as a phone number or a tax ID."""

import pytest

from crm.fields import mask_numbers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "At line 5: Failed to parse line: TEL;CELL:+86 138-0013-8000",
            "At line 5: Failed to parse line: TEL;CELL:******",
        ),
        ("TEL:0086 137 2468 1357;x", "TEL:******;x"),
        ("tax id 91440300192203821x here", "tax id ****** here"),
        ("税号110108551234567有误", "税号******有误"),
        ("row 12, column 3, offset 123456", "row 12, column 3, offset 123456"),
        ("E-mail 2 Address, BusinessPhone2Type", "E-mail 2 Address, BusinessPhone2Type"),
    ],
)
def test_mask_numbers(text, expected):
    assert mask_numbers(text) == expected
