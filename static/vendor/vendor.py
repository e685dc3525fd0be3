#!/usr/bin/env python3
"""Refresh the vendored front-end libraries from npm, at the versions pinned in VERSIONS.json.

Each package is fetched with `npm pack` into a temporary directory, its tarball checked against
the pinned sha512 integrity, and only the files we serve are extracted. Source-map comments are
stripped: we don't ship the maps, and the manifest static storage refuses a reference to a
missing file. Needs Node's npm only when run; the app itself never needs Node.

    python3 static/vendor/vendor.py            # refresh everything
    python3 static/vendor/vendor.py htmx.org   # refresh one package
    python3 static/vendor/vendor.py --pin      # record the integrity of newly pinned versions
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "VERSIONS.json"
SOURCE_MAP_COMMENT = re.compile(rb"\n?(?://# sourceMappingURL=[^\n]*|/\*# sourceMappingURL=[^*]*\*/)[ \t]*(?=\n|$)")


def npm_pack(spec: str, into: Path) -> Path:
    result = subprocess.run(  # noqa: S603
        ["npm", "pack", spec, "--json", "--silent", "--pack-destination", str(into)],  # noqa: S607
        check=True,
        capture_output=True,
    )
    info = json.loads(result.stdout)[0]
    return into / info["filename"]


def sri_sha512(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def strip_source_maps(name: str, data: bytes) -> bytes:
    if name.endswith((".js", ".css")):
        return SOURCE_MAP_COMMENT.sub(b"", data)
    return data


def vendor_package(name: str, spec: dict, *, pin: bool) -> str | None:
    """Fetch, verify and extract one package; return its integrity when pinning."""
    version = spec["version"]
    with tempfile.TemporaryDirectory(prefix="vendor-") as tmp:
        tarball = npm_pack(f"{name}@{version}", Path(tmp))
        integrity = sri_sha512(tarball)
        expected = spec.get("integrity")
        if expected and integrity != expected:
            sys.exit(f"{name}@{version}: integrity mismatch\n  pinned {expected}\n  got    {integrity}")
        if not expected and not pin:
            sys.exit(f"{name}@{version}: no pinned integrity; run with --pin after checking the version")

        dest = HERE / spec["dest"]
        if dest.exists():
            shutil.rmtree(dest)
        with tarfile.open(tarball, "r:gz") as archive:
            for source, target in spec["files"].items():
                member = archive.getmember(f"package/{source}")
                if not member.isfile():
                    sys.exit(f"{name}: {source} is not a regular file")
                out = (dest / target).resolve()
                if HERE not in out.parents:
                    sys.exit(f"{name}: refusing to write outside static/vendor: {target}")
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(strip_source_maps(target, archive.extractfile(member).read()))
        print(f"vendored {name}@{version} -> static/vendor/{spec['dest']}/")
        return integrity


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("packages", nargs="*", help="only these packages (default: all)")
    parser.add_argument("--pin", action="store_true", help="record the integrity of packages that have none")
    args = parser.parse_args()

    manifest = json.loads(MANIFEST.read_text())
    packages = manifest["packages"]
    unknown = set(args.packages) - set(packages)
    if unknown:
        sys.exit(f"not in VERSIONS.json: {', '.join(sorted(unknown))}")
    for name in args.packages or packages:
        integrity = vendor_package(name, packages[name], pin=args.pin)
        if args.pin and not packages[name].get("integrity"):
            packages[name]["integrity"] = integrity
    if args.pin:
        MANIFEST.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
