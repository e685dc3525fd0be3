from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self):
        from crm import choices
        from crm.navigation import NavItem, NavSection, register_section
        from customers import search_providers, signals  # noqa: F401
        from customers.models import GradeLevel, Tag

        choices.register(GradeLevel, Tag)

        register_section(
            NavSection(
                _("Customers"),
                (
                    NavItem(_("Companies"), "customers:company_list", "building", "customers.view_company"),
                    NavItem(_("Contacts"), "customers:contact_list", "person-lines-fill", "customers.view_contact"),
                    NavItem(_("Duplicates"), "customers:duplicates", "intersect", "customers.change_company"),
                    NavItem(_("Imports"), "customers:import_list", "upload", "customers.add_company"),
                ),
                order=10,
            )
        )
        search_providers.register()
        self._register_pickers()
        # Background imports and exports: Celery tasks, and the runners of their kinds of job.
        from customers import import_tasks  # noqa: F401
        from customers.exporting import register_customer_exports
        from customers.importing.customer_kinds import register_customer_kinds

        register_customer_kinds()
        register_customer_exports()
        from crm.defaults import register_defaults
        from customers.defaults import ensure_grade_levels

        register_defaults(ensure_grade_levels)

    def _register_pickers(self):
        # Company and contact fields in every form become scoped pickers searched like the top bar.
        from crm.pickers import register_record_source
        from customers.models import Company, Contact
        from customers.selectors import company_search_q, contact_search_q

        register_record_source(Company, search_q=company_search_q)
        register_record_source(Contact, search_q=contact_search_q)
