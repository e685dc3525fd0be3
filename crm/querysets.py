"""The queryset of owned business records, and the scoping function it delegates to.

The scoping rules live in `crm.permissions`, which reads `crm.models` (team memberships), and
`crm.models` builds its managers from this module; so the permission layer registers its
`restrict` here (`CrmConfig.ready()`) rather than this module importing it.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured
from django.db import models

Scope = Callable[[models.QuerySet, object, str], models.QuerySet]

_scope: Scope | None = None


def register_scope(scope: Scope) -> None:
    """Set the function that narrows a queryset to the rows a user may act on."""
    global _scope
    _scope = scope


class OwnedQuerySet(models.QuerySet):
    """QuerySet for owned business records; every list starts from `visible_to` or `restrict`."""

    def restrict(self, user, action: str = "view") -> OwnedQuerySet:
        """Rows `user` may perform `action` ("view", "change", "delete") on."""
        if _scope is None:
            raise ImproperlyConfigured("No scoping function registered: is 'crm' in INSTALLED_APPS?")
        return _scope(self, user, action)

    def visible_to(self, user) -> OwnedQuerySet:
        return self.restrict(user, "view")
