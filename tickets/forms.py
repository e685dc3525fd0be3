"""Ticket forms on the form kit: customers are scoped pickers, the assignee one the user may assign."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.forms import RecordForm, scope_form_fields, style_form
from crm.lists import RecordFilterForm
from crm.models import User
from crm.pickers import record_source_model
from customers.models import Company, Contact
from tickets.models import RELATED_SOURCE, Category, Channel, Priority, Ticket, related_ref_for

Status = Ticket.Status


RELATED_FIELD = "related_opportunity"


class TicketForm(RecordForm):
    class Meta:
        model = Ticket
        fields = [
            "subject",
            "description",
            "company",
            "contact",
            "channel",
            "category",
            "priority",
            "language",
            "owner",
            "team",
            "tags",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 5})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.fields["category"].queryset = Category.objects.filter(active=True)
        self.fields["priority"].queryset = Priority.objects.filter(active=True)
        if not self.is_bound and self.instance.pk is None:
            default = Priority.objects.filter(active=True, is_default=True).first()
            self.initial.setdefault("priority", default.pk if default else None)
        if self.instance.pk is None:
            # Empty: the assignment rules choose the team and the agent on shift.
            for name in ("owner", "team"):
                if name in self.fields:
                    self.fields[name].initial = None
                    self.fields[name].required = False
                    self.fields[name].help_text = _("Empty: the assignment rules decide.")
        for name in ("company", "contact"):
            self.fields[name].error_messages["invalid_choice"] = _("Choose a record you can see.")
        self._add_related_opportunity(user, small=kwargs.get("small", False))

    def _add_related_opportunity(self, user, *, small: bool) -> None:
        """The deal the ticket is about, when the pipeline module registered its deals as a pick
        source: a scoped picker over the deals the user may see, after the requester. The deal
        already stored stays valid (`keep`) even when this editor no longer sees it."""
        model = record_source_model(RELATED_SOURCE)
        if model is None:
            return
        field = forms.ModelChoiceField(
            label=_("Related opportunity"),
            queryset=model._default_manager.all(),
            required=False,
            help_text=_("A deal in progress this request is about."),
        )
        # Scoped and styled on its own: the fields RecordForm scoped already keep their values.
        holder = forms.Form()
        holder.fields[RELATED_FIELD] = field
        stored = self.instance.related_pk if self.instance.pk is not None else None
        if stored and not model._default_manager.filter(pk=stored).exists():
            stored = None  # the deal was deleted: the field shows empty and saving clears the reference
        scope_form_fields(holder, user, keep={RELATED_FIELD: stored} if stored else None)
        style_form(holder, small=small)
        fields = list(self.fields.items())
        at = next((i + 1 for i, (name, _field) in enumerate(fields) if name == "contact"), len(fields))
        self.fields = dict([*fields[:at], (RELATED_FIELD, field), *fields[at:]])
        if stored:
            self.initial.setdefault(RELATED_FIELD, stored)

    def service_data(self) -> dict:
        data = super().service_data()
        if RELATED_FIELD in data:
            deal = data.pop(RELATED_FIELD)
            data["related_ref"] = related_ref_for(deal.pk if deal is not None else None)
        return data

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None and not (cleaned.get("company") or cleaned.get("contact")):
            self.add_error("contact", _("Choose the customer who asked: a contact, a company or both."))
        return cleaned


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one input (Django's documented pattern); each cleaned on its own."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


class ReplyForm(forms.Form):
    """The box under a ticket's conversation: a public reply or an internal note, and a status."""

    body = forms.CharField(label=_("Message"), max_length=20000, widget=forms.Textarea(attrs={"rows": 5}))
    public = forms.TypedChoiceField(
        label=_("Send as"),
        choices=[("1", _("Public reply (e-mailed to the requester)")), ("0", _("Internal note (staff only)"))],
        coerce=lambda value: value == "1",
        initial="1",
        widget=forms.RadioSelect,
    )
    status = forms.ChoiceField(label=_("Then set the status to"), required=False)
    files = MultipleFileField(label=_("Attach files"), required=False)

    def __init__(self, *args, ticket: Ticket, **kwargs):
        super().__init__(*args, **kwargs)
        from tickets.services import TRANSITIONS

        allowed = TRANSITIONS[Status(ticket.status)]
        self.fields["status"].choices = [("", _("Keep %(status)s") % {"status": ticket.get_status_display()})] + [
            (value, label) for value, label in Status.choices if value in allowed
        ]
        if not ticket.contact_id:
            self.fields["public"].initial = "0"
        style_form(self)

    def clean_files(self):
        from tickets.attachments import attachment_limit

        files = self.cleaned_data.get("files") or []
        if len(files) > 10:
            raise forms.ValidationError(_("Attach at most 10 files."))
        for upload in files:
            if upload.size > attachment_limit():
                raise forms.ValidationError(
                    _("%(name)s is larger than %(size)d MB.")
                    % {"name": upload.name, "size": attachment_limit() // (1024 * 1024)}
                )
        return files

    def file_contents(self) -> list[tuple[str, bytes]]:
        return [(upload.name, upload.read()) for upload in self.cleaned_data.get("files") or []]


class MergeForm(forms.Form):
    into = forms.ModelChoiceField(label=_("Merge into"), queryset=Ticket.objects.none())

    def __init__(self, *args, ticket: Ticket, user, **kwargs):
        super().__init__(*args, **kwargs)
        from tickets.selectors import merge_candidates

        self.fields["into"].queryset = merge_candidates(ticket=ticket, user=user)
        self.fields["into"].label_from_instance = lambda t: f"{t.number} {t.subject}"
        style_form(self, small=True)


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=Status.choices)


class AssignForm(forms.Form):
    """The bulk "assign" action: to an agent, or back to the unassigned queue."""

    owner = forms.ModelChoiceField(
        label=_("Assignee"), queryset=User.objects.none(), required=False, empty_label=_("Nobody (unassigned)")
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        from crm.forms import scope_form_fields

        scope_form_fields(self, user)
        style_form(self, small=True)


class BulkStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"), choices=Status.choices)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        style_form(self, small=True)


class BulkPriorityForm(forms.Form):
    priority = forms.ModelChoiceField(label=_("New priority"), queryset=Priority.objects.filter(active=True))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        style_form(self, small=True)


class WatcherForm(forms.Form):
    """Add a watcher: someone the user could assign the ticket to, through the assignee's picker."""

    person = forms.ModelChoiceField(label=_("Add a watcher"), queryset=User.objects.none())

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        from crm.pickers import RecordPicker
        from crm.selectors import assignable_owners

        field = self.fields["person"]
        field.queryset = assignable_owners(user)
        field.error_messages["invalid_choice"] = _("Choose someone you could assign tickets to.")
        field.widget = RecordPicker(source="crm.assignable_owner", user=user)
        style_form(self, small=True)


class UnwatchForm(forms.Form):
    """Take a watcher off the ticket: one of its watchers."""

    person = forms.ModelChoiceField(label=_("Watcher"), queryset=User.objects.none())

    def __init__(self, *args, ticket: Ticket, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = ticket.watchers.all()
        self.fields["person"].error_messages["invalid_choice"] = _("That person does not watch this ticket.")


QUEUES = {
    "mine": _("My tickets"),
    "team": _("My teams"),
    "watching": pgettext_lazy("ticket queue", "Watching"),
    "unassigned": _("Unassigned"),
    "breaching": _("Breaching soon"),
    "pending": pgettext_lazy("ticket queue", "Pending"),
}


class TicketFilterForm(RecordFilterForm):
    queue = forms.ChoiceField(label=_("Queue"), required=False, choices=[("", _("All I may see")), *QUEUES.items()])
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", "—"), *Status.choices])
    priority = forms.ModelChoiceField(
        label=_("Priority"), queryset=Priority.objects.all(), required=False, empty_label="—"
    )
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=Category.objects.all(), required=False, empty_label="—"
    )
    channel = forms.ChoiceField(label=_("Channel"), required=False, choices=[("", "—"), *Channel.choices])
    company = forms.ModelChoiceField(label=_("Company"), queryset=Company.objects.all(), required=False)
    contact = forms.ModelChoiceField(label=_("Requester"), queryset=Contact.objects.all(), required=False)

    field_order = ["queue", "q", "status", "priority", "category", "channel", "owner", "team", "company", "contact"]

    def extend(self):
        self.fields["owner"].label = _("Assignee")
        # The tickets about one deal: a drill-down from the deal page's panel, so offered only when
        # the link asks for it (scoping the field reads the viewer's shared deals, ~10 ms of every
        # list view otherwise); scoped like the customers, and backed by the `ticket_related` index.
        model = record_source_model(RELATED_SOURCE)
        if model is not None and self.data.get("related"):
            self.fields["related"] = forms.ModelChoiceField(
                label=_("Related opportunity"), queryset=model._default_manager.all(), required=False
            )
