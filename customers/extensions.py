"""Extension points through which later modules (pipeline, tickets, campaigns) plug into the
customer centre without the customer centre importing them.

- Merge handlers: move a module's records from a merged company/contact to the survivor.
- List filters: a filter on the company or contact list ("has an open opportunity").

Sections on a company or contact page are panels of the core (`crm.panels`, targets
"customers.company" and "customers.contact"), as on any other record's page.

Modules register from their AppConfig.ready().
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# (model_name, handler(survivor, merged, actor) -> number of records moved)
_merge_handlers: dict[str, list[tuple[str, Callable]]] = {"company": [], "contact": []}


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
