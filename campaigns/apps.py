from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self):
        from campaigns import services, signals, tasks  # noqa: F401
        from campaigns.forms import AddLeadsToSegmentForm, AddToSegmentForm
        from campaigns.models import Campaign, Segment
        from campaigns.tracking import lead_origin, name_origin
        from crm.audit import register_event_label
        from crm.lists import BulkAction, register_bulk_action
        from crm.navigation import NavItem, NavSection, register_section
        from crm.pickers import register_record_source
        from pipeline.leads import register_lead_origin

        for event, label in (
            ("campaign_scheduled", _("Scheduled the send")),
            ("campaign_send_started", _("Started sending")),
            ("campaign_test_sent", _("Sent a test message")),
            ("campaign_subject_test_decided", _("Chose the winning subject")),
            ("segment_members_added", _("Added to the segment")),
            ("segment_member_removed", _("Removed from the segment")),
            ("campaign unsubscribed", _("Unsubscribed through a campaign")),
            ("campaign bounced", _("Address bounced")),
            ("campaign sms opt-out", _("Replied to opt out of text messages")),
        ):
            register_event_label(event, label)
        register_record_source(Segment)
        register_bulk_action(
            "customers.contact",
            BulkAction(
                "add_to_segment",
                _("Add to segment"),
                "view",
                services.bulk_add_to_segment,
                AddToSegmentForm,
                requires="campaigns.change_segment",
            ),
        )
        register_bulk_action(
            "pipeline.lead",
            BulkAction(
                "add_to_segment",
                _("Add to segment"),
                "view",
                services.bulk_add_to_segment,
                AddLeadsToSegmentForm,
                requires="campaigns.change_segment",
            ),
        )
        # A lead that fills in a web form reached through a campaign link names the campaign.
        register_lead_origin(lead_origin, name_origin)
        register_record_source(Campaign)
        register_section(
            NavSection(
                _("Marketing"),
                (
                    NavItem(_("Campaigns"), "campaigns:campaign_list", "megaphone", "campaigns.view_campaign"),
                    NavItem(_("Segments"), "campaigns:segment_list", "people", "campaigns.view_segment"),
                ),
                order=25,
            )
        )
