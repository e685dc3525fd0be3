"""The company and contact lists: columns, filters, sorts and bulk actions (crm.lists)."""

from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from crm.forms import AssignOwnerForm
from crm.lists import BulkAction, Column, ListSpec
from crm.writes import bulk_assign_owner, bulk_delete
from customers import services
from customers.forms import BulkShareForm, CompanyFilterForm, ContactFilterForm, TagActionForm
from customers.models import Company, Contact
from customers.selectors import company_list, contact_list

BULK_ACTIONS = [
    BulkAction("assign_owner", _("Assign owner"), "assign", bulk_assign_owner, AssignOwnerForm),
    BulkAction("add_tag", _("Add tag"), "change", services.bulk_add_tag, TagActionForm),
    BulkAction("remove_tag", _("Remove tag"), "change", services.bulk_remove_tag, TagActionForm),
    BulkAction("share", _("Share"), "assign", services.bulk_share, BulkShareForm),
    BulkAction("delete", _("Delete"), "delete", bulk_delete),
]

COMPANY_LIST = ListSpec(
    key="customers.company",
    title=_("Companies"),
    model=Company,
    selector=company_list,
    filter_form=CompanyFilterForm,
    columns=[
        Column("name", _("Name"), sort=("name", "id")),
        Column("city", _("City")),
        Column("grade", _("Grade")),
        Column("lifecycle", _("Lifecycle status")),
        Column("owner", _("Owner")),
        Column("last_activity_at", _("Last activity"), sort=("-last_activity_at", "-id")),
        Column("lifetime_value", _("Lifetime value"), sort=("-lifetime_value", "-id")),
        Column("created_at", _("Created"), sort=("-created_at", "-id")),
    ],
    default_sort="name",
    bulk_actions=BULK_ACTIONS,
    row_template="customers/company_rows.jinja",
    create_url=reverse_lazy("customers:company_create"),
    export_url=reverse_lazy("customers:export_page", args=["companies"]),
    export_permission="customers.export_records",
)

CONTACT_LIST = ListSpec(
    key="customers.contact",
    title=_("Contacts"),
    model=Contact,
    selector=contact_list,
    filter_form=ContactFilterForm,
    columns=[
        Column("display_name", _("Name"), sort=("display_name", "id")),
        Column("title", _("Job title")),
        Column("company", _("Company")),
        Column("email", _("Email")),
        Column("owner", _("Owner")),
        Column("last_activity_at", _("Last activity"), sort=("-last_activity_at", "-id")),
        Column("created_at", _("Created"), sort=("-created_at", "-id")),
    ],
    default_sort="display_name",
    bulk_actions=BULK_ACTIONS,
    row_template="customers/contact_rows.jinja",
    create_url=reverse_lazy("customers:contact_create"),
    export_url=reverse_lazy("customers:export_page", args=["contacts"]),
    export_permission="customers.export_records",
)
