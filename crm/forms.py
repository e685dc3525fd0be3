import datetime

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from crm import roles
from crm.audit import ACTION_CHOICES
from crm.choices import use_cached_choices
from crm.fields import EncryptedTextField
from crm.models import OwnedModel, Team, User
from crm.params import bound_form_fields
from crm.permissions import can, restrict
from crm.selectors import assignable_owners, assignable_teams, audited_content_types
from crm.services import ShareLevel
from crm.signin import check_sign_in_allowed

# --- Date inputs: ISO values in every language ---------------------------------------------------
#
# A browser's date and datetime-local inputs read and send only ISO values (2026-12-28,
# 2026-12-28T09:30), whatever the page's language. A localised value ("2026/12/28", Django's first
# Chinese input format) shows as an empty input, and saving the form then erases the date.
# Every date and datetime field of every form uses these two widgets (crm/tests/test_date_inputs.py
# walks the forms); the fields parse ISO in every language (Django adds the ISO input formats).

ISO_DATE = "%Y-%m-%d"
ISO_DATETIME = "%Y-%m-%dT%H:%M"


class DateInput(forms.DateInput):
    """A browser date picker; its value is ISO whatever the language."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format=ISO_DATE)


class DateTimeInput(forms.DateTimeInput):
    """A browser date-and-time picker (local time); its value is ISO whatever the language.

    Minutes are what people pick; seconds are kept when a stored time has them, so saving a form
    unchanged never moves the time."""

    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format=ISO_DATETIME)

    def format_value(self, value):
        if isinstance(value, datetime.datetime) and value.second:
            return value.strftime(f"{ISO_DATETIME}:%S")
        return super().format_value(value)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        if isinstance(value, datetime.datetime) and value.second:
            # The input's default step is a minute; a value with seconds would not validate.
            context["widget"]["attrs"].setdefault("step", "1")
        return context


class RoleChoiceField(forms.ModelChoiceField):
    """A choice of role groups, named in the user's language."""

    def label_from_instance(self, obj):
        return roles.role_label(obj.name)


class ShareForm(forms.Form):
    """Share one record with a user, a team or a role."""

    user = forms.ModelChoiceField(
        label=_("User"), queryset=User.objects.filter(is_active=True).order_by("username"), required=False
    )
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.all(), required=False)
    role = RoleChoiceField(
        label=_("Role"), queryset=Group.objects.filter(name__in=roles.ROLES).order_by("name"), required=False
    )
    level = forms.ChoiceField(label=_("Access"), choices=ShareLevel.choices, initial=ShareLevel.VIEW)

    assignment_choices = False  # any active user may receive a share, found through the picker

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        scope_form_fields(self, user)

    def clean(self):
        cleaned = super().clean()
        chosen = [name for name in ("user", "team", "role") if cleaned.get(name)]
        if len(chosen) != 1:
            raise forms.ValidationError(_("Choose exactly one user, team or role to share with."))
        return cleaned

    def recipient(self):
        data = self.cleaned_data
        if data.get("user"):
            return data["user"]
        if data.get("team"):
            return data["team"].group
        return data["role"]


class UnshareForm(forms.Form):
    kind = forms.ChoiceField(choices=[("user", "user"), ("group", "group")])
    recipient_id = forms.IntegerField(min_value=1)

    def recipient(self):
        model = User if self.cleaned_data["kind"] == "user" else Group
        return model.objects.filter(pk=self.cleaned_data["recipient_id"]).first()


class SignInForm(AuthenticationForm):
    """The sign-in form, which also refuses a right password from a network the user's roles
    may not sign in from (crm/signin.py), saying why."""

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        check_sign_in_allowed(user, self.request)


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["first_name", "last_name", "email", "language"]


def _content_type_label(content_type: ContentType) -> str:
    model = content_type.model_class()
    return capfirst(model._meta.verbose_name) if model else str(content_type)


class AuditFilterForm(forms.Form):
    """Filters of the audit page; every field is optional."""

    actor = forms.ModelChoiceField(label=_("User"), queryset=User.objects.order_by("username"), required=False)
    object_type = forms.ModelChoiceField(label=_("Object type"), queryset=ContentType.objects.none(), required=False)
    object_id = forms.IntegerField(label=_("Object id"), min_value=1, required=False)
    action = forms.ChoiceField(label=_("Action"), choices=[("", _("Any")), *ACTION_CHOICES], required=False)
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput)
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["object_type"]
        field.queryset = audited_content_types()
        field.label_from_instance = _content_type_label
        bound_form_fields(self)
        for bound in self.visible_fields():
            bound.field.widget.attrs.setdefault(
                "class", "form-select" if bound.name in ("actor", "object_type", "action") else "form-control"
            )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(_("The start date is after the end date."))
        return cleaned


def add_service_errors(form: forms.Form, error) -> None:
    """Show a service's refusal on the form: field errors on their fields, the rest on top."""
    from django.core.exceptions import PermissionDenied

    if isinstance(error, PermissionDenied):
        form.add_error(None, str(error) or _("You may not make this change."))
    elif hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


# --- The form kit: record forms scope their own choices -----------------------------------------


# Line breaks and other control characters have no place in a one-line value: they would end up
# in mail headers (a lead's name in a notification's subject), file names and exports.
_CONTROL_CHARACTERS = {*range(0x00, 0x20), 0x7F}


def refuse_control_characters(value) -> None:
    """Validator of one-line text: no line break, tab or other control character."""
    if isinstance(value, str) and any(ord(char) in _CONTROL_CHARACTERS for char in value):
        raise ValidationError(
            _("Line breaks and other control characters are not allowed here."), code="control_characters"
        )


def style_form(form: forms.Form, *, small: bool = False) -> None:
    """Bootstrap classes on every widget, so templates render fields without per-field markup,
    every one-line text field refuses control characters, and dropdowns of reference data come
    from memory (crm/choices.py)."""
    size = "-sm" if small else ""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(field, forms.CharField) and not isinstance(widget, forms.Textarea | forms.HiddenInput):
            field.validators.append(refuse_control_characters)
        if isinstance(widget, forms.HiddenInput | forms.MultipleHiddenInput):
            continue
        if isinstance(widget, forms.CheckboxInput | forms.RadioSelect | forms.CheckboxSelectMultiple):
            css = "form-check-input"  # radio and checkbox lists give it to each of their inputs
        elif isinstance(widget, forms.Select | forms.SelectMultiple):
            css = f"form-select form-select{size}" if size else "form-select"
        else:
            css = f"form-control form-control{size}" if size else "form-control"
        widget.attrs.setdefault("class", css)
        use_cached_choices(field)


def _picker(field: forms.ModelChoiceField, source: str, user):
    from crm.pickers import RecordPicker, has_source

    if has_source(source) and not isinstance(field, forms.ModelMultipleChoiceField):
        # With the user, the picker names the current value (if the user may see it).
        return RecordPicker(source=source, attrs=field.widget.attrs, user=user)
    return field.widget


def scope_form_fields(form: forms.Form, user, *, keep: dict | None = None) -> None:
    """Restrict every field that chooses a business record to what `user` may see (NetBox's
    `restrict_form_fields`) and render it as a scoped picker; owner and team fields offer whom
    the user may assign. `keep` maps field names to a current value that stays valid even when
    the user could not choose it (saving a record unchanged must not fail)."""
    keep = keep or {}
    assigning = getattr(form, "assignment_choices", True)
    for name, field in form.fields.items():
        if not isinstance(field, forms.ModelChoiceField):
            continue
        model = field.queryset.model
        current = keep.get(name)
        if issubclass(model, OwnedModel):
            queryset = restrict(field.queryset, user, "view")
            source = model._meta.label_lower
            field.error_messages["invalid_choice"] = _("No %(name)s you can see has that number.") % {
                "name": model._meta.verbose_name
            }
        elif model is User:
            if assigning and name in ("owner", "assignee"):
                queryset, source = assignable_owners(user), "crm.assignable_owner"
            else:
                queryset, source = User.objects.filter(is_active=True), "crm.user"
        elif model is Team:
            # Team names are no secret (the share dialog lists them all); filters offer every team.
            queryset = assignable_teams(user) if assigning else Team.objects.all()
            source = ""
        else:
            continue
        if current is not None:
            queryset = queryset | model._default_manager.filter(pk=current)
        field.queryset = queryset.distinct() if model in (User, Team) else queryset
        if source:
            field.widget = _picker(field, source, user)


class SecretInput(forms.TextInput):
    """An encrypted field's input: never renders a value, stored or typed; says whether one is stored."""

    def __init__(self, *, stored: bool = False, attrs=None):
        super().__init__(attrs)
        self.stored = stored

    def format_value(self, value):
        return None

    def get_context(self, name, value, attrs):
        context = super().get_context(name, None, attrs)
        if self.stored:
            context["widget"]["attrs"].setdefault("placeholder", _("•••••• stored — type a new value to replace it"))
        context["widget"]["attrs"]["autocomplete"] = "off"
        return context


class RecordForm(forms.ModelForm):
    """Base of every form that creates or edits an owned record.

    - Record-choosing fields are scoped and rendered as pickers (`scope_form_fields`).
    - Owner and team appear on a new record, and on an existing one only for a user who may
      assign it (its owner, their team's manager, an administrator): a share never grants that.
    - Encrypted fields never carry their decrypted value into the page: they show that a value is
      stored; left empty they keep it, a typed value replaces it, "remove" clears it. Revealing
      stays a separate, audited action.
    """

    def __init__(self, *args, user, small: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        instance = self.instance
        editing = instance.pk is not None
        if editing and not can(user, instance, "assign"):
            for name in ("owner", "team"):
                self.fields.pop(name, None)
        self.secret_fields = []
        for name in list(self.fields):
            model_field = _model_field_or_none(instance, name)
            if isinstance(model_field, EncryptedTextField):
                self._make_secret(name, stored=bool(editing and getattr(instance, name)))
        keep = {}
        if editing:
            for name, field in self.fields.items():
                if isinstance(field, forms.ModelChoiceField) and not isinstance(field, forms.ModelMultipleChoiceField):
                    keep[name] = getattr(instance, f"{name}_id", None)
        scope_form_fields(self, user, keep={k: v for k, v in keep.items() if v is not None})
        if not editing:
            if "owner" in self.fields:
                self.fields["owner"].initial = user.pk
                self.fields["owner"].required = False
            if "team" in self.fields and not self.initial.get("team"):
                first_team = self.fields["team"].queryset.order_by("name").first()
                self.fields["team"].initial = first_team.pk if first_team else None
        elif "owner" in self.fields:
            self.fields["owner"].required = False
        bound_form_fields(self)
        style_form(self, small=small)

    def _make_secret(self, name: str, *, stored: bool) -> None:
        field = self.fields[name]
        self.fields[name] = forms.CharField(
            label=field.label,
            required=False,
            max_length=getattr(field, "max_length", None),
            help_text=field.help_text,
            widget=SecretInput(stored=stored),
        )
        self.secret_fields.append(name)
        if stored:
            clear = forms.BooleanField(
                label=_("Remove the stored %(field)s") % {"field": field.label.lower() if field.label else name},
                required=False,
            )
            # Right after its field, so the page shows it next to the value it removes.
            fields = list(self.fields.items())
            at = [key for key, _field in fields].index(name) + 1
            self.fields = dict([*fields[:at], (f"{name}__clear", clear), *fields[at:]])
        self.initial.pop(name, None)

    def clean(self):
        cleaned = super().clean()
        for name in self.secret_fields:
            typed = (cleaned.get(name) or "").strip()
            if typed:
                cleaned[name] = typed
            elif cleaned.pop(f"{name}__clear", False):
                cleaned[name] = ""
            else:
                cleaned.pop(name, None)  # keep the stored value
            cleaned.pop(f"{name}__clear", None)
        return cleaned

    def service_data(self) -> dict:
        """What the service receives: the cleaned fields, without fields the form left out; an
        empty owner means "keep" (or "me", on a new record)."""
        data = dict(self.cleaned_data)
        if data.get("owner", False) is None:
            data.pop("owner")
        return data


def _model_field_or_none(instance, name: str):
    try:
        return instance._meta.get_field(name)
    except FieldDoesNotExist:  # a form-only field
        return None


class AssignOwnerForm(forms.Form):
    """The bulk "assign owner" action of every list."""

    owner = forms.ModelChoiceField(label=_("New owner"), queryset=User.objects.none())

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        scope_form_fields(self, user)
        style_form(self, small=True)
