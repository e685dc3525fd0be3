"""A second factor at sign-in: TOTP authenticator apps (django-otp) and one-time recovery codes.

A user must use a second factor when one of their roles requires it (RoleSecurity.require_mfa)
or when they have set one up themselves. Until their session is verified, SecondFactorMiddleware
sends them to the verification page (or to enrolment when their role requires a factor they do
not have yet), for every address but those pages, signing out, static files and health checks:
the admin site included.

Whether a user must use a second factor is asked on every request of a session not verified, so
the answer is kept in the cache (no query per page). It is forgotten when the user's roles or
devices change, and all answers at once when a role's rule changes; STATE_TIMEOUT bounds how
long a change made while the cache was away can go unseen.
"""

from __future__ import annotations

import math
import secrets
from base64 import b32encode
from datetime import timedelta
from urllib.parse import quote, urlencode

import django_otp
import qrcode
from django.conf import settings
from django.contrib import admin, messages
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from django.http import HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django_htmx.http import HttpResponseClientRedirect
from django_otp.plugins.otp_totp.models import TOTPDevice

from crm.audit import EVENT_MFA_ENROLLED, EVENT_MFA_FAILED, EVENT_MFA_RESET, log_event
from crm.cache import bump, forget_for_members, forget_for_owner, forget_user, now_and_after_commit, per_user
from crm.models import RecoveryCode, RoleSecurity, User
from crm.network import client_address

RECOVERY_CODE_COUNT = 10
# 12 characters of 31 (no 0/o, 1/l/i to misread): about 59 bits, beyond guessing even unthrottled.
RECOVERY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
RECOVERY_CODE_LENGTH = 12
NEW_CODES_SESSION_KEY = "_crm_mfa_new_codes"
REMEMBER_COOKIE = "crm_mfa_browser"
REMEMBER_DAYS = 30
DEVICE_NAME = "Authenticator app"

# What a signed-in user still has to do.
STATE_NONE = "none"  # no second factor needed
STATE_ENROL = "enrol"  # a role requires one, and the user has none yet
STATE_VERIFY = "verify"  # the user has one: this session must be verified with it
STATE_TIMEOUT = 5 * 60
_POLICY_KEY = "mfa:policy"
_STATE_NAME = "mfa:state"


# --- Who must use a second factor ------------------------------------------------------------------


def role_requires_mfa(user: User) -> bool:
    """True when one of the user's roles requires a second factor."""
    return RoleSecurity.objects.filter(role__user=user, require_mfa=True).exists()


def confirmed_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("-pk").first()


def _state_from_database(user: User) -> str:
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return STATE_VERIFY
    return STATE_ENROL if role_requires_mfa(user) else STATE_NONE


def second_factor_state(user: User) -> str:
    """STATE_NONE, STATE_ENROL or STATE_VERIFY for a signed-in user, from the cache when it knows."""
    return per_user(
        user, _STATE_NAME, lambda: _state_from_database(user), generation=_POLICY_KEY, timeout=STATE_TIMEOUT
    )


def must_use_second_factor(user: User) -> bool:
    return second_factor_state(user) != STATE_NONE


def _forget_users(users) -> None:
    forget_user(users, _STATE_NAME)


def _forget_all() -> None:
    bump(_POLICY_KEY)


@receiver(post_save, sender=RoleSecurity, dispatch_uid="crm_mfa_role_rule_saved")
@receiver(post_delete, sender=RoleSecurity, dispatch_uid="crm_mfa_role_rule_deleted")
def _role_rule_changed(sender, **kwargs):
    now_and_after_commit(_forget_all)


@receiver(post_save, sender=TOTPDevice, dispatch_uid="crm_mfa_device_saved")
@receiver(post_delete, sender=TOTPDevice, dispatch_uid="crm_mfa_device_deleted")
def _device_changed(sender, instance, **kwargs):
    forget_for_owner(instance, _forget_users)


@receiver(m2m_changed, sender=User.groups.through, dispatch_uid="crm_mfa_roles_changed")
def _roles_changed(sender, instance, action, reverse, pk_set, **kwargs):
    forget_for_members(instance, action, reverse, pk_set, forget_users=_forget_users, forget_all=_forget_all)


# --- Enrolment --------------------------------------------------------------------------------------


def pending_device(user: User) -> TOTPDevice:
    """The device being set up (unconfirmed until its first code), the same one on every visit."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def secret_key(device: TOTPDevice) -> str:
    """The device's key as an authenticator app takes it when typed in: base32, in groups of 4."""
    key = b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


def provisioning_uri(device: TOTPDevice) -> str:
    """The otpauth:// address the QR code holds (Google's Key Uri Format)."""
    issuer = (getattr(settings, "OTP_TOTP_ISSUER", "") or "CRM").replace(":", "")
    label = f"{issuer}:{device.user.get_username()}"
    params = urlencode(
        {
            "secret": b32encode(device.bin_key).decode("ascii").rstrip("="),
            "algorithm": "SHA1",
            "digits": device.digits,
            "period": device.step,
        }
    )
    return f"otpauth://totp/{quote(label)}?{params}&issuer={quote(issuer)}"


def qr_code_svg(data: str, *, pixels: int = 180) -> str:
    """`data` as an inline SVG QR code (no image request, no script, no outside service).

    Drawn from the code's matrix as one path of integers through format_html: nothing of
    `data` (which holds the username) reaches the markup, and nothing is marked safe by hand."""
    code = qrcode.QRCode(border=4, box_size=1)
    code.add_data(data)
    code.make(fit=True)
    matrix = code.get_matrix()
    path = "".join(f"M{x} {y}h1v1h-1z" for y, row in enumerate(matrix) for x, dark in enumerate(row) if dark)
    size = len(matrix)
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" width="{}" height="{}" aria-hidden="true" '
        'focusable="false" shape-rendering="crispEdges"><path d="{}" fill="#000"/></svg>',
        size,
        size,
        pixels,  # drawn at a fixed size that fits a phone; the viewBox scales the modules
        pixels,
        path,
    )


def _throttled_message(info: dict | None) -> str:
    locked_until = (info or {}).get("locked_until")
    seconds = max(1, math.ceil((locked_until - timezone.now()).total_seconds())) if locked_until else 1
    return ngettext(
        "Too many wrong codes. Wait %(seconds)d second and try again.",
        "Too many wrong codes. Wait %(seconds)d seconds and try again.",
        seconds,
    ) % {"seconds": seconds}


def _check_token(*, device: TOTPDevice, token: str, request) -> None:
    """Verify `token` against `device` under django-otp's throttling; raise ValidationError if wrong.

    The verdict is taken inside the transaction and acted on after it, so a wrong code's throttle
    count is committed, not rolled back with the error.
    """
    with transaction.atomic():
        locked = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        allowed, info = locked.verify_is_allowed()
        accepted = allowed and locked.verify_token(token)
    if not allowed:
        raise ValidationError(_throttled_message(info), code="throttled")
    if not accepted:
        log_event(device.user, actor=device.user, event=EVENT_MFA_FAILED, remote_addr=client_address(request))
        raise ValidationError(
            _("That code is not right. Enter the code your authenticator app shows now."), code="wrong"
        )
    device.refresh_from_db()


def mfa_enrol_confirm(*, request, token: str) -> list[str]:
    """Confirm the device being set up with its first code; replaces any earlier device and returns
    new recovery codes (shown once). Marks the session verified."""
    user = request.user
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        raise ValidationError(_("The setup expired. Scan the new code and try again."), code="expired")
    _check_token(device=device, token=token, request=request)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _replace_recovery_codes(user)
        log_event(user, actor=user, event=EVENT_MFA_ENROLLED, remote_addr=client_address(request))
    django_otp.login(request, device)
    return codes


# --- Verification at sign-in ------------------------------------------------------------------------


def mfa_verify(*, request, token: str) -> TOTPDevice:
    """Check the code of the user's authenticator app and mark the session verified."""
    device = confirmed_device(request.user)
    if device is None:
        raise ValidationError(_("You have not set up a second factor."), code="no_device")
    _check_token(device=device, token=token, request=request)
    django_otp.login(request, device)
    return device


def normalise_recovery_code(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def _recovery_hashes(user: User, code: str) -> list[str]:
    """The code's keyed hash under the current secret key and every fallback (key rotation)."""
    value = f"{user.pk}:{normalise_recovery_code(code)}"
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [salted_hmac("crm.mfa.recovery-code", value, secret=key, algorithm="sha256").hexdigest() for key in keys]


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, RECOVERY_CODE_LENGTH, 4))


def _replace_recovery_codes(user: User) -> list[str]:
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    RecoveryCode.objects.filter(user=user).delete()
    RecoveryCode.objects.bulk_create(RecoveryCode(user=user, code_hash=_recovery_hashes(user, c)[0]) for c in codes)
    return codes


def recovery_codes_left(user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


@transaction.atomic
def recovery_codes_regenerate(*, user: User) -> list[str]:
    """Ten new recovery codes in place of the old ones (used or not); only their hashes are kept."""
    if confirmed_device(user) is None:
        raise ValidationError(_("Set up an authenticator app first."), code="no_device")
    return _replace_recovery_codes(user)


def mfa_verify_recovery_code(*, request, code: str) -> int:
    """Spend one recovery code in place of the app's code and mark the session verified; returns
    how many codes are left. Wrong codes count towards the device's throttling."""
    user = request.user
    device = confirmed_device(user)
    if device is None:
        raise ValidationError(_("You have not set up a second factor."), code="no_device")
    with transaction.atomic():
        locked = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        allowed, info = locked.verify_is_allowed()
        used = None
        if allowed:
            used = (
                RecoveryCode.objects.filter(user=user, code_hash__in=_recovery_hashes(user, code), used_at__isnull=True)
                .order_by("pk")
                .first()
            )
            if used is None:
                locked.throttle_increment(commit=True)
            else:
                RecoveryCode.objects.filter(pk=used.pk).update(used_at=timezone.now())
                locked.throttle_reset(commit=False)
                locked.set_last_used_timestamp(commit=False)
                locked.save()
    if not allowed:
        raise ValidationError(_throttled_message(info), code="throttled")
    if used is None:
        log_event(user, actor=user, event=EVENT_MFA_FAILED, remote_addr=client_address(request))
        raise ValidationError(_("That recovery code is not valid, or it was used already."), code="wrong")
    django_otp.login(request, locked)
    return recovery_codes_left(user)


# --- Turning off and resetting ----------------------------------------------------------------------


@transaction.atomic
def mfa_reset(*, user: User, actor: User, request=None) -> bool:
    """Remove the user's authenticator apps and recovery codes (remembered browsers stop working
    too); returns False when there was nothing to remove."""
    devices, _counts = TOTPDevice.objects.filter(user=user).delete()
    codes, _counts = RecoveryCode.objects.filter(user=user).delete()
    if not devices and not codes:
        return False
    log_event(user, actor=actor, event=EVENT_MFA_RESET, remote_addr=client_address(request))
    return True


def mfa_turn_off(*, request, token: str) -> None:
    """The user turns their own second factor off, with a current code; not when a role requires it."""
    user = request.user
    if role_requires_mfa(user):
        raise ValidationError(_("Your role requires a second factor, so it cannot be turned off."), code="required")
    device = confirmed_device(user)
    if device is None:
        raise ValidationError(_("You have not set up a second factor."), code="no_device")
    _check_token(device=device, token=token, request=request)
    mfa_reset(user=user, actor=user, request=request)


@admin.action(description=gettext_lazy("Reset second factor"), permissions=["change"])
def reset_second_factor_action(modeladmin, request, queryset):
    """Admin action on users: the same reset a user gets by turning their second factor off."""
    reset = sum(mfa_reset(user=user, actor=request.user, request=request) for user in queryset)
    modeladmin.message_user(
        request,
        ngettext(
            "Second factor reset for %(count)d user. They set it up again at their next sign-in.",
            "Second factor reset for %(count)d users. They set it up again at their next sign-in.",
            reset,
        )
        % {"count": reset},
        messages.SUCCESS if reset else messages.INFO,
    )


# --- Remembered browsers ----------------------------------------------------------------------------


def _device_fingerprint(device: TOTPDevice) -> str:
    return salted_hmac("crm.mfa.remembered-device", f"{device.pk}:{device.key}", algorithm="sha256").hexdigest()[:32]


def remember_browser(response, *, user: User, device: TOTPDevice) -> None:
    """Let this browser skip the code for REMEMBER_DAYS: a signed cookie bound to the user and
    their device, so a reset or a new device ends it."""
    value = signing.dumps({"u": user.pk, "d": device.pk, "k": _device_fingerprint(device)}, salt=REMEMBER_COOKIE)
    response.set_cookie(
        REMEMBER_COOKIE,
        value,
        max_age=REMEMBER_DAYS * 24 * 60 * 60,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def forget_browser(response) -> None:
    response.delete_cookie(REMEMBER_COOKIE, samesite="Lax")


def remembered_device(request, user: User) -> TOTPDevice | None:
    """The user's device this browser was remembered for, if the cookie is still good."""
    raw = request.COOKIES.get(REMEMBER_COOKIE)
    if not raw:
        return None
    try:
        data = signing.loads(raw, salt=REMEMBER_COOKIE, max_age=timedelta(days=REMEMBER_DAYS))
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("u") != user.pk or not isinstance(data.get("d"), int):
        return None
    device = TOTPDevice.objects.filter(pk=data["d"], user=user, confirmed=True).first()
    if device is None or not constant_time_compare(str(data.get("k", "")), _device_fingerprint(device)):
        return None
    return device


# --- Enforcement ------------------------------------------------------------------------------------


def _exempt(path: str) -> bool:
    prefix = get_script_prefix()
    exact = (reverse("healthz"),)
    under = (
        reverse("mfa_verify"),
        reverse("mfa_enrol"),
        reverse("mfa_recovery"),
        reverse("logout"),
        settings.STATIC_URL,
        f"{prefix}i18n/",
        f"{prefix}jsi18n/",
    )
    return path in exact or path.startswith(under)


class SecondFactorMiddleware:
    """Send a signed-in user who must use a second factor, and whose session is not verified yet,
    to verification (or enrolment) before any other page, the admin site included.

    After OTPMiddleware (request.user.is_verified) and HtmxMiddleware (htmx requests get an
    HX-Redirect, which reloads the whole page, not a fragment)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _exempt(request.path):
            return self.get_response(request)
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        is_verified = getattr(user, "is_verified", None)
        if is_verified is not None and is_verified():
            return self.get_response(request)
        state = second_factor_state(user)
        if state == STATE_VERIFY and (device := remembered_device(request, user)) is not None:
            django_otp.login(request, device)
            state = STATE_NONE
        if state == STATE_NONE:
            return self.get_response(request)
        return self._send_to(request, "mfa_enrol" if state == STATE_ENROL else "mfa_verify")

    @staticmethod
    def _send_to(request, url_name: str):
        htmx = getattr(request, "htmx", None)
        home = resolve_url(settings.LOGIN_REDIRECT_URL)
        # Come back to the page, not to the fragment htmx asked for, nor to a form's POST address.
        if htmx:
            back_to = htmx.current_url_abs_path or home
        elif request.method in ("GET", "HEAD"):
            back_to = request.get_full_path()
        else:
            back_to = home
        url = reverse(url_name)
        if back_to != home:
            url = f"{url}?{urlencode({'next': back_to})}"
        if htmx:
            return HttpResponseClientRedirect(url)
        return HttpResponseRedirect(url)
