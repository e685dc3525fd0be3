from django.db.models import QuerySet

from customers.models import Company


def visible_companies(user) -> QuerySet[Company]:
    return Company.objects.visible_to(user)


def company_list(*, user, filters: dict | None = None) -> QuerySet[Company]:
    """The companies `user` may see, narrowed by the list page's filters."""
    qs = visible_companies(user).select_related("owner", "team")
    filters = filters or {}
    if filters.get("q"):
        qs = qs.filter(name__icontains=filters["q"])
    if filters.get("owner"):
        qs = qs.filter(owner=filters["owner"])
    if filters.get("team"):
        qs = qs.filter(team=filters["team"])
    if filters.get("lifecycle"):
        qs = qs.filter(lifecycle=filters["lifecycle"])
    if filters.get("city"):
        qs = qs.filter(city=filters["city"])
    return qs
