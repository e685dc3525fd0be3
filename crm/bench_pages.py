"""The core pages `make bench` measures (see `crm.benchmark`)."""

from crm.benchmark import register_page

register_page("healthz", role=None, url="/healthz")
register_page("login page", role=None, url="/accounts/login/")
register_page("dashboard", role="rep", url="/")
