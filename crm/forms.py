from django import forms
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _

from crm import roles
from crm.models import Team, User
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
