"""The forecast page, and the quota grid where managers set their team members' monthly quotas."""

from __future__ import annotations

import re
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from crm.params import BadParameter, QueryParams, parse_amount
from crm.permissions import has_role_permission
from pipeline.forecast import Period, forecast, forecast_teams, parse_period
from pipeline.models import Opportunity, Quota
from pipeline.quotas import quota_rows, quota_set


@login_required
def forecast_view(request):
    if not has_role_permission(request.user, Opportunity, "view"):
        raise PermissionDenied
    params = QueryParams(request)
    today = timezone.localdate()
    period = params.parsed("period", parse_period, default=Period("month", today.year, today.month))
    teams = forecast_teams(request.user)
    team_id = params.id("team")
    team = teams.filter(pk=team_id).first() if team_id else None
    result = forecast(user=request.user, period=period, team=team)
    return render(
        request,
        "pipeline/forecast.html",
        {
            "forecast": result,
            "period": period,
            "previous": period.shift(-1),
            "next": period.shift(1),
            "as_month": period.as_kind("month"),
            "as_quarter": period.as_kind("quarter"),
            "teams": teams,
            "team": team,
            "chart_data": result.chart_data(),
            "can_view_quotas": has_role_permission(request.user, Quota, "view"),
        },
    )


@login_required
def quota_view(request):
    """Quotas for a year: a grid of people × months; managers edit their team members' rows."""
    if not has_role_permission(request.user, Quota, "view"):
        raise PermissionDenied
    # The grid posts its year in a field; the links to other years carry it in the address.
    params = QueryParams(request, request.POST if request.method == "POST" else None)
    year = params.integer("year", default=timezone.localdate().year, minimum=2000, maximum=2100)
    rows = quota_rows(viewer=request.user, year=year)
    errors: list[str] = []
    if request.method == "POST":
        editable = {row["user"].pk: row for row in rows if row["editable"]}
        if not editable:
            raise PermissionDenied
        changes = []
        for key, raw in request.POST.items():
            match = re.fullmatch(r"q-(\d+)-(\d{1,2})", key)
            if not match:
                continue
            user_id, month = int(match[1]), int(match[2])
            row = editable.get(user_id)
            if row is None or not 1 <= month <= 12:
                raise PermissionDenied  # a person the viewer may not set quotas for
            try:
                amount = parse_amount(raw)
            except BadParameter as error:
                errors.append(
                    _("%(person)s, %(month)s: %(problem)s")
                    % {
                        "person": row["user"],
                        "month": date_format(date(year, month, 1), "YEAR_MONTH_FORMAT"),
                        "problem": error,
                    }
                )
                continue
            if amount != row["months"][month - 1][1]:
                changes.append((row["user"], date(year, month, 1), amount))
        if not errors:
            with transaction.atomic():
                for person, month, amount in changes:
                    quota_set(actor=request.user, user=person, month=month, amount=amount)
            messages.success(request, _("Quotas saved."))
            return redirect(f"{request.path}?year={year}")
    months = [date(year, m, 1) for m in range(1, 13)]
    return render(
        request,
        "pipeline/quota_list.html",
        {
            "rows": rows,
            "year": year,
            "months": months,
            "errors": errors,
            "any_editable": any(row["editable"] for row in rows),
        },
        status=400 if errors else 200,
    )
