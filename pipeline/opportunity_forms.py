"""Forms of the opportunity pages and the board. Choices list only what the user may see."""

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.forms import DateInput, RecordForm, style_form
from crm.lists import FilterForm
from crm.models import Team, User
from pipeline.models import LostReason, Opportunity, Pipeline, Stage

CLOSE_PERIODS = [
    ("", "—"),
    ("overdue", _("Overdue")),
    ("this_month", _("This month")),
    ("next_month", _("Next month")),
    ("this_quarter", _("This quarter")),
    ("next_quarter", _("Next quarter")),
    ("this_year", _("This year")),
]


class OpportunityFilterForm(FilterForm):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    pipeline = forms.ModelChoiceField(label=_("Pipeline"), queryset=Pipeline.objects.all(), required=False)
    stage = forms.ModelChoiceField(label=_("Stage"), queryset=Stage.objects.select_related("pipeline"), required=False)
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=User.objects.none(), required=False)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.all(), required=False)
    close_from = forms.DateField(label=_("Closes from"), required=False, widget=DateInput)
    close_to = forms.DateField(label=_("Closes by"), required=False, widget=DateInput)
    amount_min = forms.DecimalField(label=_("Amount from"), required=False, min_value=0, decimal_places=2)
    amount_max = forms.DecimalField(label=_("Amount up to"), required=False, min_value=0, decimal_places=2)
    company = forms.IntegerField(label=_("Company number"), required=False, min_value=1)
    contact = forms.IntegerField(label=_("Contact number"), required=False, min_value=1)

    def extend(self):
        # Reached from a company or contact page; otherwise these filters only clutter the form.
        for name in ("company", "contact"):
            if not self.data.get(name):
                del self.fields[name]

    def clean(self):
        cleaned = super().clean()
        if self.data.get("sort", "").lstrip("-") == "expected_close_date":
            cleaned["with_close_date"] = True
        return cleaned


class BoardFilterForm(FilterForm):
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=User.objects.none(), required=False)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.all(), required=False)
    close = forms.ChoiceField(label=_("Closes"), choices=CLOSE_PERIODS, required=False)

    def filters(self) -> dict:
        if not self.is_bound or not self.is_valid():
            return {}
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}


class OpportunityForm(RecordForm):
    lost_reason = forms.ModelChoiceField(
        label=_("Lost reason"), queryset=LostReason.objects.filter(active=True), required=False
    )

    class Meta:
        model = Opportunity
        fields = [
            "name",
            "company",
            "contact",
            "pipeline",
            "stage",
            "amount",
            "currency",
            "expected_close_date",
            "probability",
            "next_step",
            "next_step_date",
            "owner",
            "team",
        ]
        widgets = {"expected_close_date": DateInput, "next_step_date": DateInput}

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.fields["pipeline"].queryset = Pipeline.objects.filter(active=True)
        self.fields["stage"].queryset = Stage.objects.select_related("pipeline").order_by("pipeline", "order", "pk")
        self.fields["stage"].required = False
        self.fields["stage"].help_text = _("Empty: the pipeline's first stage.")
        if self.instance.pk:
            self.fields["pipeline"].disabled = True
            self.fields["lost_reason"].initial = self.instance.lost_reason_id

    def clean(self):
        cleaned = super().clean()
        company, contact = cleaned.get("company"), cleaned.get("contact")
        if company and contact and contact.company_id != company.pk:
            self.add_error("contact", _("The contact must work at the opportunity's company."))
        pipeline = cleaned.get("pipeline") or (self.instance.pipeline if self.instance.pk else None)
        stage = cleaned.get("stage")
        if stage and pipeline and stage.pipeline_id != pipeline.pk:
            self.add_error("stage", _("That stage belongs to another pipeline."))
        if stage and stage.kind == Stage.Kind.LOST and not cleaned.get("lost_reason"):
            self.add_error("lost_reason", _("Choose why the deal was lost."))
        return cleaned

    def service_data(self) -> dict:
        data = super().service_data()
        if self.instance.pk:
            data.pop("pipeline", None)
            if not data.get("stage"):
                data.pop("stage", None)
        return data


class MoveForm(forms.Form):
    stage = forms.ModelChoiceField(label=_("Stage"), queryset=Stage.objects.select_related("pipeline"))
    lost_reason = forms.ModelChoiceField(
        label=_("Lost reason"), queryset=LostReason.objects.filter(active=True), required=False
    )


class WinForm(forms.Form):
    record_transaction = forms.BooleanField(
        label=_("Record the sale on the customer (a paid transaction for the amount)"), required=False, initial=True
    )
    reference = forms.CharField(label=_("Order reference"), max_length=100, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_form(self)


class LoseForm(forms.Form):
    lost_reason = forms.ModelChoiceField(label=_("Lost reason"), queryset=LostReason.objects.filter(active=True))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_form(self)


class BulkMoveForm(forms.Form):
    stage = forms.ModelChoiceField(label=_("Stage"), queryset=Stage.objects.select_related("pipeline"))
    lost_reason = forms.ModelChoiceField(
        label=_("Lost reason"), queryset=LostReason.objects.filter(active=True), required=False
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        style_form(self, small=True)

    def clean(self):
        cleaned = super().clean()
        stage = cleaned.get("stage")
        if stage and stage.kind == Stage.Kind.LOST and not cleaned.get("lost_reason"):
            raise forms.ValidationError(_("Choose why the deals were lost."))
        return cleaned
