"""Changes to the repository the cockpit makes on request: hotfix branches.

Owns creating ``hotfix/incident-ID`` from the last production tag with gitpython
(never checking it out, never pushing: the operator's working tree is left as it
is), after validating the incident id and refusing an existing branch, in words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from cockpit.errors import CockpitError
from cockpit.versioning import production_versions

INCIDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class BranchPlan:
    """What creating the hotfix branch would do (shown before the confirmation)."""

    branch: str
    tag: str
    commit: str


def plan_hotfix_branch(root: Path, incident: str) -> BranchPlan:
    """The branch ``hotfix/incident-ID`` from the last production tag; raises in words."""
    import git

    if not INCIDENT.match(incident):
        raise CockpitError(f"incident id {incident!r}: letters, digits, '.', '_' or '-' only")
    versions = production_versions(root)
    if not versions:
        raise CockpitError("no production-vX.Y.Z tag to branch the hotfix from")
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
