"""Sales quotas: whose quotas a viewer may see, who may set them, and the service that does.

A quota is one user's target for one month; managers set them for the members of the teams they
manage, administrators for anyone.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from crm.models import TeamMembership, User
from crm.permissions import has_role_permission, is_administrator, managed_team_ids, sees_everything
from pipeline.models import Quota

ZERO = Decimal("0")
QUOTA_USERS_LIMIT = 300


def quota_users(viewer) -> list[User] | None:
    """Whose quotas the viewer may see: None means everyone's (administrators, auditors)."""
    if sees_everything(viewer):
        return None
    ids = {viewer.pk}
    managed = managed_team_ids(viewer)
    if managed:
        ids |= set(TeamMembership.objects.filter(team_id__in=managed).values_list("user_id", flat=True))
    return ids


def may_set_quota(actor, target: User) -> bool:
    """Administrators for anyone; sales managers for the other members of the teams they manage."""
    if is_administrator(actor):
        return True
    if target.pk == actor.pk:
        return False  # a manager's own target is set by their own manager or an administrator
    if not has_role_permission(actor, Quota, "change") or not has_role_permission(actor, Quota, "add"):
        return False
    managed = managed_team_ids(actor)
    return bool(managed) and TeamMembership.objects.filter(user=target, team_id__in=managed).exists()


@transaction.atomic
def quota_set(*, actor: User, user: User, month: date, amount: Decimal | None, currency: str = "CNY") -> Quota | None:
    """Set (or, with no amount, clear) one user's quota for one month."""
    if not may_set_quota(actor, user):
        raise PermissionDenied(_("You may not set this person's quota."))
    month = month.replace(day=1)
    if amount is None:
        for quota in Quota.objects.filter(user=user, month=month):
            quota.delete()  # one by one, so the audit log records each
        return None
    if amount < 0:
        raise ValidationError(_("A quota cannot be negative."))
    quota = Quota.objects.filter(user=user, month=month).first() or Quota(user=user, month=month)
    if quota.pk and quota.amount == amount and quota.currency == currency:
        return quota
    quota.amount, quota.currency = amount, currency
    quota.full_clean()
    quota.save()
    return quota


def quota_rows(*, viewer, year: int) -> list[dict]:
    """One row per person whose quotas the viewer may see: the twelve months and whether they may edit."""
    scope = quota_users(viewer)
    people = User.objects.filter(is_active=True)
    if scope is None:
        people = people.filter(memberships__isnull=False).distinct()
    else:
        people = people.filter(pk__in=scope)
    people = list(people.order_by("username")[:QUOTA_USERS_LIMIT])
    amounts = {
        (q.user_id, q.month.month): q.amount
        for q in Quota.objects.filter(user__in=people, month__year=year).only("user_id", "month", "amount")
    }
    administrator = is_administrator(viewer)
    managed = set(managed_team_ids(viewer))
    member_teams: dict[int, set[int]] = {}
    for user_id, team_id in TeamMembership.objects.filter(user__in=people).values_list("user_id", "team_id"):
        member_teams.setdefault(user_id, set()).add(team_id)
    may_edit = administrator or (
        has_role_permission(viewer, Quota, "change") and has_role_permission(viewer, Quota, "add")
    )
    return [
        {
            "user": person,
            "editable": administrator
            or (may_edit and person.pk != viewer.pk and bool(member_teams.get(person.pk, set()) & managed)),
            "months": [(m, amounts.get((person.pk, m))) for m in range(1, 13)],
            "total": sum((a for (uid, _m), a in amounts.items() if uid == person.pk), ZERO),
        }
        for person in people
    ]
