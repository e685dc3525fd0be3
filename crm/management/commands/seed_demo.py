from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from crm.demo import ADMIN_USERNAME, has_data, seed_demo
from crm.devenv import serving_address


class Command(BaseCommand):
    help = _(
        "Create a bilingual demo company: teams, people in every role, customers with their history, "
        "leads, opportunities, tasks and quotas. "
        "Passwords are generated (DEMO_ADMIN_PASSWORD sets the administrator's) and printed once."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty", action="store_true", help=_("Do nothing when the database already holds data.")
        )
        parser.add_argument("--seed", type=int, default=2026, help=_("Random seed for the demo records."))

    def handle(self, *args, if_empty, seed, **options):
        if has_data():
            if if_empty:
                self.stdout.write(
                    _(
                        "Demo data already loaded; use the password printed when it was created, "
                        "or `manage.py changepassword %(username)s`. Sign in at %(url)s"
                    )
                    % {"username": ADMIN_USERNAME, "url": serving_address()}
                )
                return
            raise CommandError(_("The database already holds data; the demo needs an empty one."))
        result = seed_demo(seed=seed)
        for line in result.summary:
            self.stdout.write(f"  {line}")
        self.stdout.write(
            _("Demo users (%(names)s) share the password: %(password)s")
            % {"names": ", ".join(result.usernames), "password": result.user_password}
        )
        self.stdout.write(
            self.style.SUCCESS(
                _("Sign in at %(url)s as %(username)s / %(password)s")
                % {"url": serving_address(), "username": ADMIN_USERNAME, "password": result.admin_password}
            )
        )
