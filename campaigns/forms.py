from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, Segment
from campaigns.segments import SegmentConditionsForm
from crm.forms import DateTimeInput, RecordForm, scope_form_fields, style_form
from crm.lists import RecordFilterForm
from customers.models import Contact


class SegmentForm(RecordForm):
    """A segment's name and type, with the conditions of a dynamic one (prefixed "c-")."""

    class Meta:
        model = Segment
        fields = ["name", "description", "kind", "owner", "team"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, data=None, *args, user, **kwargs):
        super().__init__(data, *args, user=user, **kwargs)
        instance = self.instance
        initial = SegmentConditionsForm.initial_for(instance.criteria) if instance.pk else None
        self.conditions_form = SegmentConditionsForm(data, user=user, prefix="c", initial=initial)

    def is_valid(self) -> bool:
        valid = super().is_valid()
        return self.conditions_form.is_valid() and valid

    def service_data(self) -> dict:
        data = super().service_data()
        data["criteria"] = self.conditions_form.conditions() if data.get("kind") == Segment.Kind.DYNAMIC else {}
        return data


class SegmentMemberForm(forms.Form):
    contact = forms.ModelChoiceField(label=_("Contact"), queryset=Contact.objects.all())

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        scope_form_fields(self, user)
        style_form(self, small=True)


class CampaignForm(RecordForm):
    class Meta:
        model = Campaign
        fields = [
            "name",
            "segment",
            "exclude_segments",
            "from_name",
            "reply_to",
            "subject",
            "preheader",
            "html_body",
            "text_body",
            "scheduled_at",
            "cost",
            "conversion_days",
            "description",
            "owner",
            "team",
        ]
        widgets = {
            "html_body": forms.Textarea(attrs={"rows": 12, "spellcheck": "false"}),
            "text_body": forms.Textarea(attrs={"rows": 6}),
            "description": forms.Textarea(attrs={"rows": 2}),
            "scheduled_at": DateTimeInput,
        }
        help_texts = {
            "html_body": _(
                "Merge fields: {{ contact.name }}, {{ contact.given_name }}, {{ contact.company }}, "
                "{{ contact.city }}, {{ sender.name }}, {{ unsubscribe_url }}."
            ),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.fields["segment"].required = False


class CampaignFilterForm(RecordFilterForm):
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", "—"), *Campaign.Status.choices])

    field_order = ["q", "status", "owner", "team", "created_from", "created_to"]


class SegmentFilterForm(RecordFilterForm):
    kind = forms.ChoiceField(label=_("Type"), required=False, choices=[("", "—"), *Segment.Kind.choices])

    field_order = ["q", "kind", "owner", "team", "created_from", "created_to"]


class TestSendForm(forms.Form):
    contact = forms.ModelChoiceField(
        label=_("Fill in for"), queryset=Contact.objects.all(), required=False, help_text=_("Empty: a sample person.")
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        scope_form_fields(self, user)
        style_form(self, small=True)
