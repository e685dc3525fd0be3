"""A real OpenLDAP server for directory sign-in tests: Debian's slapd on a loopback port.

The `slapd_directory` fixture starts slapd as a child process with its own configuration and database in a
temporary folder, loads a small company directory with slapadd, and stops it afterwards.
`directory_settings` points the CRM at it through the LDAP_* settings.

It offers StartTLS with a certificate from a test CA (`Directory.ca_file`). The directory
(dc=example,dc=com):
- ou=people: wang.fang (sales rep, team East), li.lei (sales manager, manages East),
  zhao.min (locked: pwdAccountLockedTime set, so disabled for the CRM);
- ou=services: crm-reader, the read-only account the CRM binds as;
- ou=groups (groupOfNames): crm-sales-reps, crm-sales-managers, crm-marketing, sales-east,
  sales-east-leads.
"""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SLAPD = Path("/usr/sbin/slapd")
SLAPADD = Path("/usr/sbin/slapadd")
SCHEMA_DIR = Path("/etc/ldap/schema")
MODULE_DIR = Path("/usr/lib/ldap")
BASE = "dc=example,dc=com"
PEOPLE = f"ou=people,{BASE}"
GROUPS = f"ou=groups,{BASE}"
ADMIN_DN = f"cn=admin,{BASE}"
READER_DN = f"cn=crm-reader,ou=services,{BASE}"
LOCKED = "000001010000Z"  # ppolicy's "locked until an administrator unlocks it"

# Directory people: uid -> (given name, family name, groups).
PEOPLE_ENTRIES = {
    "wang.fang": ("芳", "王", ("crm-sales-reps", "sales-east")),
    "li.lei": ("Lei", "Li", ("crm-sales-managers", "sales-east", "sales-east-leads")),
    "zhao.min": ("敏", "赵", ("crm-sales-reps", "crm-marketing")),
}
GROUP_NAMES = ("crm-sales-reps", "crm-sales-managers", "crm-marketing", "sales-east", "sales-east-leads")


def person_dn(uid: str) -> str:
    return f"uid={uid},{PEOPLE}"


def group_dn(name: str) -> str:
    return f"cn={name},{GROUPS}"


@dataclass
class Directory:
    """A running slapd and what a test needs to sign in against it and change it."""

    uri: str
    admin_password: str
    reader_password: str
    process: subprocess.Popen
    ca_file: Path
    passwords: dict[str, str] = field(default_factory=dict)

    def connect(self):
        """A connection bound as the directory's administrator (to change entries)."""
        import ldap

        connection = ldap.initialize(self.uri, bytes_mode=False)
        connection.set_option(ldap.OPT_NETWORK_TIMEOUT, 5.0)
        connection.simple_bind_s(ADMIN_DN, self.admin_password)
        return connection

    def _modify(self, dn: str, changes: list) -> None:
        connection = self.connect()
        try:
            connection.modify_s(dn, changes)
        finally:
            connection.unbind_s()

    def lock(self, uid: str) -> None:
        import ldap

        self._modify(person_dn(uid), [(ldap.MOD_ADD, "pwdAccountLockedTime", [LOCKED.encode()])])

    def add_to_group(self, uid: str, group: str) -> None:
        import ldap

        self._modify(group_dn(group), [(ldap.MOD_ADD, "member", [person_dn(uid).encode()])])

    def remove_from_group(self, uid: str, group: str) -> None:
        import ldap

        self._modify(group_dn(group), [(ldap.MOD_DELETE, "member", [person_dn(uid).encode()])])

    def delete(self, uid: str) -> None:
        connection = self.connect()
        try:
            for group in GROUP_NAMES:
                if group in PEOPLE_ENTRIES[uid][2]:
                    self.remove_from_group(uid, group)
            connection.delete_s(person_dn(uid))
        finally:
            connection.unbind_s()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _write_certificates(folder: Path) -> Path:
    """A test CA and a certificate for 127.0.0.1 signed by it, for StartTLS. Returns the CA file."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def certificate(subject, issuer, public_key, signing_key, *, ca):
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            names = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return builder.sign(signing_key, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = certificate("CRM test CA", "CRM test CA", ca_key.public_key(), ca_key, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = certificate("127.0.0.1", "CRM test CA", server_key.public_key(), ca_key, ca=False)
    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))
    (folder / "server.pem").write_bytes(server.public_bytes(pem))
    (folder / "server.key").write_bytes(
        server_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return folder / "ca.pem"


def _config(folder: Path, admin_password: str) -> str:
    schemas = "\n".join(f"include {SCHEMA_DIR / name}.schema" for name in ("core", "cosine", "inetorgperson", "nis"))
    return f"""{schemas}
TLSCACertificateFile {folder / "ca.pem"}
TLSCertificateFile {folder / "server.pem"}
TLSCertificateKeyFile {folder / "server.key"}
modulepath {MODULE_DIR}
moduleload back_mdb
moduleload ppolicy
pidfile {folder / "slapd.pid"}
argsfile {folder / "slapd.args"}

database mdb
maxsize 10485760
suffix "{BASE}"
rootdn "{ADMIN_DN}"
rootpw {admin_password}
directory {folder / "data"}
# pwdAccountLockedTime comes with the password policy overlay; no default policy is set, so
# locking an account is a mark the CRM reads (LDAP_DISABLED_FILTER), as a help desk sets it.
overlay ppolicy
access to attrs=userPassword by self write by anonymous auth by * none
access to * by users read by * none
"""


def _entries(passwords: dict[str, str], reader_password: str) -> str:
    blocks = [
        f"dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n",
        f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n",
        f"dn: ou=services,{BASE}\nobjectClass: organizationalUnit\nou: services\n",
        f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups\n",
        (
            f"dn: {READER_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
            f"cn: crm-reader\nuserPassword: {reader_password}\n"
        ),
    ]
    for uid, (given, family, _groups) in PEOPLE_ENTRIES.items():
        lines = [
            f"dn: {person_dn(uid)}",
            "objectClass: inetOrgPerson",
            f"uid: {uid}",
            f"cn:: {_b64(family + given)}",
            f"sn:: {_b64(family)}",
            f"givenName:: {_b64(given)}",
            f"mail: {uid}@example.com",
            f"userPassword: {passwords[uid]}",
        ]
        if uid == "zhao.min":
            lines.append(f"pwdAccountLockedTime: {LOCKED}")
        blocks.append("\n".join(lines) + "\n")
    for group in GROUP_NAMES:
        members = [person_dn(uid) for uid, entry in PEOPLE_ENTRIES.items() if group in entry[2]]
        blocks.append(
            f"dn: {group_dn(group)}\nobjectClass: groupOfNames\ncn: {group}\n"
            + "".join(f"member: {dn}\n" for dn in members)
        )
    return "\n".join(blocks)


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


def _wait_until_answering(directory: Directory, log: Path) -> None:
    import ldap

    deadline = time.monotonic() + 15
    while True:
        if directory.process.poll() is not None:
            raise RuntimeError(f"slapd stopped at start:\n{log.read_text(errors='replace')[-2000:]}")
        try:
            directory.connect().unbind_s()
            return
        except ldap.SERVER_DOWN:
            if time.monotonic() > deadline:
                directory.stop()
                raise RuntimeError("slapd did not answer within 15 seconds") from None
            time.sleep(0.05)


@pytest.fixture(name="slapd_directory")
def slapd_directory_fixture(tmp_path):
    if not SLAPD.exists():
        pytest.skip(f"{SLAPD} is missing: install Debian's slapd package to run the directory tests")
    folder = tmp_path / "slapd"
    (folder / "data").mkdir(parents=True)
    admin_password = secrets.token_urlsafe(12)
    reader_password = secrets.token_urlsafe(12)
    passwords = {uid: secrets.token_urlsafe(12) for uid in PEOPLE_ENTRIES}
    ca_file = _write_certificates(folder)
    config = folder / "slapd.conf"
    config.write_text(_config(folder, admin_password))
    ldif = folder / "directory.ldif"
    ldif.write_text(_entries(passwords, reader_password))
    subprocess.run([SLAPADD, "-q", "-f", config, "-l", ldif], check=True, capture_output=True)
    uri = f"ldap://127.0.0.1:{_free_port()}"
    log = folder / "slapd.log"
    with log.open("wb") as output:
        # With -d, even 0, slapd stays in the foreground as our child, so it can be stopped.
        process = subprocess.Popen(
            [SLAPD, "-f", config, "-h", f"{uri}/", "-d", "0"], stdout=output, stderr=subprocess.STDOUT
        )
    directory = Directory(
        uri=uri,
        admin_password=admin_password,
        reader_password=reader_password,
        process=process,
        ca_file=ca_file,
        passwords=passwords,
    )
    try:
        _wait_until_answering(directory, log)
        yield directory
    finally:
        directory.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(name="directory_settings")
def directory_settings_fixture(slapd_directory, settings):
    """The CRM signs in against the test directory, as an OpenLDAP deployment configures it."""
    settings.LDAP_SERVER_URI = slapd_directory.uri
    settings.LDAP_START_TLS = False
    settings.LDAP_CA_FILE = ""
    settings.LDAP_BIND_DN = READER_DN
    settings.LDAP_BIND_PASSWORD = slapd_directory.reader_password
    settings.LDAP_USER_BASE = PEOPLE
    settings.LDAP_USER_FILTER = "(uid=%(user)s)"
    settings.LDAP_GROUP_BASE = GROUPS
    settings.LDAP_GROUP_TYPE = "groupofnames"
    settings.LDAP_DISABLED_FILTER = "(pwdAccountLockedTime=*)"
    settings.LDAP_RECHECK_SECONDS = 0
    settings.LDAP_TIMEOUT = 3.0
    settings.LDAP_ROLE_GROUPS = [
        ("Sales rep", group_dn("crm-sales-reps")),
        ("Sales manager", group_dn("crm-sales-managers")),
        ("Marketing", group_dn("crm-marketing")),
    ]
    settings.LDAP_TEAM_GROUPS = [
        ("East", "member", group_dn("sales-east")),
        ("East", "manager", group_dn("sales-east-leads")),
    ]
    settings.AUTHENTICATION_BACKENDS = [
        "axes.backends.AxesStandaloneBackend",
        "crm.directory.DirectoryBackend",
        "django.contrib.auth.backends.ModelBackend",
        "guardian.backends.ObjectPermissionBackend",
    ]
    return settings
