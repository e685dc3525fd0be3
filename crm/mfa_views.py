"""Second-factor pages: setting up an authenticator app, entering its code (or a recovery code) at
sign-in, recovery codes, and turning it off. The rules live in crm/mfa.py."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from crm import mfa
from crm.forms import style_form
from crm.lists import safe_next

# --- Forms ------------------------------------------------------------------------------------------


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code from your authenticator app"),
        max_length=20,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autocapitalize": "none",
                "spellcheck": "false",
                "autofocus": True,
            }
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_form(self)

    def clean_code(self):
        code = re.sub(r"[\s-]", "", self.cleaned_data["code"])
        if not re.fullmatch(r"\d{6}", code):
            raise ValidationError(_("Enter the 6 digits your authenticator app shows."))
        return code


class VerifyForm(CodeForm):
    remember = forms.BooleanField(
        label=gettext_lazy("Remember this browser for 30 days"),
        required=False,
        help_text=gettext_lazy("Only on a computer nobody else uses."),
    )


class RecoveryForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Recovery code"),
        max_length=40,
        help_text=gettext_lazy("One of the codes you saved when you set up the app, e.g. abcd-efgh-jkmn."),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false", "autofocus": True}
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_form(self)


def _mark_invalid(form: forms.Form) -> None:
    """Bootstrap's invalid state on fields with errors (Django ties them to their message with
    aria-describedby: ids `<id>_error` and `<id>_helptext`, which registration/mfa_field.html uses)."""
    for name in form.errors:
        if name in form.fields:
            widget = form.fields[name].widget
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()


# --- Helpers ----------------------------------------------------------------------------------------


def _home() -> str:
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _with_next(url_name: str, next_url: str) -> str:
    url = reverse(url_name)
    return f"{url}?{urlencode({'next': next_url})}" if next_url and next_url != _home() else url


def _sign_in_step(request, template: str, context: dict):
    """A page of the sign-in itself: no navigation, since nothing else opens until it is done."""
    return render(request, template, {"navigation": None, **context})


# --- Pages ------------------------------------------------------------------------------------------


@never_cache
@login_required
def verify(request):
    next_url = safe_next(request, _home())
    user = request.user
    if user.is_verified():
        return redirect(next_url)
    state = mfa.second_factor_state(user)
    if state == mfa.STATE_ENROL:
        return redirect(_with_next("mfa_enrol", next_url))
    if state == mfa.STATE_NONE:
        return redirect(next_url)
    form = VerifyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = mfa.mfa_verify(request=request, token=form.cleaned_data["code"])
        except ValidationError as error:
            form.add_error("code", error)
        else:
            response = redirect(next_url)
            if form.cleaned_data["remember"]:
                mfa.remember_browser(response, user=user, device=device)
            return response
    _mark_invalid(form)
    return _sign_in_step(request, "registration/mfa_verify.html", {"form": form, "next": next_url})


@never_cache
@login_required
def recovery(request):
    next_url = safe_next(request, _home())
    user = request.user
    if user.is_verified() or mfa.second_factor_state(user) != mfa.STATE_VERIFY:
        return redirect(_with_next("mfa_verify", next_url))
    form = RecoveryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            left = mfa.mfa_verify_recovery_code(request=request, code=form.cleaned_data["code"])
        except ValidationError as error:
            form.add_error("code", error)
        else:
            if left:
                text = ngettext(
                    "You have %(count)d recovery code left.", "You have %(count)d recovery codes left.", left
                ) % {"count": left}
                messages.warning(request, text)
            else:
                messages.warning(request, _("That was your last recovery code. Make new ones now."))
                return redirect(_with_next("mfa_settings", next_url))
            return redirect(next_url)
    _mark_invalid(form)
    return _sign_in_step(request, "registration/mfa_recovery.html", {"form": form, "next": next_url})


@never_cache
@login_required
def enrol(request):
    next_url = safe_next(request, _home())
    user = request.user
    if not user.is_verified() and mfa.confirmed_device(user) is not None:
        # Replacing an app needs the current one first.
        return redirect(_with_next("mfa_verify", next_url))
    form = CodeForm(request.POST or None)
    form.fields["code"].widget.attrs.pop("autofocus", None)  # the steps above come first
    if request.method == "POST" and form.is_valid():
        try:
            codes = mfa.mfa_enrol_confirm(request=request, token=form.cleaned_data["code"])
        except ValidationError as error:
            form.add_error("code", error)
        else:
            request.session[mfa.NEW_CODES_SESSION_KEY] = codes
            messages.success(request, _("Your authenticator app is set up."))
            # The codes page's "Continue" goes on to where the sign-in was heading.
            return redirect(f"{reverse('mfa_codes')}?{urlencode({'next': next_url})}")
    _mark_invalid(form)
    device = mfa.pending_device(user)
    context = {
        "form": form,
        "next": next_url,
        # Made by the qrcode library from the key alone: no text from users ends up in it.
        "qr_code": mfa.qr_code_svg(mfa.provisioning_uri(device)),
        "secret": mfa.secret_key(device),
        "required": mfa.role_requires_mfa(user),
        "replacing": user.is_verified(),
    }
    if user.is_verified():
        return render(request, "registration/mfa_enrol.html", context)
    return _sign_in_step(request, "registration/mfa_enrol.html", context)


@never_cache
@login_required
def recovery_codes(request):
    """New recovery codes, shown once: reloading the page does not show them again."""
    codes = request.session.pop(mfa.NEW_CODES_SESSION_KEY, None)
    next_url = safe_next(request, reverse("mfa_settings"))
    return render(request, "registration/mfa_codes.html", {"codes": codes, "next": next_url})


@login_required
@require_POST
def regenerate_codes(request):
    try:
        codes = mfa.recovery_codes_regenerate(user=request.user)
    except ValidationError as error:
        messages.error(request, error.messages[0])
        return redirect("mfa_settings")
    request.session[mfa.NEW_CODES_SESSION_KEY] = codes
    messages.success(request, _("New recovery codes were made. The old ones no longer work."))
    return redirect("mfa_codes")


@login_required
def security(request):
    user = request.user
    device = mfa.confirmed_device(user)
    context = {
        "enabled": device is not None,
        "required": mfa.role_requires_mfa(user),
        "codes_left": mfa.recovery_codes_left(user) if device else 0,
        "remembered": device is not None and mfa.remembered_device(request, user) is not None,
        "here": reverse("mfa_settings"),
    }
    return render(request, "registration/mfa_settings.html", context)


@never_cache
@login_required
def turn_off(request):
    user = request.user
    if mfa.confirmed_device(user) is None:
        messages.info(request, _("Two-step verification is not on."))
        return redirect("mfa_settings")
    required = mfa.role_requires_mfa(user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and not required and form.is_valid():
        try:
            mfa.mfa_turn_off(request=request, token=form.cleaned_data["code"])
        except ValidationError as error:
            form.add_error("code", error)
        else:
            messages.success(request, _("Two-step verification is off. Your recovery codes no longer work."))
            response = redirect("mfa_settings")
            mfa.forget_browser(response)
            return response
    _mark_invalid(form)
    return render(request, "registration/mfa_turn_off.html", {"form": form, "required": required})
