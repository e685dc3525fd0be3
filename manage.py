#!/usr/bin/env python
import os
import sys


def main():
    os.environ["DJANGO_SETTINGS_MODULE"] = os.environ.get("DJANGO_SETTINGS_MODULE") or "crm.settings"
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as error:
        if "--traceback" in sys.argv:
            raise
        # A missing secret or a malformed variable: say what to set, not where Python noticed.
        from crm.devenv import explain_settings_error

        sys.stderr.write(explain_settings_error(error) + "\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
