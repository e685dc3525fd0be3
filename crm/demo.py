"""A bilingual demo company to explore the CRM with: a sales team's story, told in records.

The core builds the people (one per role, in teams with managers); each app adds its own
records in its `demo.py`, registered with `register`, in the order the apps are installed
(customers before pipeline before tickets):

    @register(has_data=lambda: Company.objects.exists())
    def companies(demo: DemoCompany) -> str:
        ...
        return "160 companies"

Records are written through the apps' services, acting as the person the story says did it,
so permissions are checked and the audit trail and timelines read as they would in real use.
A story spans months but is written in seconds: where a service stamps "now" (an opportunity's
stage history, a record's creation), the step moves those dates into the story's past with
`backdate`, which changes dates only and leaves the audit entries of the writes as they were.
The random choices come from one seeded generator, so the same seed tells the same story.
"""

from __future__ import annotations

import datetime
import os
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import models, transaction
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

from crm import roles
from crm.audit import acting_as
from crm.models import Team, TeamMembership, User
from crm.writes import bulk_change

ADMIN_USERNAME = "admin"


def words(text: str) -> list[str]:
    """ "Blue Golden" -> ["Blue", "Golden"]: long name pools on a few lines."""
    return text.split()


def pairs(text: str) -> dict[str, str]:
    """ "王:wang 李:li" -> {"王": "wang", "李": "li"}"""
    return dict(pair.split(":") for pair in text.split())


# Names of people, with the pinyin their e-mail addresses use.
CHINESE_SURNAMES = pairs(
    "王:wang 李:li 张:zhang 刘:liu 陈:chen 杨:yang 黄:huang 赵:zhao 吴:wu 周:zhou 徐:xu 孙:sun 马:ma "
    "朱:zhu 胡:hu 郭:guo 何:he 林:lin 罗:luo 高:gao 郑:zheng 梁:liang 谢:xie 宋:song 唐:tang 许:xu "
    "韩:han 冯:feng 邓:deng 曹:cao 彭:peng 曾:zeng 肖:xiao 田:tian 董:dong 袁:yuan 潘:pan 蒋:jiang "
    "蔡:cai 余:yu 杜:du 叶:ye 程:cheng 魏:wei 苏:su 吕:lv 丁:ding 沈:shen 任:ren 姚:yao 卢:lu"
)
CHINESE_GIVEN_NAMES = pairs(
    "伟:wei 芳:fang 娜:na 敏:min 静:jing 磊:lei 强:qiang 洋:yang 艳:yan 勇:yong 军:jun 杰:jie 娟:juan "
    "涛:tao 明:ming 超:chao 秀英:xiuying 霞:xia 平:ping 刚:gang 桂英:guiying 丽:li 华:hua 建华:jianhua "
    "志强:zhiqiang 晓东:xiaodong 海燕:haiyan 欣怡:xinyi 子涵:zihan 浩然:haoran 雨桐:yutong 梓轩:zixuan "
    "思远:siyuan 婷:ting 雪:xue 晨:chen 博文:bowen 嘉怡:jiayi 宇航:yuhang 佳琪:jiaqi 俊杰:junjie "
    "文静:wenjing 晓明:xiaoming 丹:dan 凯:kai 鹏:peng 玲:ling"
)
WESTERN_FIRST_NAMES = words(
    "James Emily Michael Sarah David Olivia Daniel Sophie Thomas Emma Lucas Hannah Peter Laura Mark Anna "
    "Chris Grace Ryan Chloe Kevin Julia Jason Amy"
)
WESTERN_LAST_NAMES = words(
    "Smith Johnson Brown Miller Wilson Taylor Anderson Thomas Moore Martin Clark Lewis Walker Young King "
    "Wright Scott Green Baker Adams Nelson Carter Mitchell Turner"
)
_SURNAMES = list(CHINESE_SURNAMES)
_GIVEN_NAMES = list(CHINESE_GIVEN_NAMES)


@dataclass(frozen=True)
class PersonName:
    family: str
    given: str
    latin: str  # "wang.fang", "emily.smith": the local part of an e-mail address
    chinese: bool


def person(rng: random.Random, *, chinese_share: float = 0.75) -> PersonName:
    """A random person: about three in four Chinese, the rest Western."""
    if rng.random() < chinese_share:
        family, given = rng.choice(_SURNAMES), rng.choice(_GIVEN_NAMES)
        return PersonName(family, given, f"{CHINESE_SURNAMES[family]}.{CHINESE_GIVEN_NAMES[given]}", True)
    given, family = rng.choice(WESTERN_FIRST_NAMES), rng.choice(WESTERN_LAST_NAMES)
    return PersonName(family, given, f"{given}.{family}".lower(), False)


def person_name(rng: random.Random) -> tuple[str, str]:
    """(first_name, last_name): about three in four Chinese, the rest Western."""
    name = person(rng)
    return name.given, name.family


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
    now: datetime.datetime = field(default_factory=timezone.now)  # the story's present
    teams: dict[str, Team] = field(default_factory=dict)  # by description ("East China Sales")
    people: dict[str, User] = field(default_factory=dict)  # by username
    _team_of: dict[int, Team | None] = field(default_factory=dict, repr=False)

    @property
    def today(self) -> datetime.date:
        return timezone.localdate(self.now)

    def members(self, *role_names: str) -> list[User]:
        wanted = set(role_names)
        return [u for u in self.people.values() if wanted.intersection(g.name for g in u.groups.all())]

    def team_of(self, user: User) -> Team | None:
        if user.pk not in self._team_of:
            membership = TeamMembership.objects.filter(user=user).select_related("team").order_by("pk").first()
            self._team_of[user.pk] = membership.team if membership else None
        return self._team_of[user.pk]

    def manager_of(self, user: User) -> User:
        """The manager of the user's team, or the administrator for people outside a team."""
        team = self.team_of(user)
        membership = (
            TeamMembership.objects.filter(team=team, role=TeamMembership.Role.MANAGER).select_related("user").first()
            if team
            else None
        )
        return membership.user if membership else self.admin

    def days_ago(self, days: float, *, hour: int | None = None) -> datetime.datetime:
        """A moment `days` before the story's present, at a working hour unless told (and never
        later than the present)."""
        moment = timezone.localtime(self.now - datetime.timedelta(days=days))
        if hour is None:
            hour = self.rng.randrange(9, 18)
        moment = moment.replace(hour=hour, minute=self.rng.choice((0, 15, 30, 45)), second=0, microsecond=0)
        return min(moment, self.now)


def backdate(record: models.Model, **dates) -> None:
    """Move a record's dates into the story's past: a plain UPDATE, no signal and no audit entry,
    since it is the demo's backstory and not anyone's change."""
    with bulk_change(type(record), [record.pk]):
        type(record)._default_manager.filter(pk=record.pk).update(**dates)
    for name, value in dates.items():
        setattr(record, name, value)


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
    """The apps' demo steps in the order the apps are installed (a step may build on the records
    of an app installed before it: tickets name pipeline's deals), whatever was imported first."""
    autodiscover_modules("demo")
    order = {config.name: index for index, config in enumerate(apps.get_app_configs())}
    return sorted(_steps, key=lambda step: order.get(step.name.split(".", 1)[0], len(order)))


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
        admin_hash = make_password(admin_password)
        admin = _user(ADMIN_USERNAME, "管理员", "系统", roles.ADMINISTRATOR, admin_hash, is_staff=True)
        demo = DemoCompany(rng=random.Random(seed), admin=admin)
        with acting_as(admin):
            _build_people(demo, make_password(user_password))
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


def _build_people(demo: DemoCompany, password_hash: str) -> None:
    from crm.services import team_create, team_set_member

    for (name, description), people in TEAMS.items():
        team = Team.objects.filter(name=name).first() or team_create(
            name=name, description=description, actor=demo.admin
        )
        demo.teams[description] = team
        for username, first_name, last_name, role, manages in people:
            user = _user(username, first_name, last_name, role, password_hash)
            team_set_member(
                team=team,
                user=user,
                role=TeamMembership.Role.MANAGER if manages else TeamMembership.Role.MEMBER,
                actor=demo.admin,
            )
            demo.people[username] = user
    for username, first_name, last_name, role in LONERS:
        demo.people[username] = _user(username, first_name, last_name, role, password_hash)


def _user(username: str, first_name: str, last_name: str, role: str, password_hash: str, **extra) -> User:
    # Everyone shares one password: hashing it once keeps the start quick.
    user = User(
        username=username,
        first_name=first_name,
        last_name=last_name,
        email=f"{username}@demo.example.com",
        language="zh-hans" if any("\u4e00" <= ch <= "\u9fff" for ch in last_name) else "en",
        password=password_hash,
        **extra,
    )
    user.save()
    user.groups.add(Group.objects.get(name=role))
    return user
