from django import forms
from django.contrib.auth.models import Group
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm import roles
from crm.lists import FilterForm
from crm.models import Team, User
from crm.permissions import is_administrator, managed_team_ids
from crm.services import ShareLevel
from customers.extensions import list_filters
from customers.models import Company, Contact, GradeLevel, Interaction, Tag, Transaction
from customers.selectors import visible_companies


def _style(form: forms.Form, small: bool = False) -> None:
    """Bootstrap classes on every widget, so templates render fields without per-field markup."""
    size = "-sm" if small else ""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(widget, forms.Select | forms.SelectMultiple):
            css = f"form-select form-select{size}" if size else "form-select"
        else:
            css = f"form-control form-control{size}" if size else "form-control"
        widget.attrs.setdefault("class", css)


def assignable_teams(user: User):
    """Teams a user may put records in: their own and the ones they manage (all, for administrators)."""
    if is_administrator(user):
        return Team.objects.all()
    return Team.objects.filter(pk__in=[*user.memberships.values_list("team_id", flat=True), *managed_team_ids(user)])


def assignable_owners(user: User):
    """Owners a user may hand records to: themselves, or members of teams they manage."""
    if is_administrator(user):
        return User.objects.filter(is_active=True).order_by("username")
    return User.objects.filter(is_active=True).filter(pk=user.pk) | User.objects.filter(
        is_active=True, memberships__team_id__in=managed_team_ids(user)
    )


class DateInput(forms.DateInput):
    input_type = "date"


class CompanyFilterForm(FilterForm):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=User.objects.none(), required=False)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.all(), required=False)
    lifecycle = forms.ChoiceField(
        label=_("Lifecycle status"), choices=[("", "—"), *Company.Lifecycle.choices], required=False
    )
    grade = forms.ChoiceField(label=_("Grade"), required=False)
    industry = forms.CharField(label=_("Industry"), required=False, max_length=100)
    city = forms.CharField(label=_("City"), required=False, max_length=100)
    tag = forms.ModelChoiceField(label=_("Tag"), queryset=Tag.objects.all(), required=False)
    created_from = forms.DateField(label=_("Created from"), required=False, widget=DateInput)
    created_to = forms.DateField(label=_("Created to"), required=False, widget=DateInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = User.objects.filter(is_active=True).order_by("username")
        self.fields["grade"].choices = [("", "—"), *GradeLevel.objects.order_by("code").values_list("code", "label")]
        for extra in list_filters("company"):
            self.fields[extra.name] = extra.field()
        _style(self, small=True)


class ContactFilterForm(FilterForm):
    CONSENT = [("", "—"), ("opted_in", _("Agreed to marketing email")), ("unsubscribed", _("Unsubscribed"))]

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=User.objects.none(), required=False)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.all(), required=False)
    tag = forms.ModelChoiceField(label=_("Tag"), queryset=Tag.objects.all(), required=False)
    consent = forms.ChoiceField(label=_("Consent"), choices=CONSENT, required=False)
    created_from = forms.DateField(label=_("Created from"), required=False, widget=DateInput)
    created_to = forms.DateField(label=_("Created to"), required=False, widget=DateInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = User.objects.filter(is_active=True).order_by("username")
        _style(self, small=True)


class OwnedRecordForm(forms.ModelForm):
    """Owner and team choices limited to what the editing user may assign."""

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["owner"].queryset = assignable_owners(user).distinct()
        self.fields["owner"].required = False
        self.fields["team"].queryset = assignable_teams(user)
        if self.instance.pk is None:
            self.fields["owner"].initial = user.pk
            first_team = self.fields["team"].queryset.first()
            self.fields["team"].initial = first_team.pk if first_team else None
        _style(self)

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        if not data.get("owner"):
            data["owner"] = self.instance.owner if self.instance.pk else self.user
        return data


class CompanyForm(OwnedRecordForm):
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


class ContactForm(OwnedRecordForm):
    class Meta:
        model = Contact
        fields = [
            "family_name",
            "given_name",
            "title",
            "company",
            "email",
            "phone",
            "mobile",
            "birthday",
            "preferred_language",
            "email_opt_in",
            "email_opt_in_source",
            "unsubscribed",
            "tags",
            "owner",
            "team",
        ]
        widgets = {"birthday": DateInput}

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        # A contact can only be attached to a company the user may see (STYLE rule 15).
        self.fields["company"].queryset = visible_companies(user).order_by("name", "id")
        self.fields["company"].widget = forms.NumberInput(attrs={"class": "form-control"})
        self.fields["company"].help_text = _("The company's number, shown in its page address.")
        self.fields["company"].error_messages["invalid_choice"] = _("No company you can see has that number.")

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
    occurred_at = forms.DateTimeField(
        label=_("When"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    class Meta:
        model = Interaction
        fields = ["kind", "summary", "body", "occurred_at"]
        widgets = {"body": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self)

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
        _style(self)


class AssignOwnerForm(forms.Form):
    owner = forms.ModelChoiceField(label=_("New owner"), queryset=User.objects.none())

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = assignable_owners(user).distinct()
        _style(self, small=True)


class TagActionForm(forms.Form):
    tag = forms.ModelChoiceField(label=_("Tag"), queryset=Tag.objects.all())

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self, small=True)


class BulkShareForm(forms.Form):
    share_team = forms.ModelChoiceField(label=_("Share with team"), queryset=Team.objects.all(), required=False)
    share_role = forms.ModelChoiceField(
        label=_("Share with role"), queryset=Group.objects.filter(name__in=roles.ROLES), required=False
    )
    level = forms.ChoiceField(label=_("Access"), choices=ShareLevel.choices, initial=ShareLevel.VIEW)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self, small=True)

    def clean(self):
        cleaned = super().clean()
        if bool(cleaned.get("share_team")) == bool(cleaned.get("share_role")):
            raise forms.ValidationError(_("Choose a team or a role to share with."))
        cleaned["recipient"] = cleaned["share_team"].group if cleaned.get("share_team") else cleaned["share_role"]
        return cleaned
