from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PipelineConfig(AppConfig):
    name = "pipeline"
    verbose_name = _("Sales pipeline")

    def ready(self):
        from crm.navigation import NavItem, NavSection, register_section
        from pipeline import lead_search, lead_tasks, signals  # noqa: F401

        register_section(
            NavSection(
                _("Sales"),
                (NavItem(_("Leads"), "pipeline:lead_list", "person-plus", "pipeline.view_lead"),),
                order=20,
            )
        )
        lead_search.register()
