from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from crm.pagination import capped_count, keyset_page
from crm.permissions import can, get_object_for_user
from customers.models import Company
from customers.selectors import company_list as select_companies


@login_required
def company_list(request):
    queryset = select_companies(user=request.user, filters={"q": request.GET.get("q", "").strip()})
    page = keyset_page(
        queryset,
        ordering=("name", "id"),
        after=request.GET.get("after"),
        before=request.GET.get("before"),
        size=settings.PAGE_SIZE,
    )
    count, capped = capped_count(queryset, settings.LIST_COUNT_CAP)
    return render(
        request,
        "customers/company_list.html",
        {"page": page, "count": count, "count_capped": capped, "q": request.GET.get("q", "")},
    )


@login_required
def company_detail(request, pk):
    company = get_object_for_user(request.user, Company.objects.select_related("owner", "team"), pk)
    return render(
        request,
        "customers/company_detail.html",
        {"company": company, "can_change": can(request.user, company, "change")},
    )
