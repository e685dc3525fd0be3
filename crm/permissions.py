"""The scoping layer: who may see and change which business record.

A user sees what they own, what the teams they manage own, and what was shared with them or
one of their groups (django-guardian direct foreign-key object permissions). Administrators
and Auditors see everything; Auditors change nothing. Model permissions come from the role:
a role without `change_company` changes no company it merely owns, but an explicit share
grants its own permissions on that one record.

Every list, search, export, report, task and form dropdown goes through `restrict`, and every
view that touches one record through `get_object_for_user`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Q, QuerySet
from django.http import Http404
from guardian.utils import get_group_obj_perms_model, get_user_obj_perms_model

from crm import roles

ACTIONS = ("view", "change", "delete", "assign")
# What a share can grant. Deleting, and "assign" (changing owner or team, sharing), belong to
# the owner, the managers of the record's team and administrators alone.
SHAREABLE_ACTIONS = ("view", "change")
# The role permission an action needs: assigning is a kind of change.
_ROLE_ACTION = {"view": "view", "change": "change", "delete": "delete", "assign": "change"}

_permission_ids: dict[tuple[str, str], int] = {}


# A user's roles and teams, and the model permissions their roles give, are read on every request
# (four queries before the view starts). They change rarely, so they are kept in the cache per
# user: forgotten for a user whose roles, permissions or teams change, and for everyone when a
# role's permissions or name change (crm.signals). The timeout bounds a change made where no
# signal is sent (a raw write, a bulk update).
SCOPE_GENERATION = "auth:roles"
SCOPE_TIMEOUT = 5 * 60
_SCOPE_NAME = "auth:scope"


def _scope_name(user) -> str:
    # Django's permissions depend on the account's own flags, read fresh with the user each
    # request: a flag that changes names another entry.
    return f"{_SCOPE_NAME}:{int(user.is_superuser)}{int(user.is_active)}"


def _scope_from_database(user) -> dict:
    from crm.models import TeamMembership

    return {
        "groups": dict(user.groups.values_list("id", "name")),
        "memberships": list(TeamMembership.objects.filter(user_id=user.pk).values_list("team_id", "role", "on_shift")),
        "permissions": set(ModelBackend().get_all_permissions(user)),
    }


def _stored_scope(user) -> dict:
    """The user's roles, teams and model permissions: from the user object within a request, else
    from the cache, else from the database (three or four queries)."""
    stored = user.__dict__.get("_crm_stored_scope")
    if stored is None:
        from crm.cache import per_user

        if user.pk:
            stored = per_user(
                user,
                _scope_name(user),
                lambda: _scope_from_database(user),
                generation=SCOPE_GENERATION,
                timeout=SCOPE_TIMEOUT,
                stamp=_SCOPE_NAME,
            )
        else:
            stored = {"groups": {}, "memberships": [], "permissions": set()}
        user.__dict__["_crm_stored_scope"] = stored
    return stored


def _user_facts(user) -> dict:
    """Per-request facts about the user, cached on the user object."""
    facts = getattr(user, "_crm_scope", None)
    if facts is None:
        from crm.models import TeamMembership

        stored = _stored_scope(user)
        group_names, memberships = stored["groups"], stored["memberships"]
        names = set(group_names.values())
        facts = {
            "group_ids": list(group_names),
            "managed_team_ids": [team for team, role, _shift in memberships if role == TeamMembership.Role.MANAGER],
            "member_team_ids": [team for team, _role, _shift in memberships],
            "is_admin": bool(user.is_superuser or roles.ADMINISTRATOR in names),
            "sees_all": bool(user.is_superuser or names.intersection(roles.SEE_ALL_ROLES)),
        }
        user._crm_scope = facts
    return facts


def remember_permissions(user) -> None:
    """Put the user's model permissions on the user object, from the cache when it has them:
    Django's ModelBackend keeps its answer in `_perm_cache` and reads it from there, so `has_perm`
    reads no table for the rest of the request."""
    if user.is_authenticated and user.is_active and not hasattr(user, "_perm_cache"):
        user._perm_cache = _stored_scope(user)["permissions"]


def shift_states(user) -> list[bool]:
    """Whether the user takes new work in each team they belong to (`TeamMembership.on_shift`)."""
    return [shift for _team, _role, shift in _stored_scope(user)["memberships"]] if user.is_authenticated else []


def forget_user_facts(user) -> None:
    """Drop the scope facts and permissions cached on `user` and in the cache, after the user's
    teams or roles change."""
    for attr in ("_crm_scope", "_crm_stored_scope", "_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(attr, None)
    if user.pk:
        forget_scopes([user])


def forget_scopes(users) -> None:
    """Forget the cached roles, teams and permissions of `users` (saved users)."""
    from crm.cache import forget_user

    users = [user for user in users if user.pk]
    if users:
        forget_user(users, _SCOPE_NAME)
        forget_shares(users)  # shares with their groups count as theirs


def forget_all_scopes() -> None:
    """Forget everyone's cached roles, teams, permissions and shares (a role changed)."""
    from crm.cache import bump

    bump(SCOPE_GENERATION)
    bump(SHARES_GENERATION)


def is_administrator(user) -> bool:
    return bool(user.is_authenticated and user.is_active and _user_facts(user)["is_admin"])


def sees_everything(user) -> bool:
    return bool(user.is_authenticated and user.is_active and _user_facts(user)["sees_all"])


def managed_team_ids(user) -> list[int]:
    return _user_facts(user)["managed_team_ids"] if user.is_authenticated else []


def member_team_ids(user) -> list[int]:
    """Every team the user belongs to, managed or not."""
    return _user_facts(user)["member_team_ids"] if user.is_authenticated else []


# Models a team works together (service tickets): every member of a record's team may do these
# actions on it, as the team's managers may; label -> actions.
_team_worked: dict[str, tuple[str, ...]] = {}
# Models whose records are also visible through a related record: label -> function(user) -> Q
# over the model (a ticket through the customer it is about).
_seen_through: dict[str, list[Callable]] = {}


def register_team_worked(model: type[models.Model], actions: tuple[str, ...] = ("view", "change")) -> None:
    """Let every member of a record's team `actions` it (their role permitting), not only its
    managers. The record's owner then acts as one of those members: assigning (which includes
    sharing) and deleting stay with the team's managers and administrators."""
    _team_worked[model._meta.label_lower] = tuple(actions)


def _owner_may(model: type[models.Model], action: str) -> bool:
    worked = _team_worked.get(model._meta.label_lower)
    return worked is None or action in worked


def register_seen_through(model: type[models.Model], condition: Callable) -> None:
    """Let users whose role may view `model` see its records that `condition(user)` (a Q) matches,
    e.g. the tickets of the customers they may see. Viewing only: never change, assign or delete."""
    conditions = _seen_through.setdefault(model._meta.label_lower, [])
    if condition not in conditions:
        conditions.append(condition)


def _team_ids_for(model: type[models.Model], action: str, facts: dict) -> list[int]:
    if action in _team_worked.get(model._meta.label_lower, ()):
        return facts["member_team_ids"]
    return facts["managed_team_ids"]


def perm_codename(model: type[models.Model], action: str) -> str:
    return f"{action}_{model._meta.model_name}"


def forget_permission_ids() -> None:
    """Drop the cached permission ids: after a flush and re-migration (tests) the rows are new."""
    _permission_ids.clear()


def permission_id(model: type[models.Model], action: str) -> int:
    """The auth Permission id for `action` on `model`, cached per process (ids never change once
    migrated; `_after_migrate` forgets them when a flush recreates the rows)."""
    key = (model._meta.label_lower, action)
    if key not in _permission_ids:
        _permission_ids[key] = Permission.objects.get(
            content_type__app_label=model._meta.app_label, codename=perm_codename(model, action)
        ).pk
    return _permission_ids[key]


def object_permission_models(model: type[models.Model]) -> tuple[type, type]:
    """The guardian direct foreign-key permission models (user, group) for a business model."""
    user_model = get_user_obj_perms_model(model)
    group_model = get_group_obj_perms_model(model)
    if user_model._meta.label == "guardian.UserObjectPermission" or group_model._meta.label == (
        "guardian.GroupObjectPermission"
    ):
        raise TypeError(f"{model._meta.label} needs direct foreign-key object permission models.")
    return user_model, group_model


def has_role_permission(user, model: type[models.Model], action: str) -> bool:
    action = _ROLE_ACTION.get(action, action)
    return user.has_perm(f"{model._meta.app_label}.{perm_codename(model, action)}")


# Up to this many explicitly shared records are inlined as a literal id list, which lets
# PostgreSQL combine the owner, team and primary-key indexes (BitmapOr). An OR with a
# sub-query instead forces a scan of every row at millions of rows.
SHARED_IDS_INLINE_LIMIT = 5000


@contextmanager
def shares_held(user):
    """Within the block, what is shared with `user` is read once per model and action, not at
    every `restrict()`: for work that checks the same user's reach many times over (an import
    chunk) while nothing shares records with them. Forgotten when the block ends."""
    facts = _user_facts(user)
    facts["shared"] = {}
    try:
        yield
    finally:
        facts.pop("shared", None)


def _shared_condition(user, model, action: str, facts: dict) -> Q:
    """Rows of `model` shared with the user or one of their groups for `action`."""
    held = facts.get("shared")
    if held is not None:
        key = (model._meta.label_lower, action)
        if key not in held:
            held[key] = _read_shared_condition(user, model, action, facts)
        return held[key]
    return _read_shared_condition(user, model, action, facts)


def _read_shared_condition(user, model, action: str, facts: dict) -> Q:
    ids = _shared_ids(user, model, action, facts)
    if ids is not None:
        return Q(pk__in=ids)
    # Past the limit, sub-queries: correct, if harder for the planner.
    direct, via_group = _share_queries(user, model, action, facts)
    return Q(pk__in=direct) | Q(pk__in=via_group)


def _share_queries(user, model, action: str, facts: dict) -> tuple[QuerySet, QuerySet]:
    """The ids of `model` shared with the user for `action`, and with one of their groups."""
    user_perm_model, group_perm_model = object_permission_models(model)
    perm_id = permission_id(model, action)
    direct = user_perm_model.objects.filter(user_id=user.pk, permission_id=perm_id).values("content_object_id")
    via_group = group_perm_model.objects.filter(group_id__in=facts["group_ids"], permission_id=perm_id).values(
        "content_object_id"
    )
    return direct, via_group


# What is shared with a user is kept in the cache too, per model and action, under one stamp per
# user: sharing with the user (or unsharing) forgets theirs, a share with a group or a moved share
# forgets everyone's (`shares_changed`), and a change of the user's roles forgets theirs with the
# roles (crm.signals).
SHARES_GENERATION = "auth:shares"
_SHARES_STAMP = "auth:shares"


def _shared_ids(user, model, action: str, facts: dict) -> list[int] | None:
    """The ids of `model` shared with the user or their groups for `action`, or None past
    SHARED_IDS_INLINE_LIMIT of them."""

    def from_database():
        direct, via_group = _share_queries(user, model, action, facts)
        shared = direct.union(via_group) if facts["group_ids"] else direct
        ids = [row["content_object_id"] for row in shared[: SHARED_IDS_INLINE_LIMIT + 1]]
        return ids if len(ids) <= SHARED_IDS_INLINE_LIMIT else None

    if not user.pk:
        return from_database()
    from crm.cache import per_user

    return per_user(
        user,
        f"{_SHARES_STAMP}:{model._meta.label_lower}:{action}",
        from_database,
        generation=SHARES_GENERATION,
        timeout=SCOPE_TIMEOUT,
        stamp=_SHARES_STAMP,
    )


def forget_shares(users) -> None:
    """Forget what is cached as shared with `users` (saved users)."""
    from crm.cache import forget_user

    users = [user for user in users if user.pk]
    if users:
        forget_user(users, _SHARES_STAMP)


def shares_changed() -> None:
    """Forget everyone's cached shares: for a write that moves or grants shares in bulk (a merge
    moving a record's shares) or grants one to a group. Call it from such code: queryset updates
    send no signal."""
    from crm.cache import bump

    bump(SHARES_GENERATION)


@dataclass(frozen=True)
class Reach:
    """Which rows of a model a user may act on, in parts: everything; or the rows they own and
    the rows of the teams they manage (when their role grants the action), plus the rows shared
    with them. `restrict` is these parts as one filter; a summary kept per owner and team (the
    board's totals) reads the first two from itself and only the shared rows from the table."""

    everything: bool = False
    model: type[models.Model] | None = None  # whose rows; `through` reads the owner's from it
    owner_id: int | None = None
    team_ids: tuple[int, ...] = ()
    shared: Q = field(default_factory=lambda: Q(pk__in=[]))
    # Rows seen through a related record (`register_seen_through`), for viewing only.
    related: Q = field(default_factory=lambda: Q(pk__in=[]))

    def owned(self, owner: str = "owner_id", team: str = "team_id") -> Q:
        """The owned part as a filter over columns of the given names; matches nothing without one."""
        condition = Q(pk__in=[]) if self.owner_id is None else Q(**{owner: self.owner_id})
        if self.team_ids:
            condition |= Q(**{f"{team}__in": self.team_ids})
        return condition

    def condition(self) -> Q:
        return Q() if self.everything else self.owned() | self.shared | self.related

    def through(self, path: str) -> Q:
        """The same rows, as a filter on a model that points at them through the
        foreign key `path` ("company"): rows whose `path` is owned, managed, shared or seen
        through.

        Measured at 1M companies and 2M tickets: the rows one person owns (20,000 companies of
        a rep) are hashed once from the owner index, cheaply, so that part stays a sub-query;
        the rows of the teams a manager runs (100,000) cost a second to hash, so that part is
        checked on the joined row instead, which a list ordered and cut by its own index does
        for the few rows it walks (1.9 s -> 0.13 s for a manager's ticket list)."""
        if self.everything:
            return Q(**{f"{path}__isnull": False})
        condition = Q(pk__in=[])
        if self.owner_id is not None:
            owned = self.model._default_manager.filter(owner_id=self.owner_id).values("pk")
            condition = Q(**{f"{path}__in": owned})
        if self.team_ids:
            condition |= Q(**{f"{path}__team_id__in": self.team_ids})
        return condition | _rerooted(self.shared, path) | _rerooted(self.related, path)


def _rerooted(condition: Q, path: str) -> Q:
    """`condition` (over a model's own fields) as a condition over the foreign key `path` to it.

    For the shapes a reach is made of (ids in a list or a sub-query, ORed); a negation would
    also match rows whose `path` is empty, so it is refused rather than rewritten."""
    if condition.negated:
        raise ValueError("A negated visibility condition cannot be seen through a foreign key.")
    children = []
    for child in condition.children:
        if isinstance(child, Q):
            children.append(_rerooted(child, path))
        else:
            key, value = child
            children.append((path + key[2:] if key == "pk" or key.startswith("pk__") else f"{path}__{key}", value))
    return Q(*children, _connector=condition.connector, _negated=condition.negated)


def reach(user, model: type[models.Model], action: str = "view", *, through: bool = True) -> Reach:
    """The parts of `model` that `user` may perform `action` on (nothing when signed out)."""
    if action not in ACTIONS:
        raise ValueError(f"Unknown action {action!r}")
    if not (user and user.is_authenticated and user.is_active):
        return Reach()
    facts = _user_facts(user)
    if facts["is_admin"] or (action == "view" and facts["sees_all"]):
        return Reach(everything=True)
    owner_id, team_ids, related = None, (), Q(pk__in=[])
    if has_role_permission(user, model, action):
        owner_id = user.pk if _owner_may(model, action) else None
        team_ids = tuple(_team_ids_for(model, action, facts))
        if action == "view" and through:
            for condition in _seen_through.get(model._meta.label_lower, ()):
                related |= condition(user)
    shared = _shared_condition(user, model, action, facts) if action in SHAREABLE_ACTIONS else Q(pk__in=[])
    return Reach(model=model, owner_id=owner_id, team_ids=team_ids, shared=shared, related=related)


def restrict(queryset: QuerySet, user, action: str = "view", *, through: bool = True) -> QuerySet:
    """Filter `queryset` to the rows `user` may perform `action` on. `through=False` leaves out
    what is seen only through a related record (`register_seen_through`): a condition that is
    itself such a registration reads it so, lest one visibility feed another."""
    scope = reach(user, queryset.model, action, through=through)
    return queryset if scope.everything else queryset.filter(scope.condition())


def can(user, obj: models.Model, action: str = "view") -> bool:
    """Whether `user` may perform `action` on `obj`; answers from memory when it can."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    facts = _user_facts(user)
    if facts["is_admin"] or (action == "view" and facts["sees_all"]):
        return True
    model = type(obj)
    if has_role_permission(user, model, action) and (
        (obj.owner_id == user.pk and _owner_may(model, action))
        or (obj.team_id is not None and obj.team_id in _team_ids_for(model, action, facts))
    ):
        return True
    if action not in SHAREABLE_ACTIONS:
        return False
    return restrict(model._default_manager.filter(pk=obj.pk), user, action).exists()


def get_object_for_user(user, model_or_queryset, pk, perm: str = "view"):
    """Fetch one record: 404 if the user may not see it, 403 if they may see but not `perm` it."""
    queryset = (
        model_or_queryset if isinstance(model_or_queryset, QuerySet) else model_or_queryset._default_manager.all()
    )
    try:
        obj = restrict(queryset, user, "view").get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise Http404(queryset.model._meta.verbose_name) from None
    if perm != "view" and not can(user, obj, perm):
        raise PermissionDenied
    return obj


def may_assign_owner(actor, owner) -> bool:
    """Whether `actor` may hand a record to `owner`: themselves, a member of a team they manage,
    anyone active for administrators."""
    if owner is None or not owner.is_active:
        return False
    if is_administrator(actor) or owner.pk == actor.pk:
        return True
    from crm.models import TeamMembership

    managed = managed_team_ids(actor)
    return bool(managed) and TeamMembership.objects.filter(user_id=owner.pk, team_id__in=managed).exists()


def may_assign_team(actor, team) -> bool:
    """Whether `actor` may put a record in `team`: one they belong to or manage (any, for administrators)."""
    if team is None or is_administrator(actor) or team.pk in managed_team_ids(actor):
        return True
    from crm.models import TeamMembership

    return TeamMembership.objects.filter(user_id=actor.pk, team_id=team.pk).exists()
