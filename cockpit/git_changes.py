"""Changes to the repository the cockpit makes on request: hotfix branches and release tags.

Owns creating ``hotfix/incident-ID`` from the last production tag and the release
tags at HEAD — config ``versioning.rc_tag`` / ``versioning.tag``, by default
``rc-vX.Y.Z`` / ``production-vX.Y.Z`` — with gitpython (never checking anything out;
never pushing implicitly), refusing what exists already in words; and the command line
for pushing a tag, which is a separate, confirmed step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from cockpit.errors import CockpitError
from cockpit.versions import DEFAULT, Versioning, production_versions

INCIDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class BranchPlan:
    """What creating the hotfix branch would do (shown before the confirmation)."""

    branch: str
    tag: str
    commit: str


def plan_hotfix_branch(
    root: Path, incident: str, versioning: Versioning | None = None
) -> BranchPlan:
    """The branch ``hotfix/incident-ID`` from the last production tag; raises in words."""
    import git

    if not INCIDENT.match(incident):
        raise CockpitError(f"incident id {incident!r}: letters, digits, '.', '_' or '-' only")
    rules = versioning or DEFAULT
    versions = production_versions(root, rules)
    if not versions:
        raise CockpitError(f"no {rules.tag_shape()} tag to branch the hotfix from")
    _, tag = versions[-1]
    repo = git.Repo(root, search_parent_directories=True)
    branch = f"hotfix/incident-{incident}"
    if branch in [h.name for h in repo.heads]:
        raise CockpitError(f"branch {branch} already exists")
    return BranchPlan(branch, tag, repo.tags[tag].commit.hexsha)


def create_hotfix_branch(root: Path, plan: BranchPlan) -> BranchPlan:
    """Create the planned branch at the tag's commit (no checkout, no push)."""
    import git

    repo = git.Repo(root, search_parent_directories=True)
    if plan.branch in [h.name for h in repo.heads]:
        raise CockpitError(f"branch {plan.branch} already exists")
    repo.create_head(plan.branch, repo.tags[plan.tag].commit)
    return plan


TAG_KINDS = ("rc", "production", "hotfix")


def release_tag(kind: str, version: str, versioning: Versioning | None = None) -> str:
    """The tag of ``kind`` for ``version``: rc and production by the config's patterns."""
    if kind not in TAG_KINDS:
        raise CockpitError(f"tag kind {kind!r}: one of {', '.join(TAG_KINDS)}")
    if kind == "hotfix":
        return f"hotfix-v{version}"
    return (versioning or Versioning()).tag_for(version, kind)


def create_tag(root: Path, name: str) -> str:
    """Tag HEAD as ``name`` (lightweight, as the runbook's ``git tag``); returns the commit."""
    import git

    try:
        repo = git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise CockpitError(f"{root} is not a git repository") from None
    if name in [t.name for t in repo.tags]:
        raise CockpitError(f"tag {name} already exists (at {repo.tags[name].commit.hexsha[:8]})")
    try:
        commit = repo.head.commit
    except ValueError:
        raise CockpitError("the repository has no commits to tag") from None
    repo.create_tag(name, ref=commit)
    return commit.hexsha


def push_command(name: str, remote: str = "origin") -> list[str]:
    """The command that pushes one tag (the runbook's ``git push origin production-vX.Y.Z``)."""
    return ["git", "push", remote, name]
