"""No page answers 500, whatever a request carries (crm/tests/walk.py): here the root's and the
core's pages and the admin site; each app's tests walk its own namespace."""

from pathlib import Path

import pytest
from django.contrib.contenttypes.models import ContentType

from crm.models import User
from crm.tests.factories import SavedViewFactory
from crm.tests.walk import check_no_server_errors, project_routes

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent.parent
# Namespaces walked by their app's own tests (they have the factories for real records).
WALKED_BY_APPS = {
    "customers": "customers/tests/test_no_server_errors.py",
    "pipeline": "pipeline/tests/test_no_server_errors.py",
    "tickets": "tickets/tests/test_no_server_errors.py",
    "campaigns": "campaigns/tests/test_no_server_errors.py",
}


def test_every_namespace_of_the_project_is_walked():
    namespaces = {route.namespace for route in project_routes()}
    assert namespaces <= {None, "crm", "admin", *WALKED_BY_APPS}, "add the new namespace's walk"
    for test_file in WALKED_BY_APPS.values():
        assert (ROOT / test_file).exists()


@pytest.mark.slow
def test_no_core_page_answers_500(cast):
    saved = SavedViewFactory(user=cast.admin)
    check_no_server_errors(
        cast,
        namespaces={None, "crm"},
        # /healthz answers 503 by design while no Celery worker answers (tests/test_health.py).
        exclude=("healthz",),
        path_values={
            "pk": [str(saved.pk), str(cast.owner.pk)],
            "model": ["customers.company", "pipeline.opportunity", "crm.user"],
            "source": ["customers.company", "crm.user", "crm.assignable_owner"],
            "uidb64": ["MQ"],
            "token": ["set-password"],
        },
    )


@pytest.mark.slow
def test_no_admin_page_answers_500(cast):
    check_no_server_errors(
        cast,
        namespaces={"admin"},
        examples=2,
        roles=("owner", "auditor", "anonymous"),  # the site lets in administrators only
        path_values={
            "object_id": [str(cast.owner.pk), str(cast.team.pk)],
            "app_label": ["crm", "customers", "pipeline", "auth"],
            "content_type_id": [str(ContentType.objects.get_for_model(User).pk)],
        },
    )
