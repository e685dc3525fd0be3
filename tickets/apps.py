from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = _("Tickets")

    def ready(self):
        from crm import choices
        from crm.audit import register_event_label
        from crm.defaults import register_defaults
        from crm.navigation import NavItem, NavSection, register_section
        from crm.panels import Panel, register_panel
        from crm.permissions import register_seen_through, register_team_worked
        from crm.pickers import register_record_source
        from crm.search import register_search_provider
        from customers.extensions import register_merge_handler
        from customers.models import Company, Contact
        from tickets import selectors, services, signals, tasks  # noqa: F401
        from tickets.defaults import ensure_ticket_defaults
        from tickets.models import RELATED_SOURCE, Category, Priority, Ticket

        # A support team works its queue together; others see the tickets of customers they see.
        register_team_worked(Ticket, ("view", "change"))
        register_seen_through(Ticket, selectors.customer_condition)
        register_seen_through(Company, selectors.worked_customers("company"))
        register_seen_through(Contact, selectors.worked_customers("contact"))
        choices.register(Category, Priority)
        register_defaults(ensure_ticket_defaults)
        register_event_label(services.BREACH_EVENT, _("Reassigned on a missed resolution target"))
        register_search_provider(selectors.search_provider())
        register_record_source(Ticket, search_q=selectors.ticket_search_q)
        for field in ("company", "contact"):
            register_panel(
                f"customers.{field}",
                Panel("tickets", _("Tickets"), "tickets/ticket_panel.html", selectors.customer_panel(field), 25),
            )
        # The deal page (pipeline's, named by label: tickets never import pipeline).
        register_panel(
            RELATED_SOURCE,
            Panel("tickets", _("Tickets"), "tickets/ticket_panel.html", selectors.opportunity_panel, 25),
        )
        register_merge_handler("company", "tickets", services.move_company_tickets)
        register_merge_handler("contact", "tickets", services.move_contact_tickets)
        register_section(
            NavSection(
                _("Service"),
                (NavItem(_("Tickets"), "tickets:ticket_list", "life-preserver", "tickets.view_ticket"),),
                order=30,
            )
        )
