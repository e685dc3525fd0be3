# Fixtures for the tickets tests: a real SMTP server and a real IMAP server.
from crm.tests.smtp import smtp_inbox  # noqa: F401
from tickets.tests.imap_server import imap_server_fixture  # noqa: F401
