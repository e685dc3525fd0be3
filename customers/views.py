from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from crm.lists import Column, ListSpec, list_view
from crm.permissions import can, get_object_for_user
from crm.selectors import object_history
from customers.forms import CompanyFilterForm
from customers.models import Company
from customers.selectors import company_list as select_companies

COMPANY_LIST = ListSpec(
    key="customers.company",
    title=_("Companies"),
    model=Company,
    selector=select_companies,
    filter_form=CompanyFilterForm,
    columns=[
        Column("name", _("Name"), sort=("name", "id")),
        Column("city", _("City")),
        Column("lifecycle", _("Lifecycle status")),
        Column("owner", _("Owner")),
        Column("team", _("Team")),
        Column("created_at", _("Created"), sort=("created_at", "id")),
    ],
    default_sort="name",
)

company_list = list_view(COMPANY_LIST)


@login_required
def company_detail(request, pk):
    company = get_object_for_user(request.user, Company.objects.select_related("owner", "team"), pk)
    return render(
        request,
        "customers/company_detail.html",
        {
            "company": company,
            "can_change": can(request.user, company, "change"),
            "history": object_history(company, viewer=request.user),
        },
    )
