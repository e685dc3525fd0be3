"""Detail-page panels: a section another module adds to a record's page ("Tickets" on a deal,
"Opportunities" on a company) without the page's module importing it.

Panels are keyed by the record's model label ("customers.company", "pipeline.opportunity"), so
a higher module names a lower module's page by that string and registers from its
AppConfig.ready(). The screen kit hands every detail page `panels = panels_for(record, user)`
(`crm.screens.Screens.base_context`); the page template renders them with
`{% include "crm/_panels.html" %}`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import models


@dataclass(frozen=True)
class Panel:
    """A detail-page section: `context(record, user)` returns the template's context or None to hide it.

    The context function must read through the module's visibility selectors (`restrict`) and in
    a fixed number of queries, and return None for a role without the view permission on the
    records it lists: such a role sees none of them, not even one shared with it. The template
    receives the context as `panel`.
    """

    key: str
    title: str
    template: str
    context: Callable[[models.Model, object], dict | None]
    order: int = 50


_panels: dict[str, list[Panel]] = {}


def panel_target(target: str | type[models.Model] | models.Model) -> str:
    """The registry key of a model, a record or a label: "app_label.model_name", lower case."""
    if isinstance(target, str):
        app_label, dot, model_name = target.partition(".")
        if not (dot and app_label and model_name):
            raise ValueError(f"A panel target is a model label like 'customers.company', not {target!r}.")
        return target.lower()
    return target._meta.label_lower


def register_panel(target: str | type[models.Model], panel: Panel) -> None:
    """Add `panel` to the pages of `target`'s records (a label or a model); a panel of the same
    key replaces the one registered before. Panels show by `order`, then as registered."""
    key = panel_target(target)
    kept = [p for p in _panels.get(key, []) if p.key != panel.key]
    _panels[key] = sorted([*kept, panel], key=lambda p: p.order)


def panels_for(record: models.Model, user) -> list[tuple[Panel, dict]]:
    """The panels of `record`'s page that `user` is shown, each with its context, in order."""
    shown = []
    for panel in _panels.get(panel_target(record), ()):
        context = panel.context(record, user)
        if context is not None:
            shown.append((panel, context))
    return shown
