from django import forms
from django.contrib.auth.models import Group
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm import roles
from crm.choices import cached_rows
from crm.forms import DateInput, DateTimeInput, RecordForm, style_form
from crm.lists import RecordFilterForm
from crm.models import Team, User
from crm.params import bound_form_fields
from crm.services import ShareLevel
from customers.extensions import list_filters
from customers.models import Company, Contact, GradeLevel, Interaction, Tag, Transaction
from customers.services import CONTACT_FIELDS


class CompanyFilterForm(RecordFilterForm):
    lifecycle = forms.ChoiceField(
        label=_("Lifecycle status"), choices=[("", "—"), *Company.Lifecycle.choices], required=False
    )
    grade = forms.ChoiceField(label=_("Grade"), required=False)
    industry = forms.CharField(label=_("Industry"), required=False, max_length=100)
    city = forms.CharField(label=_("City"), required=False, max_length=100)
    tag = forms.ModelChoiceField(label=_("Tag"), queryset=Tag.objects.all(), required=False)

    field_order = ["q", "owner", "team", "lifecycle", "grade", "industry", "city", "tag"]

    def extend(self):
        levels = cached_rows(GradeLevel.objects.order_by("code").values_list("code", "label"))
        self.fields["grade"].choices = [("", "—"), *levels]
        for extra in list_filters("company"):
            self.fields[extra.name] = extra.field()


class ContactFilterForm(RecordFilterForm):
    CONSENT = [("", "—"), ("opted_in", _("Agreed to marketing email")), ("unsubscribed", _("Unsubscribed"))]

    tag = forms.ModelChoiceField(label=_("Tag"), queryset=Tag.objects.all(), required=False)
    consent = forms.ChoiceField(label=_("Consent"), choices=CONSENT, required=False)

    field_order = ["q", "owner", "team", "tag", "consent"]


class CompanyForm(RecordForm):
    class Meta:
        model = Company
        fields = [
            "name",
            "legal_name",
            "industry",
            "size_band",
            "website",
            "phone",
            "tax_id",
            "country",
            "province",
            "city",
            "street",
            "postcode",
            "source",
            "lifecycle",
            "tags",
            "owner",
            "team",
        ]


class ContactForm(RecordForm):
    class Meta:
        model = Contact
        fields = [*(f for f in CONTACT_FIELDS if f != "external_id"), "tags", "owner", "team"]
        widgets = {"birthday": DateInput}

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("family_name") and not cleaned.get("given_name") and not cleaned.get("email"):
            raise forms.ValidationError(_("Give at least a name or an email address."))
        return cleaned


class InteractionForm(forms.ModelForm):
    KINDS = [
        (k, label)
        for k, label in Interaction.Kind.choices
        if k in (Interaction.Kind.NOTE, Interaction.Kind.CALL, Interaction.Kind.MEETING, Interaction.Kind.VISIT)
    ]

    kind = forms.ChoiceField(label=_("Type"), choices=KINDS)
    occurred_at = forms.DateTimeField(label=_("When"), required=False, widget=DateTimeInput)

    class Meta:
        model = Interaction
        fields = ["kind", "summary", "body", "occurred_at"]
        widgets = {"body": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bound_form_fields(self)
        style_form(self)

    def clean_occurred_at(self):
        return self.cleaned_data.get("occurred_at") or timezone.now()


class TransactionForm(forms.ModelForm):
    class Meta:
        model = Transaction
        fields = ["date", "amount", "currency", "reference", "description", "status"]
        widgets = {"date": DateInput}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["date"].initial = timezone.localdate
        bound_form_fields(self)
        style_form(self)


class TagActionForm(forms.Form):
    tag = forms.ModelChoiceField(label=_("Tag"), queryset=Tag.objects.all())

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        style_form(self, small=True)


class BulkShareForm(forms.Form):
    share_team = forms.ModelChoiceField(label=_("Share with team"), queryset=Team.objects.all(), required=False)
    share_role = forms.ModelChoiceField(
        label=_("Share with role"), queryset=Group.objects.filter(name__in=roles.ROLES), required=False
    )
    level = forms.ChoiceField(label=_("Access"), choices=ShareLevel.choices, initial=ShareLevel.VIEW)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        style_form(self, small=True)

    def clean(self):
        cleaned = super().clean()
        if bool(cleaned.get("share_team")) == bool(cleaned.get("share_role")):
            raise forms.ValidationError(_("Choose a team or a role to share with."))
        cleaned["recipient"] = cleaned["share_team"].group if cleaned.get("share_team") else cleaned["share_role"]
        return cleaned
