"""Record pickers (crm's own sources): the options endpoint answers only with whom the user may
choose, never fails on odd input, escapes what it shows; the widget names the current choice only
for a user who may see it. Company and contact pickers: customers/tests/test_company_picker.py."""

import re

import pytest
from django import forms
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm import pickers, roles
from crm.models import Team, TeamMembership, User
from crm.pickers import (
    RecordPicker,
    bind_pickers,
    clean_query,
    get_pick_source,
    has_source,
    register_pick_source,
    search_teams,
)
from crm.selectors import assignable_owners, assignable_teams
from crm.testing import make_user

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
OPTION = re.compile(r'<li [^>]*role="option"[^>]*data-value="(\d+)">([^<]*)</li>')
CRM_SOURCES = ("crm.user", "crm.assignable_owner", "crm.assignable_team", "crm.team")


def pick(client, source, q, *, htmx=True):
    return client.get(reverse("crm:pick", args=[source]), {"q": q}, **(HTMX if htmx else {}))


def options(response) -> list[tuple[int, str]]:
    assert response.status_code == 200, response.status_code
    return [(int(pk), label) for pk, label in OPTION.findall(response.content.decode())]


@pytest.fixture
def named_cast(cast):
    """Every member of the cast shares the family name 张, so one query matches them all."""
    User.objects.filter(pk__in=[u.pk for u in cast.as_dict().values()]).update(last_name="张")
    return cast


# --- Scoping -------------------------------------------------------------------------------------


def test_assignable_owner_for_a_rep_is_only_themselves(client, named_cast):
    client.force_login(named_cast.owner)
    found = options(pick(client, "crm.assignable_owner", "张"))
    assert [pk for pk, _ in found] == [named_cast.owner.pk]


def test_assignable_owner_for_a_manager_is_the_members_of_their_team(client, named_cast):
    cast = named_cast
    client.force_login(cast.manager)
    found = {pk for pk, _ in options(pick(client, "crm.assignable_owner", "张"))}
    team = set(TeamMembership.objects.filter(team=cast.team).values_list("user_id", flat=True))
    assert found == team and {cast.owner.pk, cast.teammate.pk, cast.manager.pk} <= found
    assert cast.outsider.pk not in found


def test_assignable_owner_for_an_administrator_is_every_active_user(client, named_cast):
    cast = named_cast
    User.objects.filter(pk=cast.outsider.pk).update(is_active=False)
    client.force_login(cast.admin)
    found = {pk for pk, _ in options(pick(client, "crm.assignable_owner", "张"))}
    assert found == {u.pk for u in cast.as_dict().values()} - {cast.outsider.pk}


def test_assignable_team_is_the_users_own_teams(client, cast):
    Team.objects.filter(pk=cast.team.pk).update(name="华东 Team")
    Team.objects.filter(pk=cast.other_team.pk).update(name="华南 Team")
    client.force_login(cast.owner)
    assert options(pick(client, "crm.assignable_team", "Team")) == [(cast.team.pk, "华东 Team")]
    client.force_login(cast.admin)
    assert [pk for pk, _ in options(pick(client, "crm.assignable_team", "Team"))] == [cast.team.pk, cast.other_team.pk]


def test_every_team_may_be_picked_in_a_filter(client, cast):
    client.force_login(cast.owner)
    found = {pk for pk, _ in options(pick(client, "crm.team", "Team"))}
    assert {cast.team.pk, cast.other_team.pk} <= found


def test_user_source_searches_names_family_name_first_and_usernames(client, cast):
    wang = make_user(role=roles.SALES_REP, username="wangwei", first_name="伟", last_name="王", email="ww@example.com")
    make_user(role=roles.SALES_REP, username="gone", first_name="伟", last_name="王", is_active=False)
    client.force_login(cast.owner)
    for query in ("王伟", "wangw", "ww@example", "伟", "ＷＡＮＧ"):
        assert options(pick(client, "crm.user", query)) == [(wang.pk, "王伟 (wangwei)")], query


def test_assignable_selectors_match_what_the_services_accept(cast):
    from crm.permissions import may_assign_owner, may_assign_team

    everyone = list(User.objects.filter(is_active=True))
    for actor in (cast.owner, cast.manager, cast.outsider, cast.admin):
        owners = set(assignable_owners(actor))
        assert owners == {u for u in everyone if may_assign_owner(actor, u)}, actor
        teams = set(assignable_teams(actor))
        assert teams == {t for t in Team.objects.all() if may_assign_team(actor, t)}, actor


def test_an_inactive_user_may_choose_nobody(cast):
    User.objects.filter(pk=cast.manager.pk).update(is_active=False)
    cast.manager.refresh_from_db()
    assert not assignable_owners(cast.manager).exists()
    assert not assignable_teams(cast.manager).exists()


# --- Odd requests --------------------------------------------------------------------------------


def test_unknown_source_is_404(client, cast):
    client.force_login(cast.owner)
    for source in ("customers.nothing", "crm", "..", "crm.user.extra", "CRM.USER"):
        assert pick(client, source, "x").status_code == 404, source


@pytest.mark.parametrize(
    "query",
    [
        "张\x00",
        "\x00",
        "a" * 20000,
        "张" * 5000,
        "' OR 1=1 --",
        "a & b | !c:*",
        "()<>",
        "\u200b",
        "%",
        "_",
        "\\",
        "   ",
        "9" * 40,
    ],
)
def test_odd_queries_never_fail(client, named_cast, query):
    client.force_login(named_cast.manager)
    for source in CRM_SOURCES:
        assert pick(client, source, query).status_code == 200
        assert pick(client, source, query, htmx=False).status_code == 200


def test_undecodable_bytes_in_the_query_string_do_not_fail(client, cast):
    client.force_login(cast.owner)
    response = client.get(reverse("crm:pick", args=["crm.user"]) + "?q=%ff%fe%00&q=%e5%8d", **HTMX)
    assert response.status_code == 200


def test_an_empty_query_lists_nothing(client, named_cast):
    client.force_login(named_cast.admin)
    assert options(pick(client, "crm.user", "")) == []
    assert options(pick(client, "crm.user", " \t ")) == []


def test_clean_query_cuts_and_cleans():
    assert clean_query("  华为\x00技术\n ") == "华为 技术"
    assert clean_query("ｈｕａ") == "hua"
    assert len(clean_query("x" * 10_000)) == pickers.MAX_QUERY_LENGTH
    assert clean_query(None) == ""


def test_anonymous_users_are_sent_to_sign_in(client):
    response = pick(client, "crm.user", "张", htmx=False)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    response = pick(client, "crm.user", "张")
    assert "HX-Redirect" in response and reverse("login") in response["HX-Redirect"]


def test_only_reads_are_answered(client, cast):
    client.force_login(cast.owner)
    assert client.post(reverse("crm:pick", args=["crm.user"]), {"q": "x"}).status_code == 405


def test_at_most_twenty_options_and_a_note_that_there_are_more(client, cast):
    for i in range(pickers.MAX_OPTIONS + 5):
        make_user(role=roles.SALES_REP, username=f"zhao{i:02}")
    client.force_login(cast.owner)
    response = pick(client, "crm.user", "zhao")
    found = options(response)
    assert [label for _, label in found] == [f"zhao{i:02}" for i in range(pickers.MAX_OPTIONS)]
    assert "More than 20 matches" in response.content.decode()


def test_options_are_escaped(client, cast):
    make_user(role=roles.SALES_REP, username="evil", first_name='<img src=x onerror="alert(1)">', last_name="& Co")
    client.force_login(cast.owner)
    body = pick(client, "crm.user", "evil").content.decode()
    assert "<img" not in body
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; Co (evil)" in body


def test_the_answer_varies_with_htmx_and_without_it_is_a_search_page(client, named_cast):
    client.force_login(named_cast.manager)
    partial = pick(client, "crm.assignable_owner", "张")
    assert "HX-Request" in partial["Vary"]
    assert "<html" not in partial.content.decode()
    page = pick(client, "crm.assignable_owner", "张", htmx=False)
    assert "HX-Request" in page["Vary"]
    body = page.content.decode()
    assert "<html" in body and "Look up a record number" in body
    numbers = {int(n) for n in re.findall(r"<code[^>]*>(\d+)</code>", body)}
    assert named_cast.owner.pk in numbers and named_cast.outsider.pk not in numbers


def test_options_cost_a_fixed_number_of_queries(client, named_cast, django_assert_num_queries):
    client.force_login(named_cast.manager)
    pick(client, "crm.assignable_owner", "张")  # warm per-process caches
    # user, options (roles and teams come from the cache)
    with django_assert_num_queries(2):
        assert len(options(pick(client, "crm.assignable_owner", "张"))) >= 3
    for i in range(30):
        make_user(username=f"member{i}", last_name="张").memberships.create(team=named_cast.team)
    with django_assert_num_queries(2):
        assert len(options(pick(client, "crm.assignable_owner", "张"))) == pickers.MAX_OPTIONS


# --- The registry ----------------------------------------------------------------------------------


@pytest.fixture
def own_team_source():
    """A source without a wider label scope: a current value the user may not choose shows nothing."""
    source = register_pick_source("tests.own_team", queryset=assignable_teams, search=search_teams)
    yield source
    pickers._sources.pop(source.name, None)


def test_sources_are_found_by_name(own_team_source):
    assert has_source("tests.own_team") and get_pick_source("tests.own_team") is own_team_source
    assert not has_source("tests.nothing")
    with pytest.raises(LookupError):
        get_pick_source("tests.nothing")
    with pytest.raises(ValueError):
        register_pick_source("no dots", queryset=assignable_teams, search=search_teams)


def test_the_built_in_sources_are_registered():
    assert all(has_source(name) for name in CRM_SOURCES)


# --- The widget -------------------------------------------------------------------------------------


class TeamForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.all(), widget=RecordPicker(source="tests.own_team"))


def test_the_widget_renders_a_combobox_a_value_input_and_a_listbox(cast, own_team_source):
    form = TeamForm(initial={"team": cast.team.pk})
    bind_pickers(form, cast.owner)
    html = str(form["team"])
    assert re.search(rf'<input type="text" name="team" value="{cast.team.pk}"[^>]* id="id_team"', html)
    combobox = re.search(r'<input [^>]*role="combobox"[^>]*>', html).group(0)
    for attribute in ('aria-autocomplete="list"', 'aria-expanded="false"', 'aria-controls="id_team_listbox"'):
        assert attribute in combobox
    assert f'value="{cast.team.name}"' in combobox
    assert 'hx-get="/core/pick/tests.own_team/"' in combobox
    assert 'hx-trigger="input changed delay:250ms, keyup changed delay:250ms"' in combobox
    assert " required" not in combobox  # a hidden required box would block the form without JavaScript
    assert 'role="listbox" ' in html and 'id="id_team_listbox"' in html
    assert f"Now: {cast.team.name}." in html


def test_the_widget_shows_no_label_for_a_record_the_user_may_not_see(cast, own_team_source):
    form = TeamForm(initial={"team": cast.other_team.pk})
    bind_pickers(form, cast.owner)
    html = str(form["team"])
    assert cast.other_team.name not in html
    assert f'value="{cast.other_team.pk}"' in html  # the value stays: saving unchanged must not drop it


def test_the_widget_without_a_user_shows_no_label(cast, own_team_source):
    html = str(TeamForm(initial={"team": cast.team.pk})["team"])
    assert cast.team.name not in html


@pytest.mark.parametrize("value", ["abc", "-1", "0", "99999999999999999999999", "1\x00"])
def test_the_widget_survives_bad_submitted_values(cast, own_team_source, value):
    form = TeamForm(data={"team": value})
    bind_pickers(form, cast.owner)
    assert not form.is_valid()
    assert 'role="combobox"' in str(form["team"])


def test_the_current_label_costs_one_query(cast, own_team_source):
    form = TeamForm(initial={"team": cast.team.pk})
    bind_pickers(form, cast.owner)
    str(form["team"])  # the user's scope facts, read once per request
    with CaptureQueriesContext(connection) as captured:
        assert cast.team.name in str(form["team"])
    assert len(captured.captured_queries) == 1


def test_a_kept_owner_the_editor_could_not_choose_is_still_named(cast):
    class OwnerForm(forms.Form):
        owner = forms.ModelChoiceField(queryset=User.objects.all(), widget=RecordPicker(source="crm.assignable_owner"))

    form = OwnerForm(initial={"owner": cast.outsider.pk})
    bind_pickers(form, cast.owner)
    assert f"Now: {cast.outsider}." in str(form["owner"])


def test_field_attributes_reach_the_visible_box(cast, own_team_source):
    form = TeamForm(data={"team": ""})
    bind_pickers(form, cast.owner)
    assert not form.is_valid()
    html = str(form["team"])
    combobox = re.search(r'<input [^>]*role="combobox"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in combobox and 'class="form-control"' in combobox
