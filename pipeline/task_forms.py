"""Task forms, on the form kit: related records are scoped pickers (ids checked against what the
user may see), never a dropdown of every visible company."""

from datetime import datetime, time, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.forms import DateTimeInput, RecordForm
from pipeline.models import Task


def default_due() -> datetime:
    """Tomorrow at nine, local time: a sensible default for a follow-up."""
    tomorrow = timezone.localdate() + timedelta(days=1)
    return timezone.make_aware(datetime.combine(tomorrow, time(9, 0)))


class TaskForm(RecordForm):
    """A task's form: related records are scoped pickers, the assignee one the user may assign."""

    due_at = forms.DateTimeField(label=_("Due"), widget=DateTimeInput)
    duration_minutes = forms.IntegerField(label=_("Duration (minutes)"), min_value=5, max_value=24 * 60, initial=30)

    RELATED = ("company", "contact", "lead", "opportunity")

    class Meta:
        model = Task
        fields = [
            "kind",
            "title",
            "due_at",
            "duration_minutes",
            "owner",
            "description",
            *("company", "contact", "lead", "opportunity"),
        ]
        labels = {"kind": _("Type"), "owner": _("Assigned to")}
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, user, small: bool = False, **kwargs):
        super().__init__(*args, user=user, small=small, **kwargs)
        for name in self.RELATED:
            self.fields[name].error_messages["invalid_choice"] = _("Choose a record you can see.")
        if not self.is_bound and self.instance.pk is None and "due_at" not in self.initial:
            self.initial["due_at"] = timezone.localtime(default_due())


class QuickTaskForm(TaskForm):
    """The short form on a detail page: title, type, due; the rest has defaults."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, small=True, **kwargs)
        for name in ("description", "duration_minutes", "owner"):
            del self.fields[name]
        for name in self.RELATED:  # the page it sits on is the related record
            self.fields[name].widget = forms.HiddenInput()
        self.fields["due_at"].widget.attrs["id"] = "quick-task-due"


class TaskCompleteForm(forms.Form):
    note = forms.CharField(
        label=_("Outcome"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
