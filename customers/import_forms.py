"""Forms of the import pages: upload, re-read with another encoding, map columns and options."""

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.forms import style_form
from crm.models import Team
from customers.importing.columns import fields_for
from customers.importing.kinds import all_kinds, get_kind
from customers.importing.reading import ENCODING_CHOICES
from customers.importing.service import MAX_UPLOAD_BYTES, may_import, teams_for, visible_mappings
from customers.models import ImportBatch

DELIMITER_CHOICES = (("", _("Detect")), (",", _("Comma")), (";", _("Semicolon")), ("\t", _("Tab")))
ACCEPT = ".csv,.txt,.tsv,.xlsx,.xlsm,.vcf,.vcard"


class UploadForm(forms.Form):
    target = forms.ChoiceField(label=_("Import"), choices=())
    file = forms.FileField(
        label=_("File"),
        help_text=_("CSV (any encoding, comma, semicolon or tab), Excel (XLSX) or vCard (contacts); up to 20 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
    )
    team = forms.ModelChoiceField(label=_("Team"), queryset=None, required=False)
    saved_mapping = forms.ModelChoiceField(label=_("Saved column mapping"), queryset=None, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        # The kinds come from the registry (other apps add theirs), so the model field keeps no list.
        self.fields["target"].choices = [(k.name, k.label) for k in all_kinds() if may_import(user, k.name)]
        teams = teams_for(user)
        self.fields["team"].queryset = Team.objects.filter(pk__in=[t.pk for t in teams])
        if teams:
            self.fields["team"].initial = teams[0].pk
        self.fields["saved_mapping"].queryset = visible_mappings(user)
        style_form(self)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 20 MB. Split it into smaller files."))
        return upload

    def clean(self):
        data = super().clean()
        mapping = data.get("saved_mapping")
        if mapping and data.get("target") and mapping.target != data["target"]:
            self.add_error("saved_mapping", _("That mapping is for another kind of import."))
        return data


class RereadForm(forms.Form):
    encoding = forms.ChoiceField(label=_("Encoding"), choices=ENCODING_CHOICES, required=False)
    delimiter = forms.ChoiceField(label=_("Delimiter"), choices=DELIMITER_CHOICES, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["encoding"].choices = [("", _("Detect")), *ENCODING_CHOICES[1:]]
        style_form(self)


class MappingForm(forms.Form):
    """One choice per column of the file, and how to treat rows matching existing records."""

    duplicates = forms.ChoiceField(
        label=_("When a row matches an existing record"),
        choices=ImportBatch.Duplicates.choices,
        widget=forms.RadioSelect,
        help_text=_(
            "Rows match by external ID, then email, then phone (contacts), or tax ID, then name and city (companies)."
        ),
    )
    company_policy = forms.ChoiceField(label=_("Company column"), choices=ImportBatch.CompanyPolicy.choices)
    date_order = forms.ChoiceField(
        label=_("Dates such as 03/04/2024"),
        choices=[
            ("mdy", _("Month first: 4 March 2024, as English exports write")),
            ("dmy", _("Day first: 3 April 2024")),
        ],
        help_text=_("Dates written 2024-03-04 or 2024年3月4日 are read the same either way."),
        required=False,
    )
    team = forms.ModelChoiceField(label=_("Team"), queryset=None, required=False)
    save_as = forms.CharField(label=_("Save this mapping as"), max_length=100, required=False)
    share = forms.BooleanField(label=_("Share the saved mapping with everyone"), required=False)

    def __init__(self, *args, batch: ImportBatch, user, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "duplicates": batch.duplicates,
                "company_policy": batch.company_policy,
                "date_order": batch.params.get("date_order", "mdy"),
                "team": batch.import_team_id,
                **{f"column_{i}": batch.mapping.get(str(i), "") for i in range(len(batch.headers))},
            },
        )
        super().__init__(*args, **kwargs)
        self.batch = batch
        choices = [("", _("— ignore —")), *((k, v) for k, v in fields_for(batch.target).items())]
        self.column_fields = []
        for index, header in enumerate(batch.headers):
            name = f"column_{index}"
            self.fields[name] = forms.ChoiceField(label=header, choices=choices, required=False)
            self.column_fields.append(name)
        self.fields["team"].queryset = Team.objects.filter(pk__in=[t.pk for t in teams_for(user)])
        kind = get_kind(batch.target)
        if kind.match_help:
            self.fields["duplicates"].help_text = kind.match_help
        if not kind.company_column:
            del self.fields["company_policy"]
        style_form(self)

    def columns(self):
        return [self[name] for name in self.column_fields]

    def mapping(self) -> dict[str, str]:
        return {name.removeprefix("column_"): self.cleaned_data.get(name) or "" for name in self.column_fields}
