"""The changelog draft: the commits since the last production tag, in the runbook's format.

Owns reading those commits (gitpython), mapping conventional-commit prefixes to the
runbook's sections (``feat`` → Added; ``fix`` → Fixed; security fixes, CVEs and
dependency bumps → Security; everything else → Changed), keeping issue and PR
references, rendering ``## [X.Y.Z] - DATE``, and writing it into CHANGELOG.md just
below the title.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from cockpit.errors import CockpitError
from cockpit.termtext import inert
from cockpit.versions import Versioning, production_versions

SECTIONS = ("Added", "Changed", "Fixed", "Security")
CONVENTIONAL = re.compile(
    r"^(?P<type>[a-z]+)(?:\((?P<scope>[^)]*)\))?(?P<bang>!)?:\s*(?P<text>.+)$", re.I
)
SECURITY = re.compile(r"\b(security|cve-\d{4}-\d+|vulnerab)", re.I)


@dataclass
class Draft:
    """A changelog section for one version."""

    version: str
    day: date
    entries: dict[str, list[str]] = field(default_factory=lambda: {s: [] for s in SECTIONS})
    since_tag: str | None = None
    commits: int = 0

    def render(self) -> str:
        lines = [f"## [{self.version}] - {self.day.isoformat()}", ""]
        for section in SECTIONS:
            if self.entries[section]:
                lines.append(f"### {section}")
                lines += [f"- {entry}" for entry in self.entries[section]]
                lines.append("")
        if not any(self.entries.values()):
            lines += ["_No changes since the last production release._", ""]
        return "\n".join(lines).rstrip() + "\n"


def classify(subject: str) -> tuple[str, str]:
    """(section, entry text) for one commit subject."""
    subject = subject.strip()
    match = CONVENTIONAL.match(subject)
    if not match:
        section = "Security" if SECURITY.search(subject) else "Changed"
        return section, subject[:1].upper() + subject[1:]
    kind = match["type"].lower()
    scope = (match["scope"] or "").lower()
    text = match["text"].strip()
    text = text[:1].upper() + text[1:]
    if SECURITY.search(subject) or kind == "security" or scope in ("security", "sec"):
        return "Security", text
    if (kind == "chore" and scope in ("deps", "deps-dev")) or (kind == "build" and scope == "deps"):
        return "Security", text
    if kind == "feat":
        return "Added", text
    if kind == "fix":
        return "Fixed", text
    return "Changed", text


def draft(
    root: Path, version: str, day: date | None = None, versioning: Versioning | None = None
) -> Draft:
    """The draft for ``version`` from the commits since the last production tag (all if none)."""
    import git

    versions = production_versions(root, versioning)
    repo = git.Repo(root, search_parent_directories=True)
    try:
        head = repo.head.commit
    except ValueError:
        raise CockpitError("the repository has no commits yet") from None
    tag = versions[-1][1] if versions else None
    rev = f"{repo.tags[tag].commit.hexsha}..{head.hexsha}" if tag else head.hexsha
    out = Draft(version, day or date.today(), since_tag=tag)
    for commit in reversed(list(repo.iter_commits(rev, max_count=1000))):
        subject = commit.summary if isinstance(commit.summary, str) else commit.summary.decode()
        subject = inert(subject)  # a commit message is text from outside: shown inert
        if subject.lower().startswith("merge "):
            continue
        section, entry = classify(subject)
        out.entries[section].append(entry)
        out.commits += 1
    return out


def write_changelog(root: Path, text: str) -> Path:
    """Put ``text`` (a version section) at the top of CHANGELOG.md, below its title."""
    path = root / "CHANGELOG.md"
    existing = path.read_text() if path.exists() else ""
    header, rest = "# Changelog\n\n", existing
    if existing.startswith("# "):
        first, _, rest = existing.partition("\n")
        header = first + "\n\n"
        rest = rest.lstrip("\n")
    version = re.match(r"## \[([^\]]+)\]", text)
    if version and f"## [{version.group(1)}]" in rest:
        raise CockpitError(f"CHANGELOG.md already has a section for {version.group(1)}")
    path.write_text(header + text.rstrip() + "\n\n" + rest)
    return path
