"""Test helpers other apps use: a cast of users around one team, for permission matrices.

cast = build_cast()
for who, expected in {"owner": 200, "teammate": 404, "manager": 200, "outsider": 404, "auditor": 200}.items():
    ...
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

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

    def as_dict(self) -> dict[str, User]:
        return {
            "owner": self.owner,
            "teammate": self.teammate,
            "manager": self.manager,
            "outsider": self.outsider,
            "auditor": self.auditor,
            "admin": self.admin,
        }


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
    return Cast(team, other_team, owner, teammate, manager, outsider, auditor, admin)
