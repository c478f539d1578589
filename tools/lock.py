"""`make lock`: requirements.lock and requirements-test.lock from pyproject.toml, with hashes.

    python -m tools.lock PIP_COMPILE

requirements.lock pins, with the sha256 of every file PyPI has for each version, everything the
services need at run time (pyproject's dependencies): the image installs that file alone.
requirements-test.lock pins what the `test` extra adds on top (the tests, their servers, the
checks), and only that, so `pip install --require-hashes -r requirements.lock -r
requirements-test.lock` installs each package once.

Every version the locks pin now is kept (it constrains the resolution): to move a package, delete
its entry first. Hashes come from PyPI alone, never from this machine's pip configuration (local
wheel folders or mirrors), so that the locks install anywhere.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = ROOT / "requirements.lock"
TEST = ROOT / "requirements-test.lock"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")

HEADERS = {
    RUNTIME: (
        "# What the services need at run time (pyproject.toml's dependencies), exact versions with the hash of\n"
        "# every file PyPI has for each. The image installs this file alone. Written by `make lock`: do not edit.\n"
        "#   pip install --require-hashes -r requirements.lock\n"
    ),
    TEST: (
        "# What the tests add to requirements.lock (pyproject.toml's `test` extra): exact versions with hashes,\n"
        "# none of the runtime lock's packages again. Never in the image. Written by `make lock`: do not edit.\n"
        "#   pip install --require-hashes -r requirements.lock -r requirements-test.lock\n"
    ),
}


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def entries(text: str) -> dict[str, str]:
    """pip-compile's output as {normalized name: its entry (the pin, its hashes, its `# via` lines)}."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        pin = PIN.match(line)
        if pin:
            current = found[normalized(pin.group(1))] = [line]
        elif current is not None and line.startswith(" "):
            # A `via` naming the constraints file names a temporary file: it says nothing.
            if not line.strip().startswith("#   -c "):
                current.append(line)
        else:  # pip-compile's own comments between entries
            current = None
    return {name: "\n".join(_one_line_via(lines)) + "\n" for name, lines in found.items()}


def _one_line_via(lines: list[str]) -> list[str]:
    """``# via`` and a single source on one line, as pip-compile writes it when it lists one."""
    if len(lines) >= 2 and lines[-2].strip() == "# via" and lines[-1].strip().startswith("#   "):
        return [*lines[:-2], f"{lines[-2]} {lines[-1].strip()[4:]}"]
    return lines


def pins(*locks: Path) -> list[str]:
    """name==version of every entry the locks hold now."""
    return [
        f"{match.group(1)}=={match.group(2)}"
        for lock in locks
        if lock.exists()
        for match in map(PIN.match, lock.read_text().splitlines())
        if match
    ]


def compile_lock(pip_compile: str, constraints: Path, extras: list[str]) -> dict[str, str]:
    """The hashed entries of pyproject's dependencies (and extras), resolved against PyPI only."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull  # no local find-links, mirrors or constraints of this machine
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "out.txt"
        command = [pip_compile, "--quiet", "--generate-hashes", "--strip-extras", "--allow-unsafe", "--no-header"]
        command += ["--no-emit-index-url", "--no-emit-find-links", "--index-url", "https://pypi.org/simple"]
        command += [f"--extra={extra}" for extra in extras]
        command += ["-c", str(constraints), "--output-file", str(output), "pyproject.toml"]
        subprocess.run(command, cwd=ROOT, env=env, check=True)
        return entries(output.read_text())


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as folder:
        constraints = Path(folder) / "pins.txt"
        constraints.write_text("\n".join(pins(RUNTIME, TEST)) + "\n")
        runtime = compile_lock(argv[0], constraints, [])
        everything = compile_lock(argv[0], constraints, ["test"])
    missing = sorted(set(runtime) - set(everything))
    assert not missing, f"the test resolution left out runtime packages: {missing}"
    added = {name: entry for name, entry in everything.items() if name not in runtime}
    RUNTIME.write_text(HEADERS[RUNTIME] + "".join(entry for _, entry in sorted(runtime.items())))
    TEST.write_text(HEADERS[TEST] + "".join(entry for _, entry in sorted(added.items())))
    print(f"{RUNTIME.name}: {len(runtime)} packages; {TEST.name}: {len(added)} more")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
