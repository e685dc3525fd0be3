"""factory_boy factories for the core models, and the base every owned record's factory extends.

UserFactory()                                # a sales rep in no team
UserFactory(auditor=True)                    # one trait per role in crm.roles
UserFactory(team=team, team_role="manager")  # the manager of `team`
CompanyFactory(team=team)                    # an OwnedFactory: owned by a new rep of `team`
"""

from types import ModuleType

import factory
from django.apps import apps
from django.contrib.auth.models import Group
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from crm import roles
from crm.models import Job, PendingTask, RecoveryCode, RoleSecurity, SavedView, Team, TeamMembership, User, UserSession
from crm.services import team_create, team_set_member

PASSWORD = "pw-for-tests-1"


def factories_in(module: ModuleType) -> list[type[factory.django.DjangoModelFactory]]:
    """The model factories a factories module defines (not the ones it imports), for its tests."""
    return [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, factory.django.DjangoModelFactory)
        and value.__module__ == module.__name__
        and not value._meta.abstract
    ]


def models_without_factory(app_label: str, factories: list) -> set:
    """Models of an app that no factory builds. Object permission rows are left out: they are
    written by `crm.services.record_share`, not built on their own."""
    covered = {f._meta.model for f in factories}
    return {
        model
        for model in apps.get_app_config(app_label).get_models()
        if model not in covered and not issubclass(model, (UserObjectPermissionBase, GroupObjectPermissionBase))
    }


class TeamFactory(factory.django.DjangoModelFactory):
    """A team with its own auth group, made by `team_create` as the admin site makes it."""

    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"销售{n}组 Sales team {n}")
    description = ""

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return team_create(**kwargs)


class UserFactory(factory.django.DjangoModelFactory):
    """A user with one role (a sales rep unless a trait picks another), in `team` if one is given.

    `role`, `team` and `team_role` are not model fields: they become the role group and the
    team membership once the user is saved.
    """

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password(PASSWORD)
    role = roles.SALES_REP
    team = None
    team_role = TeamMembership.Role.MEMBER

    class Params:
        administrator = factory.Trait(role=roles.ADMINISTRATOR)
        sales_manager = factory.Trait(role=roles.SALES_MANAGER)
        sales_rep = factory.Trait(role=roles.SALES_REP)
        marketing = factory.Trait(role=roles.MARKETING)
        support_manager = factory.Trait(role=roles.SUPPORT_MANAGER)
        support_agent = factory.Trait(role=roles.SUPPORT_AGENT)
        auditor = factory.Trait(role=roles.AUDITOR)

    @classmethod
    def _build(cls, model_class, *args, role=None, team=None, team_role=None, **kwargs):
        return super()._build(model_class, *args, **kwargs)

    @classmethod
    def _create(cls, model_class, *args, role=None, team=None, team_role=None, **kwargs):
        user = super()._create(model_class, *args, **kwargs)
        if role:
            user.groups.add(Group.objects.get(name=role))
        if team is not None:
            team_set_member(team=team, user=user, role=team_role)
        return user


class TeamMembershipFactory(factory.django.DjangoModelFactory):
    """A user's place in a team, made by `team_set_member` so the team's group follows."""

    class Meta:
        model = TeamMembership

    team = factory.SubFactory(TeamFactory)
    user = factory.SubFactory(UserFactory)
    role = TeamMembership.Role.MEMBER

    class Params:
        manager = factory.Trait(role=TeamMembership.Role.MANAGER)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return team_set_member(**kwargs)


class OwnedFactory(factory.django.DjangoModelFactory):
    """Base of the factories of `OwnedModel`s: when the record has a team, its owner is a member.

    Given a team, a new rep of that team owns the record; given only an owner, or nothing, the
    record has no team (as the services leave it); `in_team=True` gives a new team to a new rep.
    """

    class Meta:
        abstract = True

    team = None
    owner = factory.SubFactory(UserFactory, team=factory.SelfAttribute("..team"))

    class Params:
        in_team = factory.Trait(team=factory.SubFactory(TeamFactory))


class SavedViewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SavedView

    user = factory.SubFactory(UserFactory)
    list_key = "customers.company"
    name = factory.Sequence(lambda n: f"上海客户 {n}")
    query = "city=上海&sort=-created_at"


class JobFactory(factory.django.DjangoModelFactory):
    """A background job a user waits for: queued, or running / completed / failed through a trait."""

    class Meta:
        model = Job

    kind = "customers.export"
    owner = factory.SubFactory(UserFactory)
    total = 100
    params = factory.Dict({"what": "companies", "format": "csv"})

    class Params:
        running = factory.Trait(status=Job.Status.RUNNING, done=40, started_at=factory.LazyFunction(timezone.now))
        completed = factory.Trait(
            status=Job.Status.DONE,
            done=factory.SelfAttribute("total"),
            started_at=factory.LazyFunction(timezone.now),
            finished_at=factory.LazyFunction(timezone.now),
        )
        failed = factory.Trait(
            status=Job.Status.FAILED,
            message="The file could not be written.",
            started_at=factory.LazyFunction(timezone.now),
            finished_at=factory.LazyFunction(timezone.now),
        )


class RoleSecurityFactory(factory.django.DjangoModelFactory):
    """Sign-in rules of a role: Administrators need a second factor and the office network."""

    class Meta:
        model = RoleSecurity
        django_get_or_create = ("role",)

    role = factory.LazyFunction(lambda: Group.objects.get(name=roles.ADMINISTRATOR))
    require_mfa = True
    networks = "10.20.0.0/16"


class RecoveryCodeFactory(factory.django.DjangoModelFactory):
    """An unused recovery code; only its hash is stored (crm.mfa makes the real ones)."""

    class Meta:
        model = RecoveryCode

    user = factory.SubFactory(UserFactory)
    code_hash = factory.Sequence(lambda n: f"{n:064x}")


class UserSessionFactory(factory.django.DjangoModelFactory):
    """A signed-in browser's record (crm.signin)."""

    class Meta:
        model = UserSession

    user = factory.SubFactory(UserFactory)
    session_key = factory.Sequence(lambda n: f"session{n:032d}")
    last_seen = factory.LazyFunction(timezone.now)
    ip_address = "10.20.1.5"
    user_agent = "Mozilla/5.0 (Windows NT 10.0) Chrome/140.0"


class PendingTaskFactory(factory.django.DjangoModelFactory):
    """A task queued while the broker was away (crm.outbox)."""

    class Meta:
        model = PendingTask

    task = "crm.tasks.purge_login_logs"
    args = factory.List([])
