"""The shared person's name rule (models using `Person` are tested in their own apps)."""

import pytest

from crm.people import Person, display_name


@pytest.mark.parametrize(
    ("family", "given", "expected"),
    [
        ("王", "小明", "王小明"),
        (" 欧阳 ", " 娜娜 ", "欧阳娜娜"),
        ("Smith", "Anna", "Anna Smith"),
        ("", "Anna", "Anna"),
        ("Smith", "", "Smith"),
        ("", "", ""),
    ],
)
def test_display_name(family, given, expected):
    assert display_name(family, given) == expected


def test_person_is_abstract():
    assert Person._meta.abstract
