"""Suppression.email_key stays unique, through one plain unique btree and no `_like` index:
it is only ever read by equality or IN (campaigns.sending, campaigns.tracking)."""

import pytest
from django.db import IntegrityError, transaction

from campaigns.models import Suppression
from customers.tests.index_helpers import assert_one_plain_btree

pytestmark = pytest.mark.django_db


def test_postgresql_holds_one_unique_btree_and_no_like_index():
    assert_one_plain_btree("campaigns_suppression", "email_key", unique=True)


def test_an_address_is_suppressed_once():
    Suppression.objects.create(email_key="a" * 64, reason=Suppression.Reason.BOUNCED)
    with pytest.raises(IntegrityError), transaction.atomic():
        Suppression.objects.create(email_key="a" * 64, reason=Suppression.Reason.UNSUBSCRIBED)
