"""`Reach.through` (crm.permissions): what a user may see of companies, as a filter on tickets."""

import pytest
from django.db.models import Q

from crm.permissions import Reach
from customers.models import Company


def test_ones_own_records_stay_a_sub_query_and_the_teams_are_read_on_the_joined_row():
    condition = Reach(model=Company, owner_id=7, team_ids=(3, 4), shared=Q(pk__in=[11, 12])).through("company")

    assert condition.connector == Q.OR
    (sub_query,) = [c for c in condition.children if c[0] == "company__in" and not isinstance(c[1], list)]
    assert sub_query[1].model is Company
    assert ("company__team_id__in", (3, 4)) in condition.children
    assert ("company__in", [11, 12]) in condition.children


def test_everything_is_every_row_with_the_key_set_and_nothing_is_nothing():
    assert Reach(everything=True).through("company") == Q(company__isnull=False)
    nothing = Reach(model=Company).through("company")
    assert ("company__in", []) in nothing.children or nothing.children[0].children == [("company__in", [])]


def test_a_negated_condition_is_refused_rather_than_rewritten():
    with pytest.raises(ValueError):
        Reach(model=Company, owner_id=1, shared=~Q(pk__in=[1])).through("company")
