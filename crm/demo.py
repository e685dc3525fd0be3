"""A bilingual demo company to explore the CRM with: teams, people in every role, customers.

The core builds the people; each app adds its own records in its `demo.py`, registered with
`register`, in the order the apps are installed (customers before pipeline before tickets):

    @register(has_data=lambda: Company.objects.exists())
    def companies(demo: DemoCompany) -> str:
        ...
        return "300 companies"

Everything goes through normal saves and services, so the audit trail shows the demo records
as created by the demo administrator.
"""

from __future__ import annotations

import os
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils.module_loading import autodiscover_modules

from crm import roles
from crm.audit import acting_as
from crm.models import Team, TeamMembership, User

ADMIN_USERNAME = "admin"

CHINESE_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁沈任姚卢"
)
CHINESE_GIVEN_NAMES = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "磊",
    "强",
    "洋",
    "艳",
    "勇",
    "军",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "霞",
    "平",
    "刚",
    "桂英",
    "丽",
    "华",
    "建华",
    "志强",
    "晓东",
    "海燕",
    "欣怡",
    "子涵",
    "浩然",
    "雨桐",
    "梓轩",
    "思远",
    "婷",
    "雪",
    "晨",
    "博文",
    "嘉怡",
    "宇航",
    "佳琪",
    "俊杰",
    "文静",
    "晓明",
    "丹",
    "凯",
    "鹏",
    "玲",
]
WESTERN_FIRST_NAMES = [
    "James",
    "Emily",
    "Michael",
    "Sarah",
    "David",
    "Olivia",
    "Daniel",
    "Sophie",
    "Thomas",
    "Emma",
    "Lucas",
    "Hannah",
    "Peter",
    "Laura",
    "Mark",
    "Anna",
    "Chris",
    "Grace",
    "Ryan",
    "Chloe",
    "Kevin",
    "Julia",
    "Jason",
    "Amy",
]
WESTERN_LAST_NAMES = [
    "Smith",
    "Johnson",
    "Brown",
    "Miller",
    "Wilson",
    "Taylor",
    "Anderson",
    "Thomas",
    "Moore",
    "Martin",
    "Clark",
    "Lewis",
    "Walker",
    "Young",
    "King",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Adams",
    "Nelson",
    "Carter",
    "Mitchell",
    "Turner",
]


def person_name(rng: random.Random) -> tuple[str, str]:
    """(first_name, last_name): about three in four Chinese, the rest Western."""
    if rng.random() < 0.75:
        return rng.choice(CHINESE_GIVEN_NAMES), rng.choice(CHINESE_SURNAMES)
    return rng.choice(WESTERN_FIRST_NAMES), rng.choice(WESTERN_LAST_NAMES)


# (team name, description) -> its people: (username, first name, last name, role, manages the team)
TEAMS = {
    ("华东销售部", "East China Sales"): [
        ("wang.fang", "芳", "王", roles.SALES_MANAGER, True),
        ("li.wei", "伟", "李", roles.SALES_REP, False),
        ("zhang.min", "敏", "张", roles.SALES_REP, False),
        ("emily.chen", "Emily", "Chen", roles.SALES_REP, False),
        ("liu.yang", "洋", "刘", roles.SALES_REP, False),
    ],
    ("华南销售部", "South China Sales"): [
        ("david.miller", "David", "Miller", roles.SALES_MANAGER, True),
        ("chen.jing", "静", "陈", roles.SALES_REP, False),
        ("yang.lei", "磊", "杨", roles.SALES_REP, False),
        ("sarah.johnson", "Sarah", "Johnson", roles.SALES_REP, False),
        ("huang.li", "丽", "黄", roles.SALES_REP, False),
    ],
    ("市场部", "Marketing"): [
        ("zhao.xue", "雪", "赵", roles.MARKETING, True),
        ("olivia.brown", "Olivia", "Brown", roles.MARKETING, False),
    ],
    ("客服部", "Customer Support"): [
        ("zhou.qiang", "强", "周", roles.SUPPORT_MANAGER, True),
        ("wu.ting", "婷", "吴", roles.SUPPORT_AGENT, False),
        ("michael.wang", "Michael", "Wang", roles.SUPPORT_AGENT, False),
    ],
}
# People outside any team.
LONERS = [("sun.ming", "明", "孙", roles.AUDITOR)]


@dataclass
class DemoCompany:
    """What the core built, handed to every app's demo step."""

    rng: random.Random
    admin: User
    teams: dict[str, Team] = field(default_factory=dict)  # by description ("East China Sales")
    people: dict[str, User] = field(default_factory=dict)  # by username

    def members(self, *role_names: str) -> list[User]:
        wanted = set(role_names)
        return [u for u in self.people.values() if wanted.intersection(g.name for g in u.groups.all())]

    def team_of(self, user: User) -> Team | None:
        membership = TeamMembership.objects.filter(user=user).select_related("team").first()
        return membership.team if membership else None


@dataclass
class DemoStep:
    name: str
    seed: Callable[[DemoCompany], str | None]
    has_data: Callable[[], bool]


_steps: list[DemoStep] = []


def register(*, has_data: Callable[[], bool]):
    """Add an app's demo step; `has_data` tells whether the app already holds records."""

    def decorator(func):
        name = f"{func.__module__}.{func.__name__}"
        _steps[:] = [s for s in _steps if s.name != name]
        _steps.append(DemoStep(name=name, seed=func, has_data=has_data))
        return func

    return decorator


def steps() -> list[DemoStep]:
    autodiscover_modules("demo")
    return list(_steps)


def has_data() -> bool:
    return User.objects.filter(username=ADMIN_USERNAME).exists() or any(step.has_data() for step in steps())


@dataclass
class DemoResult:
    admin_password: str
    user_password: str
    usernames: list[str]
    summary: list[str]


def seed_demo(*, seed: int = 2026, admin_password: str | None = None) -> DemoResult:
    """Build the demo company; the passwords are generated unless given (or in DEMO_ADMIN_PASSWORD)."""
    admin_password = admin_password or os.environ.get("DEMO_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
    user_password = secrets.token_urlsafe(12)
    with transaction.atomic():
        admin = _user(ADMIN_USERNAME, "管理员", "系统", roles.ADMINISTRATOR, admin_password, is_staff=True)
        demo = DemoCompany(rng=random.Random(seed), admin=admin)
        with acting_as(admin):
            _build_people(demo, user_password)
            summary = [f"{len(demo.teams)} teams, {len(demo.people) + 1} people"]
            for step in steps():
                line = step.seed(demo)
                if line:
                    summary.append(line)
    return DemoResult(
        admin_password=admin_password,
        user_password=user_password,
        usernames=sorted(demo.people),
        summary=summary,
    )


def _build_people(demo: DemoCompany, password: str) -> None:
    from crm.services import team_create, team_set_member

    for (name, description), people in TEAMS.items():
        team = Team.objects.filter(name=name).first() or team_create(
            name=name, description=description, actor=demo.admin
        )
        demo.teams[description] = team
        for username, first_name, last_name, role, manages in people:
            user = _user(username, first_name, last_name, role, password)
            team_set_member(
                team=team,
                user=user,
                role=TeamMembership.Role.MANAGER if manages else TeamMembership.Role.MEMBER,
                actor=demo.admin,
            )
            demo.people[username] = user
    for username, first_name, last_name, role in LONERS:
        demo.people[username] = _user(username, first_name, last_name, role, password)


def _user(username: str, first_name: str, last_name: str, role: str, password: str, **extra) -> User:
    user = User(
        username=username,
        first_name=first_name,
        last_name=last_name,
        email=f"{username}@demo.example.com",
        language="zh-hans" if any("\u4e00" <= ch <= "\u9fff" for ch in last_name) else "en",
        **extra,
    )
    user.set_password(password)
    user.save()
    user.groups.add(Group.objects.get(name=role))
    return user
