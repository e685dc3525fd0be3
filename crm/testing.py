"""Test helpers other apps use: a cast of users around one team, for permission matrices.

cast = build_cast()
for who, expected in {"owner": 200, "teammate": 404, "manager": 200, "outsider": 404, "auditor": 200}.items():
    ...
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import Group

from crm import roles
from crm.models import Team, TeamMembership, User

_counter = itertools.count(1)


def make_user(*, role: str | None = roles.SALES_REP, username: str | None = None, **fields) -> User:
    username = username or f"user{next(_counter)}"
    user = User.objects.create_user(username=username, password=fields.pop("password", "pw-for-tests-1"), **fields)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def make_team(name: str | None = None) -> Team:
    from crm.services import team_create

    return team_create(name=name or f"Team {next(_counter)}")


def add_to_team(user: User, team: Team, *, manager: bool = False) -> None:
    from crm.services import team_set_member

    role = TeamMembership.Role.MANAGER if manager else TeamMembership.Role.MEMBER
    team_set_member(team=team, user=user, role=role)


@dataclass
class Cast:
    """The people every permission test is about."""

    team: Team
    other_team: Team
    owner: User  # owns the record, member of `team`
    teammate: User  # member of `team`, not its manager: sees only what is shared
    manager: User  # manages `team`: sees and changes the team's records
    outsider: User  # a rep in `other_team`
    auditor: User  # sees everything, changes nothing
    admin: User  # Administrator role
    share_viewer: User | None = None  # a rep of `other_team` the record is shared with for viewing
    share_editor: User | None = None  # a rep of `other_team` the record is shared with for editing
    marketer: User | None = None  # Marketing role, in `other_team`
    support_agent: User | None = None  # Support agent role, in `other_team`
    support_manager: User | None = None  # Support manager role, manages `other_team`

    def as_dict(self) -> dict[str, User]:
        """The six people of the classic matrix (owner … admin)."""
        return {
            "owner": self.owner,
            "teammate": self.teammate,
            "manager": self.manager,
            "outsider": self.outsider,
            "auditor": self.auditor,
            "admin": self.admin,
        }

    def everyone(self) -> dict[str, User]:
        """Everybody of the cast, shared users and the other roles included."""
        people = self.as_dict()
        for name in ("share_viewer", "share_editor", "marketer", "support_agent", "support_manager"):
            if getattr(self, name) is not None:
                people[name] = getattr(self, name)
        return people


def build_cast(*, rep_role: str = roles.SALES_REP, manager_role: str = roles.SALES_MANAGER) -> Cast:
    team, other_team = make_team(), make_team()
    owner = make_user(role=rep_role, username=f"owner{next(_counter)}")
    teammate = make_user(role=rep_role, username=f"teammate{next(_counter)}")
    manager = make_user(role=manager_role, username=f"manager{next(_counter)}")
    outsider = make_user(role=rep_role, username=f"outsider{next(_counter)}")
    auditor = make_user(role=roles.AUDITOR, username=f"auditor{next(_counter)}")
    admin = make_user(role=roles.ADMINISTRATOR, username=f"admin{next(_counter)}")
    add_to_team(owner, team)
    add_to_team(teammate, team)
    add_to_team(manager, team, manager=True)
    add_to_team(outsider, other_team)
    cast = Cast(team, other_team, owner, teammate, manager, outsider, auditor, admin)
    cast.share_viewer = make_user(role=rep_role, username=f"shareview{next(_counter)}")
    cast.share_editor = make_user(role=rep_role, username=f"shareedit{next(_counter)}")
    cast.marketer = make_user(role=roles.MARKETING, username=f"marketer{next(_counter)}")
    cast.support_agent = make_user(role=roles.SUPPORT_AGENT, username=f"agent{next(_counter)}")
    cast.support_manager = make_user(role=roles.SUPPORT_MANAGER, username=f"supportlead{next(_counter)}")
    add_to_team(cast.share_viewer, other_team)
    add_to_team(cast.share_editor, other_team)
    add_to_team(cast.marketer, other_team)
    add_to_team(cast.support_agent, other_team)
    add_to_team(cast.support_manager, other_team, manager=True)
    return cast


# --- The permission matrix ----------------------------------------------------------------------

MATRIX_ROLES = (
    "owner",
    "teammate",
    "manager",
    "outsider",
    "share_viewer",
    "share_editor",
    "marketer",
    "support_agent",
    "support_manager",
    "auditor",
    "admin",
    "anonymous",
)


def check_permission_matrix(
    client,
    cast: Cast,
    *,
    url: Callable[[Any], str],
    make_record: Callable[[Cast], Any],
    expect: dict[str, int],
    method: str = "get",
    data: Callable[[Any], dict] | None = None,
    htmx: bool = False,
) -> dict[str, int]:
    """Request `url(record)` as every person of the cast (and anonymous) and compare the status
    with `expect` (every role of MATRIX_ROLES must be named). Each person gets a fresh record
    from `make_record(cast)`, shared with `share_viewer` (view) and `share_editor` (change), so
    a POST that deletes or changes it cannot spoil the next row. Returns the statuses seen and
    fails with the whole table at once, so one run shows every mismatch."""
    from crm.services import record_share

    missing = set(MATRIX_ROLES) - set(expect)
    if missing:
        raise ValueError(f"expected statuses missing for {sorted(missing)}")
    people = cast.everyone()
    seen: dict[str, int] = {}
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    for role in MATRIX_ROLES:
        record = make_record(cast)
        # An administrator shares: the owner of a team-worked record (a ticket) may not.
        record_share(obj=record, recipient=cast.share_viewer, level="view", actor=cast.admin)
        record_share(obj=record, recipient=cast.share_editor, level="change", actor=cast.admin)
        client.logout()
        if role != "anonymous":
            client.force_login(people[role])
        payload = data(record) if data else {}
        response = getattr(client, method)(url(record), payload, **headers)
        seen[role] = response.status_code
    client.logout()
    wrong = {role: (expect[role], seen[role]) for role in MATRIX_ROLES if expect[role] != seen[role]}
    assert not wrong, "expected, got: " + ", ".join(f"{role} {want}/{got}" for role, (want, got) in wrong.items())
    return seen
