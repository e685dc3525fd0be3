"""Second-factor pages under /accounts/ (crm/mfa_views.py)."""

from django.urls import path

from crm import mfa_views

urlpatterns = [
    path("two-factor/", mfa_views.security, name="mfa_settings"),
    path("two-factor/enrol/", mfa_views.enrol, name="mfa_enrol"),
    path("two-factor/verify/", mfa_views.verify, name="mfa_verify"),
    path("two-factor/recovery/", mfa_views.recovery, name="mfa_recovery"),
    path("two-factor/codes/", mfa_views.recovery_codes, name="mfa_codes"),
    path("two-factor/codes/new/", mfa_views.regenerate_codes, name="mfa_codes_regenerate"),
    path("two-factor/off/", mfa_views.turn_off, name="mfa_turn_off"),
]
