"""Reads of the core: who a record is shared with, which teams a user manages."""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.contrib.auth.models import Group
from django.db import models
from django.http import Http404

from crm.models import OwnedModel, Team, User
from crm.permissions import object_permission_models


@dataclass(frozen=True)
class Share:
    kind: str  # "user", "team" or "role"
    recipient: User | Group
    label: str
    level: str  # "view" or "change"


def shareable_model(label: str) -> type[OwnedModel]:
    """The owned model named `app_label.model`, or 404: the URL names only shareable models."""
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        raise Http404 from None
    if not issubclass(model, OwnedModel):
        raise Http404
    try:
        object_permission_models(model)
    except TypeError:
        raise Http404 from None
    return model


def record_shares(obj: models.Model) -> list[Share]:
    """Everyone a record is explicitly shared with, and at which level."""
    user_model, group_model = object_permission_models(type(obj))
    by_user: dict[int, set[str]] = {}
    for row in user_model.objects.filter(content_object=obj).select_related("permission", "user"):
        by_user.setdefault(row.user, set()).add(row.permission.codename.split("_", 1)[0])
    by_group: dict[Group, set[str]] = {}
    for row in group_model.objects.filter(content_object=obj).select_related("permission", "group"):
        by_group.setdefault(row.group, set()).add(row.permission.codename.split("_", 1)[0])
    teams = {t.group_id: t for t in Team.objects.filter(group__in=list(by_group))}
    shares = [
        Share("user", user, str(user), "change" if "change" in actions else "view")
        for user, actions in by_user.items()
    ]
    for group, actions in by_group.items():
        team = teams.get(group.pk)
        kind, label = ("team", team.name) if team else ("role", group.name)
        shares.append(Share(kind, group, label, "change" if "change" in actions else "view"))
    return sorted(shares, key=lambda s: (s.kind, s.label))


def saved_views(*, user, list_key: str):
    from crm.models import SavedView

    return list(SavedView.objects.filter(user=user, list_key=list_key).only("name", "query"))
