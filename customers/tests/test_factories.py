"""Every customer factory makes a record that passes full_clean(), with its owner in its team."""

import pytest

from crm.fields import blind_lookup
from crm.tests.factories import TeamFactory, UserFactory, factories_in, models_without_factory
from customers.models import Company, GradeLevel, GradingPolicy
from customers.tests import factories
from customers.tests.factories import (
    CompanyFactory,
    ContactFactory,
    GradeLevelFactory,
    GradingPolicyFactory,
    TagFactory,
    TransactionFactory,
)

pytestmark = pytest.mark.django_db

FACTORIES = factories_in(factories)
TRAITS = [
    (CompanyFactory, "in_team"),
    (CompanyFactory, "key_account"),
    (CompanyFactory, "with_identifiers"),
    (ContactFactory, "opted_in"),
    (ContactFactory, "opted_out"),
    (TransactionFactory, "refunded"),
    (TransactionFactory, "cancelled"),
]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path  # the import factory stores its file


def test_every_model_has_a_factory():
    assert models_without_factory("customers", FACTORIES) == set()


@pytest.mark.parametrize("factory", FACTORIES, ids=lambda f: f.__name__)
def test_factory_makes_a_valid_record(factory):
    factory().full_clean()


@pytest.mark.parametrize(("factory", "trait"), TRAITS, ids=lambda p: getattr(p, "__name__", p))
def test_trait_makes_a_valid_record(factory, trait):
    factory(**{trait: True}).full_clean()


def test_the_owner_is_a_member_of_the_records_team():
    team = TeamFactory()
    assert list(CompanyFactory(team=team).owner.teams.all()) == [team]
    in_team = CompanyFactory(in_team=True)
    assert list(in_team.owner.teams.all()) == [in_team.team]
    assert CompanyFactory().team is None and CompanyFactory(owner=UserFactory(team=team)).team is None
    contact = ContactFactory(team=team)
    assert contact.owner.teams.get() == team
    assert (contact.company.owner, contact.company.team) == (contact.owner, team)


def test_sensitive_values_are_encrypted_and_found_by_their_blind_index():
    company = CompanyFactory(with_identifiers=True)
    assert company.phone_bidx and company.tax_id_bidx
    assert Company.objects.get(**blind_lookup(Company, "phone", company.phone)) == company


def test_reference_data_is_reused_not_duplicated():
    grades, policies = GradeLevel.objects.count(), GradingPolicy.objects.count()
    assert GradeLevelFactory().code == "A"
    GradingPolicyFactory(window_days=180)
    assert (GradeLevel.objects.count(), GradingPolicy.objects.count()) == (grades, policies)
    assert GradingPolicy.objects.get().window_days == 180
    assert TagFactory(name="VIP") == TagFactory(name="VIP")


def test_tags_are_added_after_saving():
    vip = TagFactory(name="VIP")
    assert list(CompanyFactory(tags=[vip]).tags.all()) == [vip]
    assert list(ContactFactory(tags=[vip]).tags.all()) == [vip]
