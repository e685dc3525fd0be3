from django.db.models import QuerySet

from customers.models import Company


def visible_companies(user) -> QuerySet[Company]:
    return Company.objects.visible_to(user)


def company_list(*, user, filters: dict | None = None) -> QuerySet[Company]:
    qs = visible_companies(user).select_related("owner", "team")
    filters = filters or {}
    if filters.get("q"):
        qs = qs.filter(name__icontains=filters["q"])
    return qs
