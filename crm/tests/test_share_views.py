"""The share dialog refuses models that cannot be shared (the dialog on a company: customers/tests)."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_unknown_or_unshareable_model_is_404(client, cast):
    client.force_login(cast.admin)
    assert client.get(reverse("crm:share", args=["crm.user", cast.owner.pk])).status_code == 404
    assert client.get(reverse("crm:share", args=["nope.nothing", 1])).status_code == 404
