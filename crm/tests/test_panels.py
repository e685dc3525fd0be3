"""The panel registry: higher modules add sections to a record's page, keyed by its model label;
each shows in order, replaces a panel of the same key, and hides itself by answering None."""

import pytest

from crm import panels
from crm.models import Team
from crm.panels import Panel, panels_for, register_panel


@pytest.fixture(autouse=True)
def registry(monkeypatch):
    """A registry of the test's own: the apps' panels stay as they are."""
    monkeypatch.setattr(panels, "_panels", {})


def _panel(key: str, order: int = 50, *, shown=True) -> Panel:
    return Panel(key, key.title(), f"tests/{key}.html", lambda record, user: {"key": key} if shown else None, order)


def test_panels_show_by_order_then_as_registered():
    register_panel("crm.team", _panel("late", 60))
    register_panel("crm.team", _panel("first", 10))
    register_panel("crm.team", _panel("middle"))
    register_panel("crm.team", _panel("also_middle"))
    shown = panels_for(Team(name="华东"), user=None)
    assert [(panel.key, context) for panel, context in shown] == [
        ("first", {"key": "first"}),
        ("middle", {"key": "middle"}),
        ("also_middle", {"key": "also_middle"}),
        ("late", {"key": "late"}),
    ]


def test_a_panel_answering_none_is_hidden():
    register_panel("crm.team", _panel("hidden", 10, shown=False))
    register_panel("crm.team", _panel("shown", 20))
    assert [panel.key for panel, _context in panels_for(Team(), user=None)] == ["shown"]


def test_the_context_gets_the_record_and_the_viewer():
    seen = []
    register_panel("crm.team", Panel("who", "Who", "tests/who.html", lambda record, user: seen.append((record, user))))
    team, viewer = Team(name="客服"), object()
    assert panels_for(team, viewer) == []  # None: hidden
    assert seen == [(team, viewer)]


def test_the_same_key_replaces_the_earlier_panel():
    register_panel("crm.team", _panel("tickets", 10))
    replacement = _panel("tickets", 30)
    register_panel("crm.team", _panel("other", 20))
    register_panel("crm.team", replacement)
    assert [panel for panel, _context in panels_for(Team(), None)][-1] is replacement
    assert [panel.key for panel, _context in panels_for(Team(), None)] == ["other", "tickets"]


def test_panels_are_keyed_by_model_label():
    register_panel(Team, _panel("by_model"))
    register_panel("CRM.Team", _panel("by_label"))
    register_panel("crm.user", _panel("elsewhere"))
    assert [panel.key for panel, _context in panels_for(Team(), None)] == ["by_model", "by_label"]
    assert panels.panel_target(Team()) == "crm.team"


def test_a_page_with_no_panels_gets_none():
    assert panels_for(Team(), None) == []


@pytest.mark.parametrize("target", ["company", "", "crm.", ".team"])
def test_a_target_must_be_a_model_label(target):
    with pytest.raises(ValueError):
        register_panel(target, _panel("x"))
