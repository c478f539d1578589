"""The documents a newcomer reads stay true: links resolve inside the repository, and every file
docs/architecture.md names exists."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_the_readme_and_docs_link_only_to_files_inside_the_repository():
    for document in DOCUMENTS:
        for target in re.findall(r"\]\(([^)\s]+)\)", document.read_text()):
            path = target.split("#")[0]
            assert "://" not in target and not target.startswith("/"), f"{document.name}: {target}"
            if path:
                resolved = (document.parent / path).resolve()
                assert resolved.is_relative_to(ROOT) and resolved.exists(), f"{document.name}: {target}"


def test_every_file_the_architecture_walk_names_exists():
    text = (ROOT / "docs" / "architecture.md").read_text()
    named = set(re.findall(r"`((?:services|shared|tests)/[\w/]+\.py)", text))
    assert len(named) > 20
    missing = sorted(path for path in named if not (ROOT / path).exists())
    assert not missing, missing
