"""Record pickers: a searchable, scoped autocomplete for every form field that chooses a record.

A *pick source* says which records one user may choose and how to search them:

    register_pick_source(
        "crm.assignable_team",
        queryset=assignable_teams,                       # (user) -> QuerySet, already scoped
        search=lambda qs, q: qs.filter(name__icontains=q),
        label=str,
    )
    register_record_source(Company, search_q=company_search_q)  # listed by name

`RecordPicker(source="customers.company", user=request.user)` renders the field: a combobox that
asks `crm:pick` for at most 20 options as the user types, and a hidden input carrying the chosen
id under the field's name. `static/js/picker.js` adds the keyboard (arrows, Enter, Escape).

Without JavaScript the same markup is a plain number box (the record's id) with a link to the
search page at `crm:pick`, which lists matches with their numbers: slower, but every form still
works. The script turns the number box into the hidden input and shows the combobox.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db import models
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Concat
from django.urls import reverse

from crm.models import Team, User
from crm.params import parse_text
from crm.permissions import restrict
from crm.search import text_search
from crm.selectors import assignable_owners, assignable_teams

MAX_OPTIONS = 20
MAX_QUERY_LENGTH = 100
# A search narrows to at most this many matching ids before the options are sorted, so a
# one-character query over millions of rows never sorts them all (as customers' list pages do).
CANDIDATE_CAP = 1000
_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_MAX_PK = 2**63 - 1


@dataclass(frozen=True)
class PickOption:
    value: int
    label: str


@dataclass(frozen=True)
class PickSource:
    """Where a picker's options come from; every method starts from `queryset(user)`."""

    name: str
    queryset: Callable[[Any], QuerySet]
    search: Callable[[QuerySet, str], QuerySet]
    label: Callable[[Any], str] = str
    order: tuple[str, ...] = ("pk",)
    label_queryset: Callable[[Any], QuerySet] | None = None
    only: tuple[str, ...] = ()
    model: type[models.Model] | None = None  # what `register_record_source` lists

    def _load(self, queryset: QuerySet) -> QuerySet:
        return queryset.only(*self.only) if self.only else queryset

    def options(self, user, query: str, *, limit: int = MAX_OPTIONS) -> tuple[list[PickOption], bool]:
        """Up to `limit` choices matching `query` among what `user` may choose, and whether there are more."""
        query = clean_query(query)
        if not query:
            return [], False
        scoped = self.queryset(user)
        matching = self.search(scoped, query).order_by().values("pk")[:CANDIDATE_CAP]
        rows = list(self._load(scoped.filter(pk__in=matching)).order_by(*self.order)[: limit + 1])
        return [PickOption(obj.pk, str(self.label(obj))) for obj in rows[:limit]], len(rows) > limit

    def current_label(self, user, value) -> str:
        """The label of the chosen record in one query, or "" when `user` may not see it."""
        pk = _as_pk(value)
        if pk is None or user is None:
            return ""
        scope = self.label_queryset or self.queryset
        obj = self._load(scope(user).filter(pk=pk)).first()
        return str(self.label(obj)) if obj is not None else ""


_sources: dict[str, PickSource] = {}


def register_pick_source(
    name: str,
    *,
    queryset: Callable[[Any], QuerySet],
    search: Callable[[QuerySet, str], QuerySet],
    label: Callable[[Any], str] = str,
    order: tuple[str, ...] = ("pk",),
    label_queryset: Callable[[Any], QuerySet] | None = None,
    only: tuple[str, ...] = (),
    model: type[models.Model] | None = None,
) -> PickSource:
    """Declare a picker's source. `queryset(user)` must already be scoped to what `user` may choose;
    `label_queryset(user)` (default: `queryset`) scopes the label shown for a current value;
    `only` names the columns `label` reads, so options skip the rest (encrypted ones included)."""
    if not _NAME.match(name):
        raise ValueError(f"A pick source name looks like 'app.thing', not {name!r}.")
    source = PickSource(name, queryset, search, label, tuple(order), label_queryset, tuple(only), model)
    _sources[name] = source
    return source


def register_record_source(
    model: type[models.Model],
    *,
    name: str | None = None,
    search_q: Callable[[str], Q] | None = None,
    name_field: str | None = None,
    label: Callable[[Any], str] = str,
) -> PickSource:
    """A source over an owned model: the records the user may view (`crm.permissions.restrict`),
    listed by `name_field` ("name" or "display_name" when the model has one).

    `search_q(query)` is the condition the model's own search uses (its top-bar search); without
    it, a model with a `search_text` column is searched through its tokens like the global search
    (so 华为 finds 华为技术有限公司), any other by `name_field__istartswith`.
    """
    fields = _field_names(model)
    name_field = name_field or next((f for f in ("name", "display_name") if f in fields), "pk")
    return register_pick_source(
        name or model._meta.label_lower,
        queryset=lambda user: restrict(model._default_manager.all(), user, "view"),
        search=(lambda qs, query: qs.filter(search_q(query))) if search_q else _default_record_search(model),
        label=label,
        order=(name_field, "pk") if name_field != "pk" else ("pk",),
        only=(name_field,) if name_field != "pk" else (),
        model=model,
    )


def get_pick_source(name: str) -> PickSource:
    """The registered source `name`; `LookupError` if there is none."""
    try:
        return _sources[name]
    except KeyError:
        raise LookupError(f"No pick source named {name!r}.") from None


def has_source(name: str) -> bool:
    return name in _sources


def record_source_model(name: str) -> type[models.Model] | None:
    """The model registered as the record source `name` ("pipeline.opportunity"), or None when no
    module registered one: how a module refers to another's records without importing it."""
    source = _sources.get(name)
    return source.model if source is not None else None


def clean_query(raw) -> str:
    """What a search box sent, made safe to search (`crm.params.parse_text`), at most 100 characters."""
    return parse_text(raw, max_length=MAX_QUERY_LENGTH)


def _as_pk(value) -> int | None:
    if isinstance(value, models.Model):
        value = value.pk
    try:
        pk = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return pk if 0 < pk <= _MAX_PK else None


def _field_names(model: type[models.Model]) -> set[str]:
    return {f.name for f in model._meta.get_fields()}


def _default_record_search(model: type[models.Model]) -> Callable[[QuerySet, str], QuerySet]:
    names = _field_names(model)
    if "search_text" in names:
        recheck = tuple(f for f in ("name", "display_name") if f in names)
        return lambda queryset, query: queryset.filter(text_search(query, recheck=recheck))
    return lambda queryset, query: queryset.filter(name__istartswith=query)


# --- The sources crm itself offers ---------------------------------------------------------------


def user_label(user: User) -> str:
    """A person's name with their username, so two people called 王伟 can be told apart."""
    full = user.get_full_name()
    return f"{full} ({user.username})" if full else user.username


def search_users(queryset: QuerySet, query: str) -> QuerySet:
    """Every word of `query` in the username, a name (also 王伟 written family name first) or the email.

    `contains` without an index is fine here: the user table holds hundreds of rows, not millions.
    """
    queryset = queryset.annotate(family_first_name=Concat("last_name", Value(""), "first_name"))
    for word in query.split():
        queryset = queryset.filter(
            Q(username__icontains=word)
            | Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(family_first_name__icontains=word)
            | Q(email__icontains=word)
        )
    return queryset


def search_teams(queryset: QuerySet, query: str) -> QuerySet:
    return queryset.filter(name__icontains=query)


def _active_users(user) -> QuerySet:
    if not (user and user.is_authenticated and user.is_active):
        return User.objects.none()
    return User.objects.filter(is_active=True)


def _named_users(user) -> QuerySet:
    # A record's current owner is shown by name to whoever may open the form, even when the
    # editor could not choose that owner (a former team member, a deactivated account).
    return User.objects.all() if user and user.is_authenticated else User.objects.none()


def _all_teams(user) -> QuerySet:
    # Team names are no secret (the share dialog lists them all); list filters offer every team.
    if not (user and user.is_authenticated and user.is_active):
        return Team.objects.none()
    return Team.objects.all()


register_pick_source(
    "crm.user",
    queryset=_active_users,
    search=search_users,
    label=user_label,
    order=("username",),
    label_queryset=_named_users,
)
register_pick_source(
    "crm.assignable_owner",
    queryset=assignable_owners,
    search=search_users,
    label=user_label,
    order=("username",),
    label_queryset=_named_users,
)
register_pick_source(
    "crm.assignable_team",
    queryset=assignable_teams,
    search=search_teams,
    order=("name",),
    label_queryset=_all_teams,
)
register_pick_source("crm.team", queryset=_all_teams, search=search_teams, order=("name",))


# --- The widget ---------------------------------------------------------------------------------


class RecordPicker(forms.Widget):
    """A searchable picker over a registered pick source; posts the chosen record's id.

    The form that uses it passes the user (`RecordPicker(source=..., user=user)`, or sets
    `widget.user`): the current value's label is looked up among what that user may see, and
    nothing is shown without one.
    """

    template_name = "crm/widgets/record_picker.html"

    def __init__(self, source: str, attrs: dict | None = None, *, user=None):
        super().__init__(attrs)
        self.source = source
        self.user = user

    # Attributes of the field the search box also carries. Not `required`: a hidden, empty, required
    # box would stop the form without JavaScript; picker.js moves it over when it shows the box.
    SEARCH_BOX_ATTRS = ("class", "disabled", "readonly", "aria-invalid", "placeholder")

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        source = get_pick_source(self.source)
        number_attrs = dict(context["widget"]["attrs"])
        field_id = number_attrs.setdefault("id", f"id_{name}")
        described_by = number_attrs.pop("aria-describedby", "")
        number_attrs.pop("placeholder", None)
        number_attrs.setdefault("class", "form-control")
        help_id = f"{field_id}_pickhelp"
        number_attrs["aria-describedby"] = f"{help_id} {described_by}".strip()
        search_attrs = {key: number_attrs[key] for key in self.SEARCH_BOX_ATTRS if key in number_attrs}
        if described_by:
            search_attrs["aria-describedby"] = described_by
        current = context["widget"]["value"]
        context["picker"] = {
            "source": source.name,
            "url": reverse("crm:pick", args=[source.name]),
            "label": source.current_label(self.user, current) if current else "",
            "number_attrs": number_attrs,
            "search_attrs": search_attrs,
            "search_id": f"{field_id}_search",
            "listbox_id": f"{field_id}_listbox",
            "help_id": help_id,
        }
        return context


def bind_pickers(form: forms.BaseForm, user) -> None:
    """Give every picker in `form` the user it scopes its current labels by."""
    for field in form.fields.values():
        if isinstance(field.widget, RecordPicker):
            field.widget.user = user
