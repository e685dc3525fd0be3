from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self):
        from crm.navigation import NavItem, NavSection, register_section
        from customers import signals  # noqa: F401

        register_section(
            NavSection(
                _("Customers"),
                (NavItem(_("Companies"), "customers:company_list", "building", "customers.view_company"),),
                order=10,
            )
        )
