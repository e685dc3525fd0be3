"""Normalising values for the blind index, and the check that audited models mask encrypted fields.

What the database holds, lookups and key rotation are exercised on companies in
customers/tests/test_encryption.py.
"""

import pytest

from crm.fields import check_encrypted_fields_are_masked_in_audit, normalize_phone, normalize_tax_id


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+86 138-0013-8000", "13800138000"),
        ("0086 13800138000", "13800138000"),
        ("86 138 0013 8000", "13800138000"),
        ("１３８００１３８０００", "13800138000"),
        ("+86 10 6552 9988", "01065529988"),
        ("010-6552-9988", "01065529988"),
        ("+1 (415) 555-0100", "+14155550100"),
        ("", ""),
        ("n/a", ""),
    ],
)
def test_phone_normaliser(raw, expected):
    assert normalize_phone(raw) == expected


def test_tax_id_normaliser():
    assert normalize_tax_id(" 9131\u30000000 ma1k ") == "91310000MA1K"


def test_every_audited_model_masks_its_encrypted_fields():
    assert check_encrypted_fields_are_masked_in_audit() == []
