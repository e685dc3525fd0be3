"""Finding duplicate companies and contacts among what a user may see.

Two kinds of match:

- exact: the same blind-indexed phone / mobile / email / tax ID, or the same external ID. Each
  is one equality on an indexed column.
- likely: similar names (pg_trgm `%` and `<%` on `upper(name)` / `upper(display_name)`, served
  by the GIN trigram indexes `customers_company_name_trgm` / `customers_contact_name_trgm`),
  in the same city or website domain (companies) or at the same company or email domain
  (contacts), then scored in Python with rapidfuzz on names stripped of legal forms
  (有限公司, Co., Ltd., Inc. …). On SQLite only equal stripped names count.

A create form warns before saving; the view calls, with the form's cleaned data:

    warnings = duplicate_warnings(Company, form.cleaned_data, request.user)
    # -> [DuplicateCandidate(record=<Company>, reasons=["Same phone"], score=100), ...] (at most 5)
    # pass exclude_pk=company.pk on an edit form. Two to four indexed queries.

The review page (`duplicate_pairs`) never compares all pairs, so it stays fast at millions of rows:

- exact pairs come from `GROUP BY <blind index> HAVING count(*) > 1` over the visible rows, one
  indexed column at a time, paged by keyset on (column, value): a page reads only as many
  groups as it shows;
- likely pairs are looked for only around records created in the last `RECENT_DAYS` days (the
  (created_at, id) index), newest first, at most `ANCHORS_PER_PAGE` anchors per page, each
  with at most `CANDIDATES_PER_ANCHOR` trigram neighbours fetched in the same query (a lateral
  array subquery); paged by keyset on (created_at, id). Older duplicates show up through the
  exact matches or the create-form warning.
"""

from __future__ import annotations

import operator
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import timedelta
from functools import reduce

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import BooleanField, Count, Func, OuterRef, Q, Value
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rapidfuzz import fuzz

from crm.fields import blind_index_for, normalize_email
from crm.pagination import cursor_values
from crm.params import BadParameter, cursor_token, parse_cursor
from crm.people import display_name
from crm.permissions import restrict, sees_everything
from customers.models import Company, Contact

MAX_WARNINGS = 5
LIKELY_SCORE = 85  # rapidfuzz WRatio on stripped names, 0-100
RECENT_DAYS = 30
ANCHORS_PER_PAGE = 50
CANDIDATES_PER_ANCHOR = 5
GROUPS_PER_PAGE = 25
MEMBERS_PER_GROUP = 10
PHONE_COLUMNS = ("phone_bidx", "mobile_bidx")

# Legal forms and filler that say nothing about which company it is; longest first.
_LEGAL_FORMS = sorted(
    [
        "股份有限公司",
        "有限责任公司",
        "集团有限公司",
        "集团股份有限公司",
        "有限公司",
        "分公司",
        "集团",
        "公司",
        "company limited",
        "co., ltd.",
        "co.,ltd.",
        "co., ltd",
        "co.,ltd",
        "co ltd",
        "limited",
        "ltd.",
        "ltd",
        "incorporated",
        "inc.",
        "inc",
        "llc",
        "l.l.c.",
        "corporation",
        "corp.",
        "corp",
        "gmbh",
        "s.a.",
        "plc",
        "pte.",
        "pte",
        "co.",
    ],
    key=len,
    reverse=True,
)
_LATIN_FORM = re.compile(
    r"(?<![a-z0-9])(" + "|".join(re.escape(f) for f in _LEGAL_FORMS if f.isascii()) + r")(?![a-z0-9])"
)
_CJK_FORMS = [f for f in _LEGAL_FORMS if not f.isascii()]
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalize_name(name: str) -> str:
    """Case- and width-folded name without legal forms, punctuation or spaces.

    '华为技术有限公司' -> '华为技术'; 'ACME Co., Ltd.' and 'Acme Inc' -> 'acme'.
    """
    text = unicodedata.normalize("NFKC", name or "").casefold().strip()
    for _round in range(2):  # "集团有限公司" after "股份": strip what stripping uncovers
        for form in _CJK_FORMS:
            if text.endswith(form) and len(text) > len(form):
                text = text[: -len(form)].rstrip()
        text = _LATIN_FORM.sub(" ", text)
    text = _NOT_WORD.sub("", text)
    return text or _NOT_WORD.sub("", unicodedata.normalize("NFKC", name or "").casefold())


def name_score(a: str, b: str) -> int:
    """0-100: how alike two names are once legal forms are stripped."""
    na, nb = normalize_name(a), normalize_name(b)
    if not na or not nb:
        return 0
    if na == nb:
        return 100
    return round(fuzz.WRatio(na, nb))


class TrigramMatch(Func):
    """`upper(name) % upper(query) OR upper(query) <% upper(name)`: similar, or a similar word run.

    Both operators are answered by the GIN trigram index; `<%` catches the short form of a long
    name (华为技术 in 华为技术有限公司), which plain similarity misses.
    """

    template = "(%(expressions)s)"
    output_field = BooleanField()

    def as_sql(self, compiler, connection, **extra_context):
        column, query = self.source_expressions
        column_sql, column_params = compiler.compile(column)
        query_sql, query_params = compiler.compile(query)
        sql = f"({column_sql} %% {query_sql} OR {query_sql} <%% {column_sql})"
        return sql, [*column_params, *query_params, *query_params, *column_params]


@dataclass
class DuplicateCandidate:
    record: Company | Contact
    reasons: list[str] = field(default_factory=list)
    score: int = 100
    exact: bool = False


def _spec(model):
    if model is Company:
        return {
            "name": "name",
            "blind": [("phone", "phone_bidx", _("Same phone")), ("tax_id", "tax_id_bidx", _("Same tax ID"))],
        }
    if model is Contact:
        return {
            "name": "display_name",
            "blind": [
                ("email", "email_bidx", _("Same email")),
                ("phone", "phone_bidx", _("Same phone")),
                ("mobile", "mobile_bidx", _("Same mobile")),
            ],
        }
    raise TypeError(f"No duplicate rules for {model._meta.label}")


def _values(model, data: dict | None, instance) -> dict:
    if instance is not None:
        values = {f: getattr(instance, f, "") for f in ("name", "city", "website", "email", "external_id")}
        values.update(
            {
                f: getattr(instance, f, "") or ""
                for f in ("phone", "mobile", "tax_id", "family_name", "given_name", "display_name")
            }
        )
        values["company_id"] = getattr(instance, "company_id", None)
        return values
    values = dict(data or {})
    company = values.get("company")
    values["company_id"] = getattr(company, "pk", company)
    return values


def _indexes(model, values: dict) -> dict[str, str]:
    """Blind index column -> value for the identifiers `values` carries."""
    indexes: dict[str, str] = {}
    for name, column, _label in _spec(model)["blind"]:
        value = values.get(name) or ""
        if not value:
            continue
        if name == "email":
            indexes[column] = blind_index_for(normalize_email, value)
        else:
            indexes[column] = model._meta.get_field(name).blind_index_of(value)
    return {k: v for k, v in indexes.items() if v}


def _display_name(model, values: dict) -> str:
    if model is Company:
        return values.get("name") or ""
    if values.get("display_name"):
        return values["display_name"]

    return display_name(values.get("family_name", ""), values.get("given_name", ""))


def exact_duplicates_for(*, model, user, data: dict | None = None, instance=None, limit: int = MAX_WARNINGS):
    """Visible records sharing a phone, mobile, email, tax ID or external ID with `data`/`instance`."""
    values = _values(model, data, instance)
    indexes = _indexes(model, values)
    # A contact's phone and mobile share one normaliser and key, so either matches either.
    phone_keys = {v for k, v in indexes.items() if k in PHONE_COLUMNS}
    conditions = [Q(**{column: value}) for column, value in indexes.items() if column not in PHONE_COLUMNS]
    if phone_keys:
        conditions.append(Q(phone_bidx__in=phone_keys))
        if model is Contact:
            conditions.append(Q(mobile_bidx__in=phone_keys))
    external_id = (values.get("external_id") or "").strip()
    if external_id:
        conditions.append(Q(external_id=external_id))
    if not conditions:
        return []
    queryset = restrict(model.objects.all(), user, "view").filter(reduce(operator.or_, conditions))
    if instance is not None and instance.pk:
        queryset = queryset.exclude(pk=instance.pk)
    candidates = []
    for record in queryset.select_related("owner").order_by("pk")[:limit]:
        reasons = []
        for _name, column, label in _spec(model)["blind"]:
            own = getattr(record, column)
            if own and (own == indexes.get(column) or (column in PHONE_COLUMNS and own in phone_keys)):
                reasons.append(str(label))
        if external_id and record.external_id == external_id:
            reasons.append(str(_("Same external ID")))
        candidates.append(DuplicateCandidate(record=record, reasons=list(dict.fromkeys(reasons)), exact=True))
    return candidates


def _neighbourhood(model, values: dict) -> Q | None:
    """Where a likely duplicate must be: same city or website domain; same company or email domain."""
    if model is Company:
        from customers.models import website_domain

        city = (values.get("city") or "").strip()
        cities = {city, city.removesuffix("市"), f"{city.removesuffix('市')}市"} if city else {""}
        condition = Q(city__in=cities)
        domain = website_domain(values.get("website") or "")
        if domain:
            condition |= Q(website_domain=domain)
        return condition
    conditions = []
    if values.get("company_id"):
        conditions.append(Q(company_id=values["company_id"]))
    email = normalize_email(values.get("email") or "")
    if "@" in email:
        conditions.append(Q(email__iendswith="@" + email.rsplit("@", 1)[1]))
    return reduce(operator.or_, conditions) if conditions else None


def likely_duplicates_for(*, model, user, data: dict | None = None, instance=None, limit: int = MAX_WARNINGS):
    """Visible records with a similar name in the same neighbourhood, best first."""
    values = _values(model, data, instance)
    name = _display_name(model, values)
    normalized = normalize_name(name)
    where = _neighbourhood(model, values)
    if not normalized or where is None:
        return []
    name_field = _spec(model)["name"]
    queryset = restrict(model.objects.all(), user, "view").filter(where)
    if instance is not None and instance.pk:
        queryset = queryset.exclude(pk=instance.pk)
    if connection.vendor == "postgresql":
        queryset = queryset.filter(TrigramMatch(Upper(name_field), Upper(Value(normalized))))
        rows = list(queryset.select_related("owner")[:50])
    else:  # embedded SQLite: only the same name once legal forms are stripped
        rows = [
            r
            for r in queryset.filter(**{f"{name_field}__icontains": normalized}).select_related("owner")[:200]
            if normalize_name(getattr(r, name_field)) == normalized
        ]
    scored = []
    for record in rows:
        score = name_score(name, getattr(record, name_field))
        if score >= LIKELY_SCORE:
            scored.append(DuplicateCandidate(record=record, reasons=[str(_("Similar name"))], score=score))
    scored.sort(key=lambda c: (-c.score, c.record.pk))
    return scored[:limit]


def duplicate_warnings(model, cleaned_data: dict, user, *, exclude_pk: int | None = None) -> list[DuplicateCandidate]:
    """What a create (or edit) form should warn about: exact matches first, then similar names."""
    instance = None
    if exclude_pk:
        instance = model(pk=exclude_pk)
    exact = exact_duplicates_for(model=model, user=user, data=cleaned_data, limit=MAX_WARNINGS)
    likely = likely_duplicates_for(model=model, user=user, data=cleaned_data, limit=MAX_WARNINGS)
    seen: dict[int, DuplicateCandidate] = {}
    for candidate in [*exact, *likely]:
        if instance is not None and candidate.record.pk == instance.pk:
            continue
        if candidate.record.pk in seen:
            seen[candidate.record.pk].reasons.extend(
                r for r in candidate.reasons if r not in seen[candidate.record.pk].reasons
            )
        else:
            seen[candidate.record.pk] = candidate
    return list(seen.values())[:MAX_WARNINGS]


# --- The review page ------------------------------------------------------------------------------


@dataclass
class DuplicatePair:
    first: Company | Contact  # the older record: the default survivor
    second: Company | Contact
    reason: str
    score: int = 100
    can_merge: bool = False


@dataclass
class PairPage:
    pairs: list[DuplicatePair]
    next_cursor: str | None = None


def _exact_columns(model) -> list[tuple[str, str]]:
    return [(column, str(label)) for _name, column, label in _spec(model)["blind"]] + [
        ("external_id", str(_("Same external ID")))
    ]


def exact_pairs(*, model, user, after: str | None = None, size: int = GROUPS_PER_PAGE) -> PairPage:
    """Pairs sharing an exact identifier, from GROUP BY over each indexed column, keyset-paged."""
    columns = _exact_columns(model)
    visible = restrict(model.objects.all(), user, "view")
    start_column, start_value = 0, None
    if after:
        decoded = _decode_cursor(after, len(columns))
        if decoded is not None:
            start_column, start_value = decoded
    groups: list[tuple[int, str]] = []
    for index in range(start_column, len(columns)):
        column = columns[index][0]
        values = visible.exclude(**{column: ""}).values(column).annotate(n=Count("pk")).filter(n__gt=1)
        if index == start_column and start_value is not None:
            values = values.filter(**{f"{column}__gt": start_value})
        wanted = size + 1 - len(groups)
        groups.extend((index, row[column]) for row in values.order_by(column)[:wanted])
        if len(groups) > size:
            break
    next_cursor = None
    if len(groups) > size:
        groups = groups[:size]
        next_cursor = _encode_cursor(*groups[-1])
    by_column: dict[int, list[str]] = {}
    for index, value in groups:
        by_column.setdefault(index, []).append(value)
    condition = Q(pk__in=[])
    for index, values in by_column.items():
        condition |= Q(**{f"{columns[index][0]}__in": values})
    members: dict[tuple[int, str], list] = {}
    if by_column:
        for record in visible.filter(condition).select_related("owner", "team").order_by("pk"):
            for index, values in by_column.items():
                value = getattr(record, columns[index][0])
                if value in values:
                    members.setdefault((index, value), []).append(record)
    pairs = []
    for index, value in groups:
        records = members.get((index, value), [])[:MEMBERS_PER_GROUP]
        pairs.extend(DuplicatePair(records[0], other, columns[index][1]) for other in records[1:])
    return PairPage(pairs=_mark_mergeable(model, user, pairs), next_cursor=next_cursor)


def _encode_cursor(index: int, value: str) -> str:
    return cursor_token([index, value])


def _decode_cursor(token: str, columns: int):
    """(column index, value) of an exact-pairs cursor, or None if it does not hold one."""
    try:
        values = parse_cursor(token)
    except BadParameter:
        return None
    if not (values and len(values) == 2 and isinstance(values[0], int) and 0 <= values[0] < columns):
        return None
    return values if isinstance(values[1], str) else None


def similar_names_available() -> bool:
    """Similar-name pairs need PostgreSQL's pg_trgm: the embedded SQLite database has no index
    to find them with, so there only identical identifiers (and, on create forms, equal names) match."""
    return connection.vendor == "postgresql"


def likely_pairs(*, model, user, after: str | None = None, anchors: int = ANCHORS_PER_PAGE) -> PairPage:
    """Similar-name pairs around recently created records; one query for anchors and neighbours."""
    name_field = _spec(model)["name"]
    since = timezone.now() - timedelta(days=RECENT_DAYS)
    visible = restrict(model.objects.all(), user, "view")
    recent = visible.filter(created_at__gte=since)
    if after and (values := cursor_values(after, recent, ["created_at", "id"])) is not None:
        recent = recent.filter(Q(created_at__lt=values[0]) | Q(created_at=values[0], id__lt=values[1]))
    neighbours = model.objects.all() if sees_everything(user) else restrict(model.objects.all(), user, "view")
    neighbours = neighbours.exclude(pk=OuterRef("pk")).filter(
        TrigramMatch(Upper(name_field), Upper(OuterRef(name_field)))
    )
    if model is Company:
        neighbours = neighbours.filter(
            Q(city=OuterRef("city")) | (~Q(website_domain="") & Q(website_domain=OuterRef("website_domain")))
        )
    else:
        neighbours = neighbours.filter(company_id=OuterRef("company_id"))
    if not similar_names_available():
        return PairPage(pairs=[])
    rows = list(
        recent.annotate(neighbour_ids=ArraySubquery(neighbours.order_by("pk").values("pk")[:CANDIDATES_PER_ANCHOR]))
        .select_related("owner", "team")
        .order_by("-created_at", "-id")[: anchors + 1]
    )
    next_cursor = None
    if len(rows) > anchors:
        rows = rows[:anchors]
        next_cursor = cursor_token([rows[-1].created_at, rows[-1].pk])
    wanted = {pk for row in rows for pk in row.neighbour_ids}
    others = model.objects.select_related("owner", "team").in_bulk(wanted) if wanted else {}
    pairs: list[DuplicatePair] = []
    seen: set[tuple[int, int]] = set()
    for row in rows:
        for pk in row.neighbour_ids:
            other = others.get(pk)
            key = (min(row.pk, pk), max(row.pk, pk))
            if other is None or key in seen:
                continue
            score = name_score(getattr(row, name_field), getattr(other, name_field))
            if score < LIKELY_SCORE:
                continue
            seen.add(key)
            first, second = (other, row) if other.pk < row.pk else (row, other)
            pairs.append(DuplicatePair(first, second, str(_("Similar name")), score))
    return PairPage(pairs=_mark_mergeable(model, user, pairs), next_cursor=next_cursor)


def _mark_mergeable(model, user, pairs: list[DuplicatePair]) -> list[DuplicatePair]:
    """Whether the user may merge the second record of each pair into the first (change the
    first, assign the second, as `customers.merge` asks): two queries for the whole page."""
    pks = {p.first.pk for p in pairs} | {p.second.pk for p in pairs}

    def allowed(action: str) -> set[int]:
        return set(restrict(model.objects.filter(pk__in=pks), user, action).values_list("pk", flat=True))

    changeable, assignable = (allowed("change"), allowed("assign")) if pks else (set(), set())
    for pair in pairs:
        pair.can_merge = pair.first.pk in changeable and pair.second.pk in assignable
    return pairs
