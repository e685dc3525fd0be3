"""A lead's blind indexes: one plain btree each, no `_like` index (see crm.people.Person.Meta)."""

import pytest

from customers.tests.index_helpers import assert_one_plain_btree

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("column", ["email_bidx", "phone_bidx", "mobile_bidx"])
def test_postgresql_holds_one_plain_btree_and_no_like_index(column):
    assert_one_plain_btree("pipeline_lead", column)
