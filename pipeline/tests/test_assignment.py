"""New leads go to the right team by the admin's rules, then round robin or to the least loaded rep;
two leads arriving at the same moment never confuse the round robin."""

import threading

import pytest
from django.db import connections
from django.test import override_settings

from crm import roles
from crm.testing import add_to_team, make_team, make_user
from pipeline.leads import lead_assign, lead_create
from pipeline.models import AssignmentRule, Lead
from pipeline.tests.lead_helpers import make_lead, source


@pytest.fixture
def sales(db):
    team = make_team("华南销售")
    reps = [make_user(role=roles.SALES_REP, username=f"rep{i}") for i in range(3)]
    for rep in reps:
        add_to_team(rep, team)
    marketer = make_user(role=roles.MARKETING, username="marketer")
    add_to_team(marketer, team)  # not a sales rep: never receives leads
    gone = make_user(role=roles.SALES_REP, username="gone", is_active=False)
    add_to_team(gone, team)
    admin = make_user(role=roles.ADMINISTRATOR, username="boss")
    return team, reps, admin


def intake(**data):
    data.setdefault("family_name", "客户")
    return lead_create(actor=None, auto_assign=True, **data)


@pytest.mark.django_db
def test_rule_by_source_then_round_robin_over_active_reps(sales):
    team, reps, _admin = sales
    AssignmentRule.objects.create(name="Trade shows", source=source("trade_show"), team=team)
    owners = [intake(source=source("trade_show")).owner for _ in range(4)]
    assert owners == [reps[0], reps[1], reps[2], reps[0]]
    assert all(lead.team == team for lead in Lead.objects.all())


@pytest.mark.django_db
def test_first_matching_rule_by_order_wins_on_region_and_industry(sales):
    team, reps, _admin = sales
    other = make_team("华东销售")
    east_rep = make_user(role=roles.SALES_REP, username="east")
    add_to_team(east_rep, other)
    AssignmentRule.objects.create(name="Shanghai", order=1, region="上海", team=other)
    AssignmentRule.objects.create(name="Software", order=2, industry="software", team=team)
    assert intake(city="上海", industry="Software").owner == east_rep
    assert intake(city="广州", industry="SOFTWARE").owner in reps


@pytest.mark.django_db
def test_least_loaded_picks_the_rep_with_fewest_open_leads(sales):
    team, reps, admin = sales
    AssignmentRule.objects.create(name="All", team=team, method=AssignmentRule.Method.LEAST_LOADED)
    make_lead(owner=reps[0])
    make_lead(owner=reps[0])
    make_lead(owner=reps[1])
    closed = make_lead(owner=reps[2])
    closed.status = Lead.Status.DISQUALIFIED
    closed.save()
    assert intake().owner == reps[2]  # disqualified leads do not count as load
    assert intake().owner == reps[1]  # 1 each for reps 1 and 2: the lower id


@pytest.mark.django_db
def test_no_rule_no_team_goes_to_the_first_administrator(sales):
    _team, _reps, admin = sales
    assert intake().owner == admin


@pytest.mark.django_db
def test_default_owner_setting_wins_over_the_administrator(sales):
    _team, reps, _admin = sales
    with override_settings(LEAD_DEFAULT_OWNER=reps[2].username):
        assert intake().owner == reps[2]


@pytest.mark.django_db
def test_web_form_team_is_the_fallback_and_a_team_without_reps_keeps_the_team(sales):
    team, reps, admin = sales
    assert intake(team=team).owner == reps[0]
    empty = make_team("空")
    lead = intake(team=empty)
    assert (lead.owner, lead.team) == (admin, empty)


@pytest.mark.django_db
def test_manual_reassign(cast):
    lead = make_lead(owner=cast.owner, team=cast.team)
    lead_assign(lead=lead, actor=cast.manager, owner=cast.teammate)
    assert Lead.objects.get(pk=lead.pk).owner == cast.teammate


@pytest.mark.django_db(transaction=True)
def test_concurrent_assignments_take_turns(sales):
    team, reps, _admin = sales
    AssignmentRule.objects.create(name="All", team=team)
    barrier = threading.Barrier(2)
    owners, errors = [], []

    def submit():
        try:
            barrier.wait(timeout=10)
            owners.append(intake().owner_id)
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connections.close_all()

    for _round in range(3):
        threads = [threading.Thread(target=submit) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert not errors
    # Six leads over three reps in turn: each rep exactly twice, whatever the interleaving.
    assert sorted(owners) == sorted([r.pk for r in reps] * 2)
