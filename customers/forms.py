from django import forms
from django.utils.translation import gettext_lazy as _

from crm.lists import FilterForm
from crm.models import Team, User
from customers.models import Company


class CompanyFilterForm(FilterForm):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=User.objects.none(), required=False)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.all(), required=False)
    lifecycle = forms.ChoiceField(
        label=_("Lifecycle status"), choices=[("", "—"), *Company.Lifecycle.choices], required=False
    )
    city = forms.CharField(label=_("City"), required=False, max_length=100)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = User.objects.filter(is_active=True).order_by("username")
        for field in self.fields.values():
            select = isinstance(field.widget, forms.Select)
            css = "form-select form-select-sm" if select else "form-control form-control-sm"
            field.widget.attrs.setdefault("class", css)
