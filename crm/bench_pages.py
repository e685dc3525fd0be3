"""The core pages `make bench` measures (see `crm.benchmark`).

The signed-out pages are measured in-process only: the sign-in page is the baseline of every
page's "lean" cost."""

from crm.benchmark import register_page

register_page("healthz", role=None, url="/healthz", weight=0)
register_page("login page", role=None, url="/accounts/login/", weight=0)
register_page("dashboard", role="rep", url="/", weight=0)
