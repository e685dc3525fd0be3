"""Bulk data for scale testing: PostgreSQL COPY straight into the tables, no model saves.

`generate_data` is the one writer allowed to skip the audit trail (STYLE rule 16): it makes
millions of made-up rows for benchmarks, never real records.

Each app declares what it generates in its own `generators.py`, registered here in the order
the apps are installed, so a module added later (contacts, opportunities, tickets) brings its
tables along in proportion to the number of companies:

    @register(model=Contact, per_company=3)
    def contacts(ctx: GenerationContext, count: int) -> Iterator[dict]:
        first, last = ctx.new_ids[Company]
        for _ in range(count):
            yield {"company_id": ctx.rng.randint(first, last), ...}

A generator yields dicts keyed by column (`owner_id`, not `owner`); columns it leaves out get
the field's default. Rows come from `ctx.rng`, seeded, so the same seed gives the same data.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.apps import apps
from django.contrib.auth.models import Group
from django.db import connection, models, transaction
from django.utils.module_loading import autodiscover_modules

from crm import roles
from crm.fields import EncryptedTextField
from crm.models import Team, TeamMembership, User

# Every generated timestamp falls in the three years before this fixed date, so a seed always
# gives the same rows whatever day it runs.
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
SPAN_SECONDS = 3 * 365 * 24 * 3600

MIN_REPS = 50
REBUILD_INDEXES_FROM = 100_000
TEAM_COUNT = 10


@dataclass
class Generator:
    model: type[models.Model]
    per_company: float
    rows: Callable[[GenerationContext, int], Iterable[dict]]

    @property
    def label(self) -> str:
        return self.model._meta.label


_registry: list[Generator] = []


def register(*, model: type[models.Model], per_company: float = 1.0):
    """Declare a generator for `model`, making `per_company` rows for each generated company."""

    def decorator(func):
        _registry[:] = [g for g in _registry if g.model is not model]
        _registry.append(Generator(model=model, per_company=per_company, rows=func))
        return func

    return decorator


_finishers: list[Callable[[], object]] = []


def register_finish(func: Callable[[], object]) -> Callable[[], object]:
    """Declare work to do once the rows are loaded: COPY sends no signals, so data derived from
    the loaded rows (the board's stage totals) is recounted here."""
    if func not in _finishers:
        _finishers.append(func)
    return func


def generators() -> list[Generator]:
    """The registered generators in the order the apps are installed (a table may read the rows
    of an app installed before it), each app's in the order it declares them, whichever module
    happened to be imported first."""
    autodiscover_modules("generators")
    order = {config.label: index for index, config in enumerate(apps.get_app_configs())}
    return sorted(_registry, key=lambda g: order[g.model._meta.app_label])


@dataclass
class Owner:
    user_id: int
    team_id: int | None


@dataclass
class GenerationContext:
    rng: random.Random
    owners: list[Owner]
    encrypt: bool = True  # fill encrypted fields (slower), or leave them empty
    new_ids: dict[type[models.Model], tuple[int, int]] = field(default_factory=dict)

    def owner(self) -> Owner:
        return self.owners[self.rng.randrange(len(self.owners))]

    def timestamp(self) -> datetime:
        return EPOCH - timedelta(seconds=self.rng.randrange(SPAN_SECONDS))


@dataclass
class TableResult:
    label: str
    rows: int
    seconds: float


def ensure_people(*, min_reps: int = MIN_REPS, teams: int = TEAM_COUNT) -> list[Owner]:
    """Top up the sales force to `min_reps` reps spread over `teams` teams, each with a manager,
    and make sure an administrator and an auditor exist.

    Generated people get unusable passwords; the benchmark sets its own on the few it signs in
    as. Returns every rep with their first team, in a stable order.
    """
    owners = ensure_staff(
        role=roles.SALES_REP,
        manager_role=roles.SALES_MANAGER,
        count=min_reps,
        teams=teams,
        team_name="销售{:02d}组 Sales {:02d}",
        manager_username="gen_manager_{:02d}",
        member_username="gen_rep_{:03d}",
    )
    if not User.objects.filter(groups__name=roles.ADMINISTRATOR).exists():
        _generated_user("gen_admin", roles.ADMINISTRATOR, is_staff=True)
    if not User.objects.filter(groups__name=roles.AUDITOR).exists():
        _generated_user("gen_auditor", roles.AUDITOR)
    return owners


def ensure_staff(
    *,
    role: str,
    manager_role: str,
    count: int,
    teams: int,
    team_name: str,
    manager_username: str,
    member_username: str,
) -> list[Owner]:
    """Top up the people of `role` to `count`, spread over `teams` teams named `team_name`
    (formatted with the team's number twice), each team with one person of `manager_role`.
    Returns every person of `role` with their first team, in a stable order."""
    from crm.services import team_create, team_set_member

    group = Group.objects.get(name=role)
    if group.user_set.count() < count:
        team_objs = []
        for number in range(1, teams + 1):
            name = team_name.format(number, number)
            team = Team.objects.filter(name=name).first() or team_create(name=name)
            team_objs.append(team)
            manager = _generated_user(manager_username.format(number), manager_role)
            team_set_member(team=team, user=manager, role=TeamMembership.Role.MANAGER)
        number = 0
        while group.user_set.count() < count:
            number += 1
            member = _generated_user(member_username.format(number), role)
            team_set_member(team=team_objs[(number - 1) % teams], user=member)

    first_team = {}
    for user_id, team_id in TeamMembership.objects.order_by("team_id").values_list("user_id", "team_id"):
        first_team.setdefault(user_id, team_id)
    member_ids = group.user_set.order_by("id").values_list("id", flat=True)
    return [Owner(user_id=pk, team_id=first_team.get(pk)) for pk in member_ids]


def _generated_user(username: str, role: str, **extra) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        from crm.demo import person_name

        first_name, last_name = person_name(random.Random(f"{username}"))
        user = User(username=username, first_name=first_name, last_name=last_name, **extra)
        user.set_unusable_password()
        user.save()
    user.groups.add(Group.objects.get(name=role))
    return user


def copy_rows(model: type[models.Model], rows: Iterable[dict], *, batch_size: int) -> int:
    """COPY `rows` into `model`'s table, committing every `batch_size` rows; returns the count."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key and not getattr(f, "generated", False)]
    iterator = iter(rows)
    first = next(iterator, None)
    if first is None:
        return 0
    unknown = set(first) - {f.attname for f in fields}
    if unknown:
        raise ValueError(f"{model._meta.label} has no columns {sorted(unknown)}")
    # Columns the generator leaves out get the database default, or else the field's default,
    # prepared once. Encrypted values are encrypted one by one and their blind indexes
    # computed, as a save would.
    encrypted = [f for f in fields if isinstance(f, EncryptedTextField) and f.attname in first]
    indexed = [f for f in encrypted if f.blind_index and f.blind_index not in first]
    derived = {f.blind_index for f in indexed}
    fields = [f for f in fields if f.attname in first or f.attname in derived or not f.has_db_default()]
    defaults = {
        f.attname: f.get_db_prep_save(f.get_default(), connection)
        for f in fields
        if f.attname not in first and f.attname not in derived
    }
    columns = [f.attname for f in fields]
    table = connection.ops.quote_name(model._meta.db_table)
    column_sql = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    statement = f"COPY {table} ({column_sql}) FROM STDIN"  # noqa: S608 - names come from the model

    def values(row: dict) -> list:
        for f in indexed:
            row[f.blind_index] = f.blind_index_of(row[f.attname])
        for f in encrypted:
            row[f.attname] = f.get_db_prep_value(row[f.attname], connection)
        return [row[c] if c in row else defaults[c] for c in columns]

    total = 0
    iterator = itertools.chain([first], iterator)
    while batch := list(itertools.islice(iterator, batch_size)):
        with transaction.atomic(), connection.cursor() as cursor, cursor.connection.cursor().copy(statement) as copy:
            for row in batch:
                copy.write_row(values(row))
        total += len(batch)
    return total


def generate(
    *,
    companies: int,
    seed: int = 1,
    batch_size: int = 50_000,
    only: Iterable[str] | None = None,
    encrypt: bool = True,
    log: Callable[[str], None] = lambda message: None,
) -> list[TableResult]:
    """Load `companies` companies and each registered table in proportion; returns timings."""
    if connection.vendor != "postgresql":
        raise RuntimeError("generate_data needs PostgreSQL (it loads with COPY).")
    rng = random.Random(seed)
    started = time.monotonic()
    owners = ensure_people()
    log(f"people: {len(owners)} reps ready in {time.monotonic() - started:.1f}s")
    ctx = GenerationContext(rng=rng, owners=owners, encrypt=encrypt)
    wanted = set(only) if only else None
    results = []
    for generator in generators():
        if wanted is not None and generator.label not in wanted:
            continue
        count = round(companies * generator.per_company)
        model = generator.model
        table_started = time.monotonic()
        before = _max_id(model)
        # A load that at least doubles a big table is faster with its indexes built afterwards
        # (one sort each) than maintained row by row; one transaction, so a failure keeps them.
        rebuild = count >= REBUILD_INDEXES_FROM and count >= model._default_manager.count()
        with transaction.atomic():
            dropped = _drop_secondary_indexes(model) if rebuild else []
            loaded = copy_rows(model, generator.rows(ctx, count), batch_size=batch_size)
            if dropped:
                log(f"{generator.label}: rows copied in {time.monotonic() - table_started:.1f}s, rebuilding indexes")
            _create_indexes(dropped)
        # Ids are contiguous within one load, but not from the old maximum: deleted rows leave gaps.
        new = model._default_manager.filter(pk__gt=before).aggregate(first=models.Min("pk"), last=models.Max("pk"))
        ctx.new_ids[model] = (new["first"] or before + 1, new["last"] or before)
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
        result = TableResult(generator.label, loaded, time.monotonic() - table_started)
        log(f"{result.label}: {result.rows} rows in {result.seconds:.1f}s (COPY + ANALYZE)")
        results.append(result)
    for finish in _finishers:
        finish_started = time.monotonic()
        finish()
        log(f"{finish.__module__}.{finish.__name__}: {time.monotonic() - finish_started:.1f}s")
    return results


def _drop_secondary_indexes(model: type[models.Model]) -> list[str]:
    """Drop the table's indexes other than the primary key and constraints; returns their definitions."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
            FROM pg_index i
            WHERE i.indrelid = %s::regclass AND NOT i.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
            """,
            [model._meta.db_table],
        )
        found = cursor.fetchall()
        for name, _definition in found:
            cursor.execute(f"DROP INDEX {name}")
    return [definition for _name, definition in found]


def _create_indexes(definitions: list[str]) -> None:
    if not definitions:
        return
    with connection.cursor() as cursor:
        # Deferred foreign-key checks must run before the table may be indexed.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for definition in definitions:
            cursor.execute(definition)


def _max_id(model: type[models.Model]) -> int:
    return model._default_manager.aggregate(m=models.Max("pk"))["m"] or 0


def weighted(rng: random.Random, choices: list[tuple[str, int]]) -> Iterator[str]:
    """An endless stream of picks from (value, weight) pairs."""
    values = [v for v, _w in choices]
    weights = [w for _v, w in choices]
    while True:
        yield from rng.choices(values, weights, k=1024)
