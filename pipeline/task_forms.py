"""Task forms. Related records travel as ids checked against what the user may see: a
dropdown of every visible company would not scale to millions of rows."""

from datetime import datetime, time, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.forms import style_form
from crm.permissions import restrict
from crm.selectors import assignable_owners
from customers.models import Company, Contact
from pipeline.models import Lead, Opportunity, Task


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


def default_due() -> datetime:
    """Tomorrow at nine, local time: a sensible default for a follow-up."""
    tomorrow = timezone.localdate() + timedelta(days=1)
    return timezone.make_aware(datetime.combine(tomorrow, time(9, 0)))


class TaskForm(forms.Form):
    kind = forms.ChoiceField(label=_("Type"), choices=Task.Kind.choices, initial=Task.Kind.TASK)
    title = forms.CharField(label=_("Title"), max_length=200)
    due_at = forms.DateTimeField(label=_("Due"), widget=DateTimeInput, input_formats=["%Y-%m-%dT%H:%M"])
    duration_minutes = forms.IntegerField(label=_("Duration (minutes)"), min_value=5, max_value=24 * 60, initial=30)
    owner = forms.ModelChoiceField(label=_("Assigned to"), queryset=None, required=False)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    company = forms.ModelChoiceField(queryset=None, required=False, widget=forms.HiddenInput)
    contact = forms.ModelChoiceField(queryset=None, required=False, widget=forms.HiddenInput)
    lead = forms.ModelChoiceField(queryset=None, required=False, widget=forms.HiddenInput)
    opportunity = forms.ModelChoiceField(queryset=None, required=False, widget=forms.HiddenInput)

    RELATED = {"company": Company, "contact": Contact, "lead": Lead, "opportunity": Opportunity}

    def __init__(self, *args, user, small: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["owner"].queryset = assignable_owners(user)
        self.fields["owner"].empty_label = _("Me")
        for name, model in self.RELATED.items():
            self.fields[name].queryset = restrict(model.objects.all(), user)
            self.fields[name].error_messages["invalid_choice"] = _("Choose a record you can see.")
        if not self.is_bound and "due_at" not in self.initial:
            self.initial["due_at"] = timezone.localtime(default_due())
        style_form(self, small=small)

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        if data.get("owner") is None:
            data.pop("owner", None)
        return data


class QuickTaskForm(TaskForm):
    """The short form on a detail page: title, type, due; the rest has defaults."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, small=True, **kwargs)
        for name in ("description", "duration_minutes", "owner"):
            del self.fields[name]
        self.fields["kind"].widget.attrs["class"] = "form-select form-select-sm"


class TaskCompleteForm(forms.Form):
    note = forms.CharField(
        label=_("Outcome"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
