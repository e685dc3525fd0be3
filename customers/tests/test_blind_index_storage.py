"""Blind indexes are compared by equality or IN only: one plain btree each, no `_like` index."""

import pytest
from django.apps import apps

from crm.fields import BlindIndexField
from customers.tests.index_helpers import assert_one_plain_btree, indexes_on


def _blind_index_columns():
    return [
        (model, field)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, BlindIndexField)
    ]


def test_every_blind_index_column_is_indexed_through_meta_indexes_not_db_index():
    """db_index (or unique) would bring back the `_like` index; a subclass of Person whose Meta
    lists its own indexes must keep Person's (`*Person.Meta.indexes`)."""
    columns = _blind_index_columns()
    assert {(m._meta.label, f.name) for m, f in columns} >= {
        ("customers.Company", "phone_bidx"),
        ("customers.Company", "tax_id_bidx"),
        ("customers.Contact", "email_bidx"),
        ("customers.Contact", "phone_bidx"),
        ("customers.Contact", "mobile_bidx"),
        ("pipeline.Lead", "email_bidx"),
        ("pipeline.Lead", "phone_bidx"),
        ("pipeline.Lead", "mobile_bidx"),
    }
    for model, field in columns:
        assert not field.db_index and not field.unique, f"{model._meta.label}.{field.name}"
        own = [index for index in model._meta.indexes if list(index.fields) == [field.name]]
        assert len(own) == 1, f"{model._meta.label}.{field.name}: {own}"
        assert not own[0].opclasses and own[0].condition is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("customers_company", "phone_bidx"),
        ("customers_company", "tax_id_bidx"),
        ("customers_contact", "email_bidx"),
        ("customers_contact", "phone_bidx"),
        ("customers_contact", "mobile_bidx"),
    ],
)
def test_postgresql_holds_one_plain_btree_and_no_like_index(table, column):
    assert_one_plain_btree(table, column)


@pytest.mark.django_db
def test_the_check_sees_a_like_index():
    """The helper is not vacuous: a `_like` index on a blind index column is reported."""
    from django.db import connection

    indexes_on("customers_contact", "email_bidx")  # skips unless PostgreSQL
    with connection.cursor() as cursor:
        cursor.execute("CREATE INDEX contact_email_bidx_like ON customers_contact (email_bidx varchar_pattern_ops)")
    with pytest.raises(AssertionError, match="_like"):
        assert_one_plain_btree("customers_contact", "email_bidx")
