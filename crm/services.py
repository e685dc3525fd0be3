"""State changes of the core: teams and sharing records with users, teams and roles."""

from __future__ import annotations

from auditlog.models import LogEntry
from django.contrib.auth.models import Group
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from guardian.shortcuts import assign_perm, remove_perm

from crm.audit import EVENT_REVEAL, log_event
from crm.models import Team, TeamMembership, User
from crm.params import parse_text
from crm.permissions import can, perm_codename


@transaction.atomic
def team_create(*, name: str, actor: User | None = None, description: str = "") -> Team:
    if Team.objects.filter(name=name).exists():
        raise ValidationError(_("A team with this name already exists."))
    group = Group.objects.create(name=f"team:{name}")
    return Team.objects.create(name=name, description=description, group=group)


@transaction.atomic
def team_set_member(*, team: Team, user: User, role: str = TeamMembership.Role.MEMBER, actor=None) -> TeamMembership:
    """Add `user` to `team` (or change their role there), keeping the team's group in step."""
    membership, _created = TeamMembership.objects.update_or_create(team=team, user=user, defaults={"role": role})
    user.groups.add(team.group)
    return membership


@transaction.atomic
def team_remove_member(*, team: Team, user: User, actor=None) -> None:
    TeamMembership.objects.filter(team=team, user=user).delete()
    user.groups.remove(team.group)


class ShareLevel(models.TextChoices):
    VIEW = "view", gettext_lazy("Can view")
    CHANGE = "change", gettext_lazy("Can view and edit")


def _share_actions(level: str) -> tuple[str, ...]:
    return ("view", "change") if level == ShareLevel.CHANGE else ("view",)


def _recipient_label(recipient) -> str:
    if isinstance(recipient, Group):
        team = Team.objects.filter(group=recipient).first()
        return f"team:{team.name}" if team else f"group:{recipient.name}"
    return f"user:{recipient.get_username()}"


@transaction.atomic
def record_share(*, obj: models.Model, recipient: User | Group, level: str, actor: User) -> None:
    """Grant `recipient` (a user, or a team's or role's group) access to one record.

    Only those who may assign the record (owner, manager of its team, administrator) share it;
    a share never passes on. Sharing again at another level replaces the earlier grant.
    """
    if not can(actor, obj, "assign"):
        raise PermissionDenied(_("Only the owner, the manager of its team or an administrator may share this record."))
    if level not in ShareLevel.values:
        raise ValidationError(_("Unknown access level."))
    model = type(obj)
    for action in ("view", "change"):
        codename = f"{model._meta.app_label}.{perm_codename(model, action)}"
        if action in _share_actions(level):
            assign_perm(codename, recipient, obj)
        else:
            remove_perm(codename, recipient, obj)
    log_event(
        obj,
        actor=actor,
        action=LogEntry.Action.UPDATE,
        changes={"shared_with": [None, f"{_recipient_label(recipient)} ({level})"]},
        event="share",
    )


@transaction.atomic
def record_unshare(*, obj: models.Model, recipient: User | Group, actor: User) -> None:
    if not can(actor, obj, "assign"):
        raise PermissionDenied(_("You may not change who can see this record."))
    model = type(obj)
    for action in ("view", "change", "delete"):
        remove_perm(f"{model._meta.app_label}.{perm_codename(model, action)}", recipient, obj)
    log_event(
        obj,
        actor=actor,
        action=LogEntry.Action.UPDATE,
        changes={"shared_with": [_recipient_label(recipient), None]},
        event="unshare",
    )


def record_reveal(*, obj: models.Model, field: str, actor: User, permission: str) -> str:
    """The plaintext of one encrypted field for a user whose role may reveal it; audited as an
    access that names the field."""
    from crm.fields import EncryptedTextField

    try:
        model_field = obj._meta.get_field(field)
    except FieldDoesNotExist:
        raise ValidationError(_("Unknown field.")) from None
    if not isinstance(model_field, EncryptedTextField):
        raise ValidationError(_("Unknown field."))
    if not (can(actor, obj, "view") and permission and actor.has_perm(permission)):
        raise PermissionDenied(_("You may not reveal this field."))
    log_event(obj, actor=actor, action=LogEntry.Action.ACCESS, changes={field: ["***", "revealed"]}, event=EVENT_REVEAL)
    return getattr(obj, field)


@transaction.atomic
def saved_view_save(*, user: User, list_key: str, name: str, query: str):
    """Save (or overwrite) the user's named view of a list."""
    from crm.models import SavedView

    # Straight from a post: no control characters (PostgreSQL refuses NUL), bounded lengths.
    name, list_key = parse_text(name, max_length=100), parse_text(list_key, max_length=100)
    if not name:
        raise ValidationError(_("Give the view a name."))
    view, _created = SavedView.objects.update_or_create(
        user=user, list_key=list_key, name=name, defaults={"query": parse_text(query, max_length=2000)}
    )
    return view


@transaction.atomic
def saved_view_delete(*, user: User, pk: int) -> bool:
    from crm.models import SavedView

    deleted, _details = SavedView.objects.filter(user=user, pk=pk).delete()
    return bool(deleted)
