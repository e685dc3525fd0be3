"""Extension points through which later modules (pipeline, tickets, campaigns) plug into the
customer centre without the customer centre importing them.

- Panels: a section on a company or contact detail page ("Opportunities", "Tickets").
- Merge handlers: move a module's records from a merged company/contact to the survivor.

Modules register from their AppConfig.ready().
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
    records it lists: such a role sees none of them, not even one shared with it.
    """

    key: str
    title: str
    template: str
    context: Callable[[models.Model, object], dict | None]
    order: int = 50


_panels: dict[str, list[Panel]] = {"company": [], "contact": []}
# (model_name, handler(survivor, merged, actor) -> number of records moved)
_merge_handlers: dict[str, list[tuple[str, Callable]]] = {"company": [], "contact": []}


def register_panel(target: str, panel: Panel) -> None:
    _panels[target] = sorted([p for p in _panels[target] if p.key != panel.key] + [panel], key=lambda p: p.order)


def panels_for(target: str, record: models.Model, user) -> list[tuple[Panel, dict]]:
    shown = []
    for panel in _panels[target]:
        context = panel.context(record, user)
        if context is not None:
            shown.append((panel, context))
    return shown


def register_merge_handler(target: str, label: str, handler: Callable) -> None:
    """`handler(survivor=, merged=, actor=)` moves the module's records and returns how many."""
    _merge_handlers[target] = [h for h in _merge_handlers[target] if h[0] != label] + [(label, handler)]


def merge_handlers(target: str) -> list[tuple[str, Callable]]:
    return list(_merge_handlers[target])


@dataclass(frozen=True)
class ListFilter:
    """A filter another module adds to a customer list ("has an open opportunity").

    `field()` makes the form field; `apply(queryset, value, user)` narrows the visible rows and
    must itself count only what the user may see, so the filter reveals nothing hidden.
    """

    name: str
    field: Callable[[], object]
    apply: Callable[..., object]


_list_filters: dict[str, list[ListFilter]] = {"company": [], "contact": []}


def register_list_filter(target: str, list_filter: ListFilter) -> None:
    _list_filters[target] = [f for f in _list_filters[target] if f.name != list_filter.name] + [list_filter]


def list_filters(target: str) -> list[ListFilter]:
    return list(_list_filters[target])
