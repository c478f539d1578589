"""Issue 14: each service's OpenAPI document is one a client generator turns into a client without a
complaint — ``openapi-python-client``, offline (from the document as a file), any warning a failure."""

import compileall
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.test_openapi_documented import SERVICES, document

# No formatter run after generating: the test needs the generator alone, and ruff is no concern here.
CONFIG = "post_hooks: []\n"


def generate(service: str, folder: Path) -> subprocess.CompletedProcess[str]:
    spec, config, package = folder / "openapi.json", folder / "config.yml", folder / f"warroom_{service}_client"
    spec.write_text(json.dumps(document(service)))
    config.write_text(CONFIG)
    command = [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(spec)]
    command += ["--output-path", str(package), "--meta", "none", "--config", str(config)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("service", SERVICES)
def test_a_client_is_generated_from_each_services_document_without_a_warning(service, tmp_path):
    made = generate(service, tmp_path)
    said = made.stdout + made.stderr
    assert made.returncode == 0, said
    assert "warning" not in said.lower() and "error" not in said.lower(), said
    assert compileall.compile_dir(tmp_path / f"warroom_{service}_client", quiet=1), "the client does not compile"
