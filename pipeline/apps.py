from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PipelineConfig(AppConfig):
    name = "pipeline"
    verbose_name = _("Sales pipeline")

    def ready(self):
        from crm import choices
        from crm.jinja import register_filter
        from crm.navigation import NavItem, NavSection, register_section
        from pipeline import lead_search, lead_tasks, signals, stage_totals  # noqa: F401
        from pipeline.models import LeadSource, LostReason, Pipeline, Stage
        from pipeline.opportunity_selectors import stale_reason

        register_filter("stale_reason", stale_reason)
        choices.register(Pipeline, Stage, LostReason, LeadSource)

        register_section(
            NavSection(
                _("Sales"),
                (
                    NavItem(_("Leads"), "pipeline:lead_list", "person-plus", "pipeline.view_lead"),
                    NavItem(_("Board"), "pipeline:board_default", "kanban", "pipeline.view_opportunity"),
                    NavItem(_("Opportunities"), "pipeline:opportunity_list", "briefcase", "pipeline.view_opportunity"),
                    NavItem(
                        _("Needs attention"), "pipeline:attention", "exclamation-triangle", "pipeline.view_opportunity"
                    ),
                    NavItem(_("My tasks"), "pipeline:my_tasks", "list-check", "pipeline.view_task"),
                    NavItem(_("Calendar"), "pipeline:calendar", "calendar3", "pipeline.view_task"),
                    NavItem(_("Forecast"), "pipeline:forecast", "graph-up", "pipeline.view_opportunity"),
                ),
                order=20,
            )
        )
        lead_search.register()
        from pipeline import lead_import

        lead_import.register()
        from pipeline.opportunity_views import register_opportunity_export

        register_opportunity_export()
        from crm.defaults import register_defaults
        from pipeline.defaults import ensure_pipeline_defaults

        register_defaults(ensure_pipeline_defaults)
        self._register_opportunities()
        self._register_tasks()
        self._register_pickers()

    def _register_tasks(self):
        from crm.panels import Panel, register_panel
        from pipeline.task_views import tasks_panel_context

        for target in ("customers.company", "customers.contact"):
            register_panel(target, Panel("tasks", _("Tasks"), "pipeline/_tasks_panel.html", tasks_panel_context, 30))

    def _register_opportunities(self):
        from crm.panels import Panel, register_panel
        from crm.search import register_search_provider
        from customers.extensions import register_list_filter, register_merge_handler
        from pipeline import opportunities, opportunity_selectors

        register_search_provider(opportunity_selectors.search_provider())
        for target, context in (
            ("customers.company", opportunity_selectors.company_panel),
            ("customers.contact", opportunity_selectors.contact_panel),
        ):
            register_panel(
                target, Panel("opportunities", _("Opportunities"), "pipeline/opportunity_panel.html", context, 20)
            )
        register_merge_handler("company", "opportunities", opportunities.move_company_opportunities)
        register_merge_handler("contact", "opportunities", opportunities.move_contact_opportunities)
        register_list_filter("company", opportunity_selectors.open_opportunity_filter())

    def _register_pickers(self):
        # Lead and opportunity fields in every form become scoped pickers searched like the top bar.
        from crm.pickers import register_record_source
        from pipeline.lead_selectors import lead_search_q
        from pipeline.models import Lead, Opportunity
        from pipeline.opportunity_selectors import opportunity_search_q

        register_record_source(Lead, search_q=lead_search_q)
        register_record_source(Opportunity, search_q=opportunity_search_q)
