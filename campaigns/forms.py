from __future__ import annotations

from django import forms
from django.urls import reverse
from django.utils.functional import lazy
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, Segment
from campaigns.segments import conditions_form_class
from crm.forms import DateTimeInput, RecordForm, scope_form_fields, style_form
from crm.lists import RecordFilterForm
from crm.permissions import restrict
from customers.models import Contact
from pipeline.models import Lead


class SegmentForm(RecordForm):
    """A segment's name, type and people, with the conditions of a dynamic one (prefixed "c-"):
    conditions over contacts, or over leads for a segment of leads. The people are fixed once
    the segment is saved (its members and conditions are of that kind)."""

    class Meta:
        model = Segment
        fields = ["name", "description", "kind", "people", "owner", "team"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, data=None, *args, user, **kwargs):
        super().__init__(data, *args, user=user, **kwargs)
        instance = self.instance
        if instance.pk:
            self.fields["people"].disabled = True
            people = instance.people
        else:
            chosen = (data or {}).get("people") or (self.initial or {}).get("people")
            people = chosen if chosen in Segment.People.values else Segment.People.CONTACTS
        self.people = people
        self.fields["people"].required = False  # not given: contacts
        if not instance.pk:  # choosing the people swaps in their conditions
            self.fields["people"].widget.attrs.update(
                {
                    "hx-get": reverse("campaigns:segment_conditions"),
                    "hx-include": "this",
                    "hx-target": "#segment-conditions",
                    "hx-swap": "outerHTML",
                }
            )
        form_class = conditions_form_class(people)
        initial = form_class.initial_for(instance.criteria) if instance.pk else None
        self.conditions_form = form_class(data, user=user, prefix="c", initial=initial)

    def clean_people(self):
        return self.cleaned_data.get("people") or Segment.People.CONTACTS

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

    @property
    def person(self):
        return self.cleaned_data["contact"]


class SegmentLeadForm(SegmentMemberForm):
    """A lead onto a static segment of leads."""

    contact = None
    lead = forms.ModelChoiceField(label=_("Lead"), queryset=Lead.objects.all())

    @property
    def person(self):
        return self.cleaned_data["lead"]


def member_form_class(segment: Segment):
    return SegmentLeadForm if segment.of_leads else SegmentMemberForm


MERGE_FIELDS = (
    "{{ contact.name }}",
    "{{ contact.given_name }}",
    "{{ contact.company }}",
    "{{ contact.city }}",
    "{{ sender.name }}",
    "{{ unsubscribe_url }}",
)


def _merge_fields_help() -> str:
    # The field names are code, the same in every language.
    return format_html(
        "{} {}",
        _("Merge fields:"),
        format_html_join(" ", '<code translate="no">{}</code>', ((name,) for name in MERGE_FIELDS)),
    )


merge_fields_help = lazy(_merge_fields_help, SafeString)


class CampaignForm(RecordForm):
    class Meta:
        model = Campaign
        fields = [
            "name",
            "channel",
            "segment",
            "exclude_segments",
            "from_name",
            "reply_to",
            "subject",
            "preheader",
            "html_body",
            "text_body",
            "sms_body",
            "second_language",
            "second_subject",
            "second_preheader",
            "second_html_body",
            "second_text_body",
            "subject_b",
            "ab_share",
            "ab_hours",
            "ab_metric",
            "scheduled_at",
            "cost",
            "conversion_days",
            "lead_source",
            "description",
            "owner",
            "team",
        ]
        widgets = {
            "html_body": forms.Textarea(attrs={"rows": 12, "spellcheck": "false"}),
            "text_body": forms.Textarea(attrs={"rows": 6}),
            "sms_body": forms.Textarea(attrs={"rows": 3}),
            "second_html_body": forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
            "second_text_body": forms.Textarea(attrs={"rows": 4}),
            "description": forms.Textarea(attrs={"rows": 2}),
            "scheduled_at": DateTimeInput,
        }
        help_texts = {"html_body": merge_fields_help()}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.fields["segment"].required = False
        self.fields["lead_source"].queryset = self.fields["lead_source"].queryset.order_by("name")
        self.fields["second_language"].help_text = _(
            "Contacts who prefer this language get the version below, when its subject and message are written."
        )


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


class AddToSegmentForm(forms.Form):
    """The contact list's "Add to segment" action: a static segment the user may change."""

    people = Segment.People.CONTACTS
    segment = forms.ModelChoiceField(label=_("Static segment"), queryset=Segment.objects.none())

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segment"].queryset = restrict(
            Segment.objects.filter(kind=Segment.Kind.STATIC, people=self.people), user, "change"
        ).order_by("name")
        style_form(self, small=True)


class AddLeadsToSegmentForm(AddToSegmentForm):
    """The lead list's "Add to segment" action: a static segment of leads the user may change."""

    people = Segment.People.LEADS
