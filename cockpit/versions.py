"""Semantic versions from the repository's production tags.

Owns reading ``production-vX.Y.Z`` tags (other tags — ``rc-v``, ``hotfix-v``,
plain ``v`` — do not count), ordering them semantically (1.10.0 > 1.9.5), and
the next version for a release type: patch and hotfix bump PATCH, standard
bumps MINOR, major bumps MAJOR. A folder that is not a git repository, or has
no production tag, gets a clear answer rather than a traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from cockpit.errors import CockpitError

TAG = re.compile(r"^production-v(\d+)\.(\d+)\.(\d+)$")
SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int
    patch: int

    @classmethod
    def parse(cls, text: str) -> Version:
        m = SEMVER.match(text.strip().removeprefix("v"))
        if not m:
            raise CockpitError(f"{text!r} is not a semantic version (write it like 1.2.3)")
        return cls(*(int(g) for g in m.groups()))

    def bump(self, release_type: str) -> Version:
        if release_type == "major":
            return Version(self.major + 1, 0, 0)
        if release_type == "standard":
            return Version(self.major, self.minor + 1, 0)
        return Version(self.major, self.minor, self.patch + 1)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


def production_versions(workspace: Path) -> list[tuple[Version, str]]:
    """Every production tag of the repository at ``workspace``, oldest version first.

    Raises CockpitError in words when ``workspace`` is not a git repository.
    """
    import git  # gitpython: imported here to keep `cockpit --version` fast

    try:
        repo = git.Repo(workspace, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise CockpitError(f"{workspace} is not a git repository") from None
    found = []
    for tag in repo.tags:
        m = TAG.match(tag.name)
        if m:
            found.append((Version(*(int(g) for g in m.groups())), tag.name))
    return sorted(found)


def current_version(workspace: Path) -> Version | None:
    """The highest production version, or None when there is no production tag."""
    versions = production_versions(workspace)
    return versions[-1][0] if versions else None


def next_version(workspace: Path, release_type: str) -> Version:
    """The next version for ``release_type``, counting from 0.0.0 when nothing was released."""
    return (current_version(workspace) or Version(0, 0, 0)).bump(release_type)
