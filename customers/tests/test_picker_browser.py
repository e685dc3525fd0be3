"""A person fills a form's record pickers from the keyboard (type, arrow, Enter) and the mouse, in
Chinese, and submits it; the picker passes an accessibility check and breaks no CSP rule. Without
JavaScript the same form still works: a number box and a page that looks numbers up.

The form lives on a test-only page served by this module's URLconf. Screenshots land in
test-artifacts/ for a human to look at.
"""

import re

import pytest
from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.template import engines
from django.test import Client
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from crm import roles
from crm.permissions import restrict
from crm.pickers import RecordPicker, bind_pickers
from crm.selectors import assignable_owners
from crm.testing import add_to_team, make_team, make_user
from crm.tests.browser import BROWSER_TEST, ConsoleProblems, assert_accessible, expect, shot
from customers.models import Company

pytestmark = [*BROWSER_TEST, pytest.mark.urls(__name__)]


class DealForm(forms.Form):
    company = forms.ModelChoiceField(
        label=_("Company"), queryset=Company.objects.none(), widget=RecordPicker(source="customers.company")
    )
    owner = forms.ModelChoiceField(
        label=_("Owner"), queryset=assignable_owners(None), widget=RecordPicker(source="crm.assignable_owner")
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["company"].queryset = restrict(Company.objects.all(), user, "view")
        self.fields["owner"].queryset = assignable_owners(user)
        bind_pickers(self, user)


PAGE = """{% extends "base.html" %}{% load i18n %}{% block content %}
<h1 class="h3">Picker</h1>
{% if chosen %}<p class="alert alert-success" role="status" data-chosen>{{ chosen }}</p>{% endif %}
<form method="post" class="col-md-6">{% csrf_token %}
  {% for field in form %}<div class="mb-3">
    <label class="form-label" for="{{ field.id_for_label }}">{{ field.label }}</label>{{ field }}{{ field.errors }}
  </div>{% endfor %}
  <button class="btn btn-primary" type="submit">{% translate "Save" %}</button>
</form>
{% endblock content %}"""


@login_required
def picker_page(request):
    form = DealForm(request.POST or None, user=request.user)
    chosen = ""
    if request.method == "POST" and form.is_valid():
        chosen = f"{form.cleaned_data['company'].pk} {form.cleaned_data['company']} / {form.cleaned_data['owner']}"
    page = engines["django"].from_string(PAGE).render({"form": form, "chosen": chosen}, request)
    return HttpResponse(page)


urlpatterns = [path("test-picker/", picker_page), path("", include("crm.urls"))]


@pytest.fixture
def people(transactional_db):
    rep = make_user(role=roles.SALES_REP, username="meili", first_name="美丽", last_name="王")
    other = make_user(role=roles.SALES_REP, username="other")
    team, other_team = make_team("华东销售"), make_team("华南销售")
    add_to_team(rep, team)
    add_to_team(other, other_team)
    huawei = Company.objects.create(name="华为技术有限公司", owner=rep, team=team)
    Company.objects.create(name="华为终端有限公司", owner=rep, team=team)
    hidden = Company.objects.create(name="华为云计算有限公司", owner=other, team=other_team)
    return rep, huawei, hidden


def signed_in(context, live_server, user):
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def test_choose_records_from_the_keyboard_and_the_mouse_and_submit(live_server, zh_context, people):
    rep, huawei, hidden = people
    signed_in(zh_context, live_server, rep)
    problems = ConsoleProblems()
    page = problems.watch(zh_context.new_page())
    page.goto(f"{live_server.url}/test-picker/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")

    company = page.get_by_role("combobox", name="公司")
    expect(company).to_be_visible()
    expect(page.locator('input[name="company"]')).to_have_attribute("type", "hidden")

    company.press_sequentially("华为")
    listbox = page.get_by_role("listbox")
    options = listbox.get_by_role("option")
    expect(options).to_have_count(2)  # 华为云计算 belongs to another team: never offered
    expect(company).to_have_attribute("aria-expanded", "true")
    expect(listbox).not_to_contain_text("华为云")

    company.press("ArrowDown")
    first_id = options.nth(0).get_attribute("id")
    expect(company).to_have_attribute("aria-activedescendant", first_id)
    expect(options.nth(0)).to_have_attribute("aria-selected", "true")
    company.press("ArrowDown")
    expect(company).to_have_attribute("aria-activedescendant", options.nth(1).get_attribute("id"))
    company.press("ArrowUp")
    expect(company).to_have_attribute("aria-activedescendant", first_id)
    assert_accessible(page, "record picker, open")
    shot(page, "picker-open-zh-hans")

    company.press("Enter")
    expect(listbox).to_be_hidden()
    expect(company).to_have_attribute("aria-expanded", "false")
    expect(company).to_have_value("华为技术有限公司")
    expect(page.locator('input[name="company"]')).to_have_value(str(huawei.pk))

    # Escape closes the list; a second Escape puts the chosen name back.
    company.fill("")
    company.press_sequentially("终端")
    expect(options).to_have_count(1)
    company.press("Escape")
    expect(listbox).to_be_hidden()
    company.press("Escape")
    expect(company).to_have_value("华为技术有限公司")
    expect(page.locator('input[name="company"]')).to_have_value(str(huawei.pk))

    owner = page.get_by_role("combobox", name="负责人")
    owner.press_sequentially("王")
    expect(page.get_by_role("option", name="王美丽 (meili)")).to_be_visible()
    page.get_by_role("option", name="王美丽 (meili)").click()
    expect(owner).to_have_value("王美丽 (meili)")
    expect(owner).to_be_focused()

    page.get_by_role("button", name="保存").click()
    expect(page.locator("[data-chosen]")).to_have_text(f"{huawei.pk} 华为技术有限公司 / 王美丽")
    # After the post the pickers show the chosen records again.
    expect(page.get_by_role("combobox", name="公司")).to_have_value("华为技术有限公司")
    assert_accessible(page, "record picker, after submitting")

    # The page the no-JavaScript fallback links to (axe needs JavaScript, so it is checked here).
    page.goto(f"{live_server.url}/core/pick/customers.company/?q=华为")
    expect(page.get_by_role("cell", name="华为技术有限公司")).to_be_visible()
    assert_accessible(page, "record number lookup page")
    assert not problems, problems


def test_without_javascript_the_picker_is_a_number_box_and_a_lookup_page(live_server, browser, people):
    rep, huawei, hidden = people
    context = browser.new_context(java_script_enabled=False, locale="en-US")
    context.set_default_timeout(10_000)
    signed_in(context, live_server, rep)
    page = context.new_page()
    page.goto(f"{live_server.url}/test-picker/")
    expect(page.get_by_role("combobox")).to_have_count(0)
    number = page.get_by_label("Company")
    expect(number).to_be_visible()
    lookup = page.get_by_role("link", name=re.compile("Look up numbers")).first
    lookup_url = lookup.get_attribute("href")

    search = context.new_page()
    search.goto(f"{live_server.url}{lookup_url}")
    search.get_by_label("Search", exact=True).last.fill("华为")
    search.get_by_role("button", name="Search").last.click()
    expect(search.get_by_role("cell", name="华为技术有限公司")).to_be_visible()
    expect(search.get_by_role("cell", name="华为云计算有限公司")).to_have_count(0)

    number.fill(str(huawei.pk))
    page.get_by_label("Owner").fill(str(rep.pk))
    page.get_by_role("button", name="Save").click()
    expect(page.locator("[data-chosen]")).to_have_text(f"{huawei.pk} 华为技术有限公司 / 王美丽")
    expect(page.get_by_text("Now: 华为技术有限公司.")).to_be_visible()

    number = page.get_by_label("Company")
    number.fill(str(hidden.pk))  # a company of another team: refused like any invalid choice
    page.get_by_role("button", name="Save").click()
    expect(page.locator("[data-chosen]")).to_have_count(0)
    expect(page.locator("text=华为云计算")).to_have_count(0)
    context.close()
