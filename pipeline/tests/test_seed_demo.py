"""`seed_demo` tells a sales team's story: leads in every status, deals in every stage of both
pipelines (won, lost with reasons, some gone stale), tasks due today and overdue, quotas."""

from datetime import timedelta

import pytest
from django.utils import timezone

from crm import roles
from crm.demo import seed_demo
from crm.models import User
from pipeline.models import (
    Lead,
    Opportunity,
    OpportunityUserObjectPermission,
    Pipeline,
    Quota,
    Stage,
    StageChange,
    Task,
)
from pipeline.opportunity_selectors import stale_opportunities


@pytest.fixture
def demo(db):
    return seed_demo(admin_password="demo-admin-password-for-tests")


def test_the_sales_story(demo):
    assert set(Lead.objects.values_list("status", flat=True)) == set(Lead.Status.values)
    assert not Lead.objects.filter(status=Lead.Status.DISQUALIFIED, disqualified_reason="").exists()
    assert Lead.objects.filter(web_form__isnull=False, score__gt=0).exists()

    for pipeline in Pipeline.objects.all():
        for stage in pipeline.stages.all():
            assert Opportunity.objects.filter(stage=stage).exists(), stage
    lost = Opportunity.objects.filter(stage__kind=Stage.Kind.LOST)
    assert not lost.filter(lost_reason__isnull=True).exists()
    # Deals have a past: opened weeks ago, moved through stages, some won this month (the forecast).
    now, today = timezone.now(), timezone.localdate()
    assert Opportunity.objects.filter(created_at__lt=now - timedelta(days=60)).exists()
    assert StageChange.objects.count() > Opportunity.objects.count() * 1.5
    assert Opportunity.objects.filter(won_at__date__gte=today.replace(day=1)).exists()
    assert stale_opportunities(user=User.objects.get(username="admin")).exists()

    rep = User.objects.get(username="li.wei")
    open_tasks = Task.objects.filter(status=Task.Status.OPEN)
    assert open_tasks.filter(owner=rep, due_at__date=today).exists()
    assert open_tasks.filter(owner=rep, due_at__lt=now - timedelta(hours=20)).exists()
    assert Task.objects.filter(owner=rep, status=Task.Status.DONE).exists()

    sellers = User.objects.filter(groups__name__in=[roles.SALES_REP, roles.SALES_MANAGER])
    assert Quota.objects.filter(month__year=today.year).values("user").distinct().count() == sellers.count()
    assert OpportunityUserObjectPermission.objects.exists()  # a deal shared across the teams


def test_the_demo_leaves_the_board_totals_exact(demo):
    """The demo writes through the services and backdates through `bulk_change`: nothing for
    the nightly recount to correct."""
    from pipeline.stage_totals import reconcile

    assert reconcile() == 0
