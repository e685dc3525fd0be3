"""Forms of the lead pages and of the public web-to-lead form."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.forms import DateInput, RecordForm, scope_form_fields, style_form
from crm.lists import RecordFilterForm
from crm.models import Team, User
from crm.params import bound_form_fields
from crm.public_forms import HONEYPOT, Honeypot
from pipeline.leads import LEAD_FIELDS
from pipeline.models import Lead, LeadSource, WebForm

# Longest free text a public form accepts; the model's max_length bounds every other field.
WEB_FORM_MESSAGE_MAX = 2000


class LeadFilterForm(RecordFilterForm):
    status = forms.ChoiceField(label=_("Status"), choices=[("", "—"), *Lead.Status.choices], required=False)
    source = forms.ModelChoiceField(label=_("Source"), queryset=LeadSource.objects.all(), required=False)
    score_min = forms.IntegerField(label=_("Score from"), required=False)
    score_max = forms.IntegerField(label=_("Score to"), required=False)

    field_order = ["q", "status", "source", "owner", "team", "score_min", "score_max"]


class LeadForm(RecordForm):
    class Meta:
        model = Lead
        fields = [*LEAD_FIELDS, "owner", "team"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].queryset = LeadSource.objects.filter(active=True)

    def clean(self):
        cleaned = super().clean()
        if not any(cleaned.get(f) for f in ("family_name", "given_name", "company_name", "email")):
            raise forms.ValidationError(_("Give at least a name, a company or an email address."))
        return cleaned


class DisqualifyForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_form(self, small=True)


class ReassignForm(forms.Form):
    owner = forms.ModelChoiceField(label=_("New owner"), queryset=User.objects.none())
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        scope_form_fields(self, user)
        style_form(self, small=True)


NEW = "new"
NONE = "none"


class ConvertForm(forms.Form):
    """Which company and contact the lead becomes: an existing customer offered by the duplicate
    check (only ones the user may see), or a new one."""

    company = forms.ChoiceField(label=_("Company"), widget=forms.RadioSelect(attrs={"class": "form-check-input"}))
    contact = forms.ChoiceField(label=_("Contact"), widget=forms.RadioSelect(attrs={"class": "form-check-input"}))
    opportunity_name = forms.CharField(label=_("Opportunity name"), max_length=200)
    amount = forms.DecimalField(label=_("Amount"), max_digits=14, decimal_places=2, min_value=0, initial=0)
    expected_close_date = forms.DateField(label=_("Expected close date"), required=False, widget=DateInput)

    def __init__(self, *args, companies=(), contacts=(), person: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.companies = {str(c.pk): c for c in companies}
        self.contacts = {str(c.pk): c for c in contacts}
        self.fields["company"].choices = [
            *((pk, str(c)) for pk, c in self.companies.items()),
            (NEW, _("Create a new company")),
        ]
        contact_choices = [*((pk, str(c)) for pk, c in self.contacts.items())]
        if person:
            contact_choices.append((NEW, _("Create a new contact")))
        contact_choices.append((NONE, _("No contact")))
        self.fields["contact"].choices = contact_choices
        self.fields["company"].initial = next(iter(self.companies), NEW)
        self.fields["contact"].initial = next(iter(self.contacts), NEW if person else NONE)
        for name in ("opportunity_name", "amount", "expected_close_date"):
            self.fields[name].widget.attrs.setdefault("class", "form-control")
        bound_form_fields(self)

    def service_data(self) -> dict:
        data = self.cleaned_data
        return {
            "company": self.companies.get(data["company"]),
            "contact": self.contacts.get(data["contact"]),
            "create_contact": data["contact"] == NEW,
            "opportunity_name": data["opportunity_name"],
            "amount": data["amount"],
            "expected_close_date": data.get("expected_close_date"),
        }


class PublicLeadForm(Honeypot, forms.ModelForm):
    """The public form: only the fields the web form asks for, each bounded in length."""

    class Meta:
        model = Lead
        fields = [name for name, _label in WebForm.FIELD_CHOICES]
        widgets = {"notes": forms.Textarea(attrs={"rows": 4, "maxlength": WEB_FORM_MESSAGE_MAX})}

    # Who sent the visitor here (a campaign link's token, read by `leads.lead_origin`); kept
    # through the form's round trip, never shown.
    origin = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, web_form: WebForm, **kwargs):
        super().__init__(*args, **kwargs)
        wanted = [name for name in web_form.fields if name in self.fields] or ["family_name", "email"]
        required = set(web_form.required_fields or [])
        labels = dict(WebForm.FIELD_CHOICES)  # the visitor's words: "Message", not "notes"
        for name in list(self.fields):
            if name in (HONEYPOT, "origin"):
                continue
            if name not in wanted:
                del self.fields[name]
            else:
                # Consent is freely given or not at all: its box is never required.
                self.fields[name].required = name in required and name != "email_opt_in"
                self.fields[name].label = labels[name]
        self.order_fields([*wanted, HONEYPOT, "origin"])
        style_form(self)

    def clean_origin(self):
        origin = self.cleaned_data.get("origin", "")
        return origin if len(origin) <= 200 else ""  # not a token of ours: ignored, never an error

    def clean_notes(self):
        notes = self.cleaned_data.get("notes", "")
        if len(notes) > WEB_FORM_MESSAGE_MAX:
            raise forms.ValidationError(_("Keep the message under %(n)d characters.") % {"n": WEB_FORM_MESSAGE_MAX})
        return notes

    def clean(self):
        cleaned = super().clean()
        contact_fields = [f for f in ("email", "phone", "mobile") if f in self.fields]
        if contact_fields and not any(cleaned.get(f) for f in contact_fields):
            raise forms.ValidationError(_("Leave us a way to reach you."))
        return cleaned

    def lead_data(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k not in (HONEYPOT, "origin") and k in self.fields}
