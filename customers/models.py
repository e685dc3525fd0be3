from django.db import models
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from crm.fields import BlindIndexField, EncryptedCharField, normalize_phone, normalize_tax_id
from crm.models import OwnedModel


class Company(OwnedModel):
    """A customer organisation."""

    class Lifecycle(models.TextChoices):
        POTENTIAL = "potential", _("Potential")
        ACTIVE = "active", _("Active")
        KEY = "key", _("Key account")
        DORMANT = "dormant", _("Dormant")
        LOST = "lost", _("Lost")

    name = models.CharField(_("name"), max_length=200)
    legal_name = models.CharField(_("legal name"), max_length=200, blank=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    website = models.URLField(_("website"), blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    lifecycle = models.CharField(
        _("lifecycle status"), max_length=20, choices=Lifecycle.choices, default=Lifecycle.POTENTIAL
    )
    # Encrypted at rest; found by exact match through the blind index (see docs/encryption.md).
    phone = EncryptedCharField(
        _("phone"), max_length=40, blank=True, blind_index="phone_bidx", normalizer=normalize_phone
    )
    tax_id = EncryptedCharField(
        _("tax ID"), max_length=40, blank=True, blind_index="tax_id_bidx", normalizer=normalize_tax_id
    )
    phone_bidx = BlindIndexField()
    tax_id_bidx = BlindIndexField()

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        permissions = [
            ("reveal_sensitive", _("Can reveal sensitive fields")),
            ("export_records", _("Can export customer records")),
        ]
        indexes = [
            models.Index(fields=["owner", "id"], name="company_owner_id"),
            models.Index(fields=["team", "id"], name="company_team_id"),
            models.Index(fields=["name", "id"], name="company_name_id"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("customers:company_detail", args=[self.pk])


class CompanyUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Company, on_delete=models.CASCADE)


class CompanyGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Company, on_delete=models.CASCADE)
