"""Dropdowns of reference data come from memory, per query and language, and are right after
every change (crm/choices.py)."""

import pytest
from django.core.cache import cache
from django.db import transaction
from django.utils import translation

from crm import choices
from crm.testing import add_to_team, make_team, make_user
from customers.forms import CompanyFilterForm
from customers.models import Tag
from pipeline.opportunity_forms import OpportunityFilterForm

# Outside a test transaction: nothing read inside a transaction is kept.
pytestmark = pytest.mark.django_db(transaction=True)


def options(form, name) -> list[str]:
    return [str(label) for _value, label in form.fields[name].widget.choices]


def test_the_second_render_reads_nothing_and_a_change_shows_at_once(django_assert_num_queries):
    Tag.objects.create(name="重点客户")
    form = CompanyFilterForm({})
    assert options(form, "tag") == ["---------", "重点客户"]
    again = CompanyFilterForm({})
    with django_assert_num_queries(0):
        assert options(again, "tag") == ["---------", "重点客户"]
    choices._forget_version()  # a new request
    Tag.objects.create(name="VIP")
    assert options(CompanyFilterForm({}), "tag") == ["---------", "VIP", "重点客户"]
    Tag.objects.get(name="VIP").delete()
    assert options(CompanyFilterForm({}), "tag") == ["---------", "重点客户"]


def test_a_change_in_another_worker_shows_at_the_next_request():
    Tag.objects.create(name="A")
    assert options(CompanyFilterForm({}), "tag")[1:] == ["A"]
    # Another worker renames it: this one learns of it from the version in Redis alone.
    Tag.objects.filter(name="A").update(name="B")
    cache.set(choices.VERSION_KEY, "bumped by another worker")
    assert options(CompanyFilterForm({}), "tag")[1:] == ["A"]  # this request read the version already
    choices._forget_version()  # the next request
    assert options(CompanyFilterForm({}), "tag")[1:] == ["B"]


def test_without_redis_the_table_is_read():
    Tag.objects.create(name="A")
    cache.delete(choices.VERSION_KEY)
    choices._forget_version()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cache, "get", lambda *args, **kwargs: None)
        patch.setattr(cache, "add", lambda *args, **kwargs: False)
        Tag.objects.filter(name="A").update(name="B")
        assert options(CompanyFilterForm({}), "tag")[1:] == ["B"]
        assert not choices._entries


def test_people_whose_choices_differ_never_share_an_entry():
    north, south = make_team("华北"), make_team("华南")
    rep, other = make_user(), make_user()
    add_to_team(rep, north)
    add_to_team(other, south)
    from crm.selectors import assignable_teams

    def teams_for(user):
        form = CompanyFilterForm({})
        form.fields["team"].queryset = assignable_teams(user)
        return options(form, "team")[1:]

    assert teams_for(rep) == ["华北"]
    assert teams_for(other) == ["华南"]
    choices._forget_version()
    add_to_team(rep, south)  # a membership change is a change of the choices
    assert teams_for(rep) == ["华北", "华南"]


def test_labels_follow_the_language():
    with translation.override("zh-hans"):
        form_zh = options(OpportunityFilterForm({}), "stage")
    with translation.override("en"):
        form_en = options(OpportunityFilterForm({}), "stage")
    assert form_zh[1:] == form_en[1:]  # stage names are data; the entries are kept apart anyway
    assert len(choices._entries) >= 2


def test_nothing_read_inside_a_transaction_is_kept():
    Tag.objects.create(name="A")
    with transaction.atomic():
        Tag.objects.create(name="only if committed")
        assert options(CompanyFilterForm({}), "tag")[1:] == ["A", "only if committed"]
        transaction.set_rollback(True)
    assert options(CompanyFilterForm({}), "tag")[1:] == ["A"]
