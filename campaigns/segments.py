"""Segment conditions: the one form that validates them, the filter they make over contacts, and
the count the marketer sees while editing.

A dynamic segment stores the cleaned conditions (`SegmentConditionsForm.conditions()`), a plain
dict of ids and strings; `audience()` turns them into a queryset of contacts that is always
narrowed to what the user may see (`crm.permissions.restrict`). Unknown keys are ignored, so a
condition removed from the form never breaks a stored segment.
"""

from __future__ import annotations

import json
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError, OperationalError, connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.forms import scope_form_fields, style_form
from crm.models import Team
from crm.pagination import capped_count
from crm.permissions import restrict
from customers.models import Company, Contact, GradeLevel, Tag, Transaction
from pipeline.models import Lead, LeadSource
from pipeline.opportunity_selectors import open_opportunities

ANY = ""
YES_NO = [(ANY, _("Any")), ("yes", _("Yes")), ("no", _("No"))]
# Counted exactly up to this many contacts; past it the planner's estimate is shown ("about").
EXACT_COUNT_CAP = 10_000
EXACT_COUNT_MS = 200


class SegmentConditionsFormBase(forms.Form):
    """What both conditions forms share: scoped pickers, styling, and initial values read back
    from stored conditions (ids stay ids; the fields take them)."""

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        scope_form_fields(self, user)
        style_form(self)

    @classmethod
    def initial_for(cls, conditions: dict) -> dict:
        return {key: value for key, value in (conditions or {}).items() if key in cls.base_fields}


class SegmentConditionsForm(SegmentConditionsFormBase):
    """Who is in a dynamic segment. Every field is optional; the conditions given must all hold."""

    grades = forms.MultipleChoiceField(label=_("Customer grade"), required=False)
    lifecycles = forms.MultipleChoiceField(
        label=_("Lifecycle status"), required=False, choices=Company.Lifecycle.choices
    )
    city = forms.CharField(label=_("City"), required=False, max_length=100)
    province = forms.CharField(label=_("Province / state"), required=False, max_length=100)
    industry = forms.CharField(label=_("Industry"), required=False, max_length=100)
    tags = forms.ModelMultipleChoiceField(label=_("Tags"), required=False, queryset=Tag.objects.order_by("name"))
    owner = forms.ModelChoiceField(label=_("Owner"), required=False, queryset=get_user_model().objects.none())
    team = forms.ModelChoiceField(label=_("Team"), required=False, queryset=Team.objects.none())
    language = forms.ChoiceField(
        label=_("Preferred language"), required=False, choices=[(ANY, _("Any")), *settings.LANGUAGES]
    )
    email_consent = forms.ChoiceField(label=_("Agreed to marketing e-mail"), required=False, choices=YES_NO)
    inactive_days = forms.IntegerField(label=_("No activity for (days)"), required=False, min_value=1, max_value=3650)
    no_purchase_days = forms.IntegerField(
        label=_("No purchase for (days)"), required=False, min_value=1, max_value=3650
    )
    open_opportunity = forms.ChoiceField(label=_("Has an open opportunity"), required=False, choices=YES_NO)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.fields["grades"].choices = list(GradeLevel.objects.order_by("code").values_list("code", "label"))

    def conditions(self) -> dict:
        """The cleaned conditions as JSON-ready values, without the empty ones."""
        data = self.cleaned_data
        result = {}
        for name in ("grades", "lifecycles"):
            if data.get(name):
                result[name] = sorted(data[name])
        for name in ("city", "province", "industry", "language", "email_consent", "open_opportunity"):
            if data.get(name):
                result[name] = data[name].strip()
        for name in ("inactive_days", "no_purchase_days"):
            if data.get(name):
                result[name] = int(data[name])
        if data.get("tags"):
            result["tags"] = sorted(tag.pk for tag in data["tags"])
        for name in ("owner", "team"):
            if data.get(name) is not None:
                result[name] = data[name].pk
        return result


class LeadConditionsForm(SegmentConditionsFormBase):
    """Who is in a dynamic segment of leads. Every field is optional; the conditions given must all hold."""

    statuses = forms.MultipleChoiceField(label=_("Lead status"), required=False, choices=Lead.Status.choices)
    sources = forms.ModelMultipleChoiceField(
        label=_("Source"), required=False, queryset=LeadSource.objects.order_by("name")
    )
    min_score = forms.IntegerField(label=_("Score at least"), required=False, min_value=-100000, max_value=100000)
    city = forms.CharField(label=_("City"), required=False, max_length=100)
    province = forms.CharField(label=_("Province / state"), required=False, max_length=100)
    industry = forms.CharField(label=_("Industry"), required=False, max_length=100)
    owner = forms.ModelChoiceField(label=_("Owner"), required=False, queryset=get_user_model().objects.none())
    team = forms.ModelChoiceField(label=_("Team"), required=False, queryset=Team.objects.none())
    language = forms.ChoiceField(
        label=_("Preferred language"), required=False, choices=[(ANY, _("Any")), *settings.LANGUAGES]
    )
    email_consent = forms.ChoiceField(label=_("Agreed to marketing e-mail"), required=False, choices=YES_NO)
    created_days = forms.IntegerField(
        label=_("Arrived in the last (days)"), required=False, min_value=1, max_value=3650
    )

    def conditions(self) -> dict:
        data = self.cleaned_data
        result = {}
        if data.get("statuses"):
            result["statuses"] = sorted(data["statuses"])
        if data.get("sources"):
            result["sources"] = sorted(source.pk for source in data["sources"])
        for name in ("city", "province", "industry", "language", "email_consent"):
            if data.get(name):
                result[name] = data[name].strip()
        for name in ("min_score", "created_days"):
            if data.get(name) is not None:
                result[name] = int(data[name])
        for name in ("owner", "team"):
            if data.get(name) is not None:
                result[name] = data[name].pk
        return result


def conditions_form_class(people: str):
    """The conditions form for a segment of `people` ("contacts" or "leads")."""
    return LeadConditionsForm if people == "leads" else SegmentConditionsForm


def _ids(value) -> list[int]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, int) and not isinstance(item, bool)]


def _strings(value) -> list[str]:
    if not isinstance(value, list):  # a bare string is not a list of codes
        return []
    return [item for item in value if isinstance(item, str)]


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def _person_conditions(conditions: dict, *, place: str) -> Q:
    """The conditions contacts and leads share: where (`place` is the path to the city, province
    and industry: the company's for a contact, the lead's own), owner, team, language, consent."""
    q = Q()
    for name in ("city", "province", "industry"):
        if value := _text(conditions.get(name)):
            q &= Q(**{f"{place}{name}": value})
    if isinstance(owner := conditions.get("owner"), int):
        q &= Q(owner_id=owner)
    if isinstance(team := conditions.get("team"), int):
        q &= Q(team_id=team)
    if language := _text(conditions.get("language")):
        q &= Q(preferred_language=language)
    consent = conditions.get("email_consent")
    if consent in ("yes", "no"):
        q &= Q(email_opt_in=consent == "yes")
    return q


def conditions_filter(conditions: dict) -> Q:
    """The stored conditions as one filter over contacts (ill-typed values are ignored)."""
    conditions = conditions if isinstance(conditions, dict) else {}
    q = Q()
    if grades := _strings(conditions.get("grades")):
        q &= Q(company__grade__in=grades)
    if lifecycles := _strings(conditions.get("lifecycles")):
        q &= Q(company__lifecycle__in=lifecycles)
    q &= _person_conditions(conditions, place="company__")
    if tags := _ids(conditions.get("tags")):
        # EXISTS, not a join: a contact with two of the tags is still one recipient, without DISTINCT.
        tagged = Contact.tags.through.objects.filter(contact_id=OuterRef("pk"), tag_id__in=tags)
        company_tagged = Company.tags.through.objects.filter(company_id=OuterRef("company_id"), tag_id__in=tags)
        q &= Q(Exists(tagged)) | Q(Exists(company_tagged))
    now = timezone.now()
    if isinstance(days := conditions.get("inactive_days"), int) and days > 0:
        q &= Q(last_activity_at__lt=now - timedelta(days=days))
    if isinstance(days := conditions.get("no_purchase_days"), int) and days > 0:
        bought = Transaction.objects.filter(
            company_id=OuterRef("company_id"),
            status=Transaction.Status.PAID,
            date__gte=(now - timedelta(days=days)).date(),
        )
        q &= ~Q(Exists(bought))
    opportunity = conditions.get("open_opportunity")
    if opportunity in ("yes", "no"):
        has_open = Exists(
            open_opportunities().filter(Q(contact_id=OuterRef("pk")) | Q(company_id=OuterRef("company_id")))
        )
        q &= Q(has_open) if opportunity == "yes" else ~Q(has_open)
    return q


def lead_conditions_filter(conditions: dict) -> Q:
    """The stored conditions of a segment of leads as one filter over leads (ill-typed values ignored)."""
    conditions = conditions if isinstance(conditions, dict) else {}
    q = Q()
    if statuses := _strings(conditions.get("statuses")):
        q &= Q(status__in=statuses)
    if sources := _ids(conditions.get("sources")):
        q &= Q(source_id__in=sources)
    score = conditions.get("min_score")
    if isinstance(score, int) and not isinstance(score, bool):
        q &= Q(score__gte=score)
    q &= _person_conditions(conditions, place="")
    if isinstance(days := conditions.get("created_days"), int) and days > 0:
        q &= Q(created_at__gte=timezone.now() - timedelta(days=days))
    return q


def people_of(people: str, user) -> QuerySet:
    """Every person of the kind (contacts or leads) that `user` may see. A converted lead is not
    one: the person is a contact now, reached (and unsubscribed) as that contact."""
    if people == "leads":
        return restrict(Lead.objects.exclude(status=Lead.Status.CONVERTED), user)
    return restrict(Contact.objects.all(), user)


def audience(segment, user) -> QuerySet:
    """The people of a segment that `user` may see (dynamic: the conditions; static: the list):
    contacts, or leads for a segment of leads."""
    people = people_of(segment.people, user)
    if segment.kind == segment.Kind.STATIC:
        return people.filter(pk__in=segment.memberships.values(segment.member_field))
    return people.filter(conditions_audience_filter(segment.people, segment.criteria))


def conditions_audience_filter(people: str, conditions: dict) -> Q:
    return lead_conditions_filter(conditions) if people == "leads" else conditions_filter(conditions)


def conditions_audience(conditions: dict, user, people: str = "contacts") -> QuerySet:
    return people_of(people, user).filter(conditions_audience_filter(people, conditions))


def planner_estimate(queryset: QuerySet) -> int | None:
    """PostgreSQL's own estimate of the rows a query returns (no scan); None elsewhere."""
    if connection.vendor != "postgresql":
        return None
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
    except DatabaseError:
        return None
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return int(plan[0]["Plan"]["Plan Rows"])


def estimated_count(queryset: QuerySet) -> tuple[int, bool]:
    """(count, whether it is an estimate): exact up to EXACT_COUNT_CAP, the planner's beyond. On
    PostgreSQL the exact count may take EXACT_COUNT_MS at most (a small segment of a huge table
    scans much of it to find its few members); past that the planner's estimate answers."""
    if connection.vendor != "postgresql":
        count, capped = capped_count(queryset, EXACT_COUNT_CAP)
        return count, capped
    try:
        count, capped = _timed_count(queryset)
    except OperationalError:  # cancelled by the time limit
        return planner_estimate(queryset) or 0, True
    if not capped:
        return count, False
    estimate = planner_estimate(queryset)
    return max(count, estimate or 0), True


def _timed_count(queryset: QuerySet) -> tuple[int, bool]:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        before = cursor.fetchone()[0]
        cursor.execute("SET LOCAL statement_timeout = %s", [f"{EXACT_COUNT_MS}ms"])
        result = capped_count(queryset, EXACT_COUNT_CAP)
        # A SET LOCAL outlives this savepoint: the caller's transaction gets its limit back.
        cursor.execute("SELECT set_config('statement_timeout', %s, true)", [before])
    return result
