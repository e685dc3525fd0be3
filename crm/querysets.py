from django.db import models


class OwnedQuerySet(models.QuerySet):
    """QuerySet for owned business records; every list starts from `visible_to` or `restrict`."""

    def restrict(self, user, action: str = "view") -> "OwnedQuerySet":
        """Rows `user` may perform `action` ("view", "change", "delete") on."""
        from crm.permissions import restrict

        return restrict(self, user, action)

    def visible_to(self, user) -> "OwnedQuerySet":
        return self.restrict(user, "view")
