from django import forms
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from crm import roles
from crm.audit import ACTION_CHOICES
from crm.models import Team, User
from crm.selectors import audited_content_types
from crm.services import ShareLevel


class ShareForm(forms.Form):
    """Share one record with a user, a team or a role."""

    user = forms.ModelChoiceField(
        label=_("User"), queryset=User.objects.filter(is_active=True).order_by("username"), required=False
    )
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.all(), required=False)
    role = forms.ModelChoiceField(
        label=_("Role"), queryset=Group.objects.filter(name__in=roles.ROLES).order_by("name"), required=False
    )
    level = forms.ChoiceField(label=_("Access"), choices=ShareLevel.choices, initial=ShareLevel.VIEW)

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
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["object_type"]
        field.queryset = audited_content_types()
        field.label_from_instance = _content_type_label
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
