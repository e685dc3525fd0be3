"""The left navigation. Each module registers its section from its AppConfig.ready();
each entry names the permission it needs, so a user sees only what they may open."""

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    icon: str
    permission: str | None = None


@dataclass(frozen=True)
class NavSection:
    label: str
    items: tuple[NavItem, ...]
    order: int = 50


_sections: list[NavSection] = [
    NavSection(_("Home"), (NavItem(_("Dashboard"), "home", "house"),), order=0),
    NavSection(
        _("Administration"),
        (
            NavItem(_("Audit log"), "crm:audit_log", "journal-text", "auditlog.view_logentry"),
            NavItem(_("Settings"), "admin:index", "gear", "crm.change_team"),
        ),
        order=100,
    ),
]


def register_section(section: NavSection) -> None:
    """Add a module's section to the navigation (called from its AppConfig.ready)."""
    _sections.append(section)
    _sections.sort(key=lambda s: s.order)


def navigation_for(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    current = request.path
    sections = []
    for section in _sections:
        items = []
        for item in section.items:
            if item.permission and not user.has_perm(item.permission):
                continue
            try:
                url = reverse(item.url_name)
            except NoReverseMatch:
                continue  # a module not installed yet
            active = current == url if url == "/" else current.startswith(url)
            items.append({"label": item.label, "url": url, "icon": item.icon, "active": active})
        if items:
            sections.append({"label": section.label, "items": items})
    return sections
