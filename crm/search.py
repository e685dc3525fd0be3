"""Text search that works for Chinese as well as Latin text, at millions of rows.

PostgreSQL's `simple` text-search configuration keeps a run of Chinese characters as one
token, and `pg_trgm` extracts no trigram from a one- or two-character query, so neither finds
华为 inside 华为技术有限公司 through an index. The application therefore writes its own tokens
into a `search_text` column: every Latin word, lower-cased, and for every run of CJK characters
each single character and each overlapping pair. A GIN index over
`to_tsvector('simple', search_text)` answers any query through the index; the candidates are
then rechecked against the real text, so a query only matches a true substring.

    华为技术  ->  华 为 技 术 华为 为技 技术
    query 为技 -> '为技'            (one pair)
    query 华为技术 -> '华为' & '为技' & '技术'

On SQLite (the embedded development database) the lookup falls back to a plain LIKE.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy

# CJK Unified Ideographs (+ extension A), Hiragana/Katakana, Hangul syllables.
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
_CJK_RUN = re.compile(f"[{_CJK}]+")
_WORD = re.compile(rf"[^\W{_CJK}_]+", re.UNICODE)
# Characters with a meaning in tsquery syntax never reach it: tokens are only word characters.
MAX_QUERY_TOKENS = 12


def normalize(text: str) -> str:
    """Fold width (ＡＢＣ -> ABC) and case, so full-width input matches half-width data."""
    return unicodedata.normalize("NFKC", text or "").lower()


def _cjk_tokens(run: str) -> list[str]:
    singles = list(run)
    pairs = [run[i : i + 2] for i in range(len(run) - 1)]
    return singles + pairs


def search_tokens(*values: str | None) -> str:
    """The token string to store in a record's `search_text` column."""
    tokens: list[str] = []
    seen: set[str] = set()
    for value in values:
        text = normalize(value or "")
        for token in _WORD.findall(text) + [t for run in _CJK_RUN.findall(text) for t in _cjk_tokens(run)]:
            if token not in seen:
                seen.add(token)
                tokens.append(token)
    return " ".join(tokens)


def query_terms(query: str) -> list[tuple[str, bool]]:
    """The tsquery terms for a user's query, as (term, is_prefix) pairs, all of which must match."""
    text = normalize(query)
    terms: list[tuple[str, bool]] = []
    for word in _WORD.findall(text):
        terms.append((word, True))  # a Latin word matches as a prefix: "hua" finds "huawei"
    for run in _CJK_RUN.findall(text):
        if len(run) == 1:
            terms.append((run, False))
        else:
            terms.extend((run[i : i + 2], False) for i in range(len(run) - 1))
    unique = list(dict.fromkeys(terms))
    return unique[:MAX_QUERY_TOKENS]


def tsquery(query: str) -> str:
    """A `to_tsquery('simple', ...)` string; terms are quoted so no user input is syntax."""
    parts = []
    for term, prefix in query_terms(query):
        quoted = "'" + term.replace("'", "''") + "'"
        parts.append(f"{quoted}:*" if prefix else quoted)
    return " & ".join(parts)


@models.TextField.register_lookup
class TokenSearch(models.Lookup):
    """`search_text__tokens="华为"`: full-text match on a column written by `search_tokens`."""

    lookup_name = "tokens"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        if connection.vendor == "postgresql":
            return (
                f"to_tsvector('simple'::regconfig, {lhs}) @@ to_tsquery('simple'::regconfig, {rhs})",
                [*lhs_params, *rhs_params],
            )
        # Embedded SQLite: every term must appear somewhere in the token string.
        terms = [term for term, _prefix in query_terms(rhs_params[0])] or [""]
        clauses = " AND ".join(f"{lhs} LIKE %s" for _ in terms)
        return clauses, [p for term in terms for p in (*lhs_params, f"%{term}%")]

    def get_db_prep_lookup(self, value, connection):
        if connection.vendor == "postgresql":
            return ("%s", [tsquery(value)])
        return ("%s", [value])


def text_search(query: str, *, token_field: str = "search_text", recheck: tuple[str, ...] = ("name",)) -> Q:
    """Rows whose tokens match `query` and where one of `recheck` really contains it.

    The token match narrows the candidates through the GIN index; the recheck keeps a query
    such as 华为技术 from matching 技术华为 (same pairs, different order).
    """
    if not query_terms(query):
        return Q(pk__in=[])
    condition = Q(**{f"{token_field}__tokens": query})
    for piece in query.split():
        piece_q = Q()
        for field in recheck:
            piece_q |= Q(**{f"{field}__icontains": piece})
        condition &= piece_q
    return condition


def tokens_index_sql(table: str, column: str = "search_text") -> tuple[str, str]:
    """SQL to create and drop the GIN index behind `tokens` lookups on `table.column`."""
    name = f"{table}_{column}_tsv"
    create = f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (to_tsvector('simple'::regconfig, {column}))"
    return create, f"DROP INDEX IF EXISTS {name}"


# --- The global search box: each module contributes its record types. ----------------------


@dataclass(frozen=True)
class SearchHit:
    title: str
    subtitle: str
    url: str


@dataclass(frozen=True)
class SearchProvider:
    """`find(user, query, limit)` returns hits among what `user` may see, in a bounded query."""

    key: str
    label: str
    find: Callable[..., list[SearchHit]]
    more_url: Callable[[str], str] | None = None
    order: int = 50


_providers: dict[str, SearchProvider] = {}


def register_search_provider(provider: SearchProvider) -> None:
    _providers[provider.key] = provider


@dataclass(frozen=True)
class SearchGroup:
    label: str
    hits: list[SearchHit]
    more_url: str


def search_everything(*, user, query: str, limit: int = 8) -> list[SearchGroup]:
    """Hits grouped by type; each provider returns only what the user may see."""
    if not query.strip():
        return []
    groups = []
    for provider in sorted(_providers.values(), key=lambda p: p.order):
        hits = provider.find(user=user, query=query, limit=limit)
        if hits:
            more = provider.more_url(query) if provider.more_url and len(hits) >= limit else ""
            groups.append(SearchGroup(str(provider.label), hits, more))
    return groups


# --- Searches by phone number -------------------------------------------------------------------

EVENT_PHONE_SEARCH = "phone_search"


def phone_search_allowed(user, query: str, *, where: str) -> bool:
    """Audit a search by a whole phone number and count it against the user's hourly allowance
    (PHONE_SEARCH_LIMIT per PHONE_SEARCH_WINDOW seconds); False once over it, and then the caller
    searches without the phone branch. Queries that are not a phone number pass untouched.

    The audit entry keeps the number's blind index, never the number: an auditor who has a number
    can find who searched for it, nobody can read numbers out of the log."""
    from django.conf import settings

    from crm.audit import log_event
    from crm.cache import count_hit
    from crm.fields import blind_index_for, normalize_phone, phone_query

    digits = phone_query(query)
    if not digits:
        return True
    limit = getattr(settings, "PHONE_SEARCH_LIMIT", 30)
    window = getattr(settings, "PHONE_SEARCH_WINDOW", 3600)
    allowed = count_hit(f"phone-search:{user.pk}", window=window) <= limit
    log_event(
        user,
        actor=user,
        event=EVENT_PHONE_SEARCH,
        changes={"phone_search": [where, blind_index_for(normalize_phone, digits) if allowed else "refused"]},
    )
    return allowed


PHONE_SEARCH_REFUSED = gettext_lazy(
    "You have searched by phone number too often in the last hour. Search by name, or try again later."
)
