"""Every factory makes a record that passes full_clean(), so a model change that breaks one fails here."""

import pytest

from crm import roles
from crm.models import Job, TeamMembership
from crm.tests import factories
from crm.tests.factories import JobFactory, TeamFactory, UserFactory, factories_in, models_without_factory

pytestmark = pytest.mark.django_db

FACTORIES = factories_in(factories)


def test_every_model_has_a_factory():
    assert models_without_factory("crm", FACTORIES) == set()


@pytest.mark.parametrize("factory", FACTORIES, ids=lambda f: f.__name__)
def test_factory_makes_a_valid_record(factory):
    factory().full_clean()


@pytest.mark.parametrize("role", roles.ROLES)
def test_a_trait_per_role_puts_the_user_in_that_role(role):
    user = UserFactory(**{role.lower().replace(" ", "_"): True})
    user.full_clean()
    assert list(user.groups.values_list("name", flat=True)) == [role]
    assert user.check_password(factories.PASSWORD)


def test_a_team_has_its_group_and_its_members_join_it():
    team = TeamFactory()
    manager = UserFactory(sales_manager=True, team=team, team_role=TeamMembership.Role.MANAGER)
    rep = UserFactory(team=team)
    assert team.group.name == f"team:{team.name}"
    assert dict(team.memberships.values_list("user", "role")) == {manager.pk: "manager", rep.pk: "member"}
    assert set(team.group.user_set.all()) == {manager, rep}
    assert not UserFactory().teams.exists()


@pytest.mark.parametrize(
    ("trait", "status"),
    [("running", Job.Status.RUNNING), ("completed", Job.Status.DONE), ("failed", Job.Status.FAILED)],
)
def test_job_traits(trait, status):
    job = JobFactory(**{trait: True})
    job.full_clean()
    assert job.status == status
    assert job.finished == (status != Job.Status.RUNNING)
