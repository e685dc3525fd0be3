"""Core models: users, teams, and the abstract base every owned business record uses."""

from django.conf import settings
from django.contrib.auth.models import AbstractUser, Group
from django.db import models
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from crm.querysets import OwnedQuerySet
from crm.storage import SealedFileStorage


class User(AbstractUser):
    """A person who signs in. Roles are Django groups; teams are `Team` memberships."""

    language = models.CharField(
        _("language"),
        max_length=10,
        blank=True,
        choices=settings.LANGUAGES,
        help_text=_("Leave empty to follow the browser's language."),
    )
    # Set for accounts that sign in with the company directory (crm/directory.py): their
    # password, active flag, roles and teams come from there at every sign-in.
    directory_dn = models.CharField(_("directory entry"), max_length=500, blank=True, editable=False)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self):
        return self.get_full_name() or self.username

    def get_full_name(self):
        # Chinese names read family name first, without a space.
        first, last = self.first_name.strip(), self.last_name.strip()
        if any("\u4e00" <= ch <= "\u9fff" for ch in first + last):
            return f"{last}{first}"
        return " ".join(part for part in (first, last) if part)


class Team(models.Model):
    """A sales, marketing or support team. Its managers see every record the team owns.

    Each team has its own auth group, kept in step with the membership, so that records can be
    shared with a whole team through group object permissions.
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="team", editable=False)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="TeamMembership", related_name="teams", verbose_name=_("members")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self):
        return self.name


class TeamMembership(models.Model):
    class Role(models.TextChoices):
        MEMBER = "member", _("Member")
        MANAGER = "manager", _("Manager")

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("team"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("user")
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.MEMBER)
    # Work handed out by rotation (service tickets) goes only to members on shift.
    on_shift = models.BooleanField(
        _("on shift"), default=True, db_default=True, help_text=_("Receives new work handed out by rotation.")
    )

    class Meta:
        verbose_name = _("team membership")
        verbose_name_plural = _("team memberships")
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="team_membership_unique")]
        indexes = [models.Index(fields=["user", "role"], name="team_membership_user_role")]

    def __str__(self):
        return f"{self.user} @ {self.team} ({self.get_role_display()})"


class OwnedModel(models.Model):
    """Abstract base for business records: who owns it, which team it belongs to, when it changed.

    Row visibility is built from these two columns plus guardian's direct foreign-key object
    permissions; see `crm.permissions`.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("owner"),
    )
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("team")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = OwnedQuerySet.as_manager()

    class Meta:
        abstract = True


class SavedView(models.Model):
    """A user's named filter and sort on one list page, kept as the list's query string."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views", verbose_name=_("user")
    )
    list_key = models.CharField(_("list"), max_length=100)
    name = models.CharField(_("name"), max_length=100)
    query = models.CharField(_("filters"), max_length=2000, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        constraints = [
            models.UniqueConstraint(fields=["user", "list_key", "name"], name="saved_view_unique_name"),
        ]

    def __str__(self):
        return self.name


class Job(models.Model):
    """A piece of background work a user waits for: its progress, outcome and any file it made.

    Pages poll it (htmx) to show a progress bar; the Celery task updates it as it goes, so the
    state survives worker restarts and result expiry.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    kind = models.CharField(_("kind"), max_length=50)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="jobs", verbose_name=_("started by")
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(_("total"), default=0)
    done = models.PositiveIntegerField(_("done"), default=0)
    error_count = models.PositiveIntegerField(_("errors"), default=0)
    message = models.CharField(_("message"), max_length=500, blank=True)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    # Encrypted on disk, no URL, deleted after IMPORT_EXPORT_RETENTION_DAYS (crm/storage.py).
    file = models.FileField(_("file"), upload_to="jobs/%Y/%m/", blank=True, storage=SealedFileStorage())
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")
        indexes = [models.Index(fields=["owner", "-created_at"], name="job_owner_created")]

    def __str__(self):
        return f"{self.kind} #{self.pk}"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return min(100, int(self.done * 100 / self.total)) if self.total else 0

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED, self.Status.CANCELLED)


class PendingTask(models.Model):
    """A Celery task queued by a committed transaction and not yet handed to the broker.

    Written in the transaction that queues the task and deleted once the broker has the message,
    so a task queued while the broker is away waits here until beat hands it over (crm.outbox).
    """

    task = models.CharField(_("task"), max_length=200)
    args = models.JSONField(_("arguments"), default=list, blank=True)
    kwargs = models.JSONField(_("keyword arguments"), default=dict, blank=True)
    created_at = models.DateTimeField(_("queued"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("task waiting for the broker")
        verbose_name_plural = _("tasks waiting for the broker")

    def __str__(self):
        return f"{self.task} {self.args!r} {self.kwargs!r}"


# --- sign-in security ------------------------------------------------------------------------------


class RoleSecurity(models.Model):
    """How the members of a role must sign in: with a second factor, and from which networks.
    A user with several roles meets every rule of every one of them (crm/signin.py)."""

    role = models.OneToOneField(Group, on_delete=models.CASCADE, related_name="security", verbose_name=_("role"))
    require_mfa = models.BooleanField(
        _("require a second factor"),
        default=False,
        help_text=_("Members must enrol an authenticator app and enter its code at every sign-in."),
    )
    networks = models.TextField(
        _("allowed networks"),
        blank=True,
        help_text=_("One address or range per line, e.g. 10.20.0.0/16. Empty: any network."),
    )

    class Meta:
        verbose_name = _("sign-in rule for a role")
        verbose_name_plural = _("sign-in rules for roles")

    def __str__(self):
        return str(self.role)


class RecoveryCode(models.Model):
    """A one-time code that stands in for the authenticator app; only its hash is kept."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes", verbose_name=_("user")
    )
    code_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    used_at = models.DateTimeField(_("used"), null=True, blank=True)

    class Meta:
        verbose_name = _("recovery code")
        verbose_name_plural = _("recovery codes")
        indexes = [models.Index(fields=["user", "code_hash"], name="recovery_code_lookup")]

    def __str__(self):
        return f"{self.user} · {date_format(timezone.localtime(self.created_at), 'SHORT_DATE_FORMAT')}"


class UserSession(models.Model):
    """A signed-in browser: where the user is signed in, and what ends when they are signed out
    everywhere (password changed, role lost, account deactivated)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="signed_in", verbose_name=_("user")
    )
    session_key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("signed in"), auto_now_add=True)
    last_seen = models.DateTimeField(_("last seen"))
    ip_address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("signed-in session")
        verbose_name_plural = _("signed-in sessions")
        indexes = [models.Index(fields=["user", "-last_seen"], name="user_session_recent")]

    def __str__(self):
        return f"{self.user} · {self.ip_address or '-'}"
