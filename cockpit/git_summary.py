"""What the dashboard's git panel shows: branch, HEAD, dirty or clean, the last production
tag and the commits since it.

Owns reading that summary with gitpython, and saying in words why there is none
(not a git repository, no commits yet, no production tag, a shallow clone whose
history may hide the tag). Never raises for an unusual repository.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cockpit.termtext import inert
from cockpit.versions import DEFAULT, Versioning

MAIN_BRANCHES = ("main", "master")


@dataclass
class GitSummary:
    """The repository at a glance; ``problem`` is set (in words) when there is no repository."""

    problem: str | None = None
    branch: str | None = None
    head: str | None = None
    subject: str | None = None
    dirty: bool = False
    untracked: int = 0
    last_tag: str | None = None
    last_version: str | None = None
    commits_since: list[str] = field(default_factory=list)
    shallow: bool = False
    warnings: list[str] = field(default_factory=list)


def summarise(
    root: Path, max_commits: int = 200, versioning: Versioning | None = None
) -> GitSummary:
    """The summary of the repository containing ``root`` (production tags: config
    ``versioning.tag``)."""
    import git

    try:
        repo = git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return GitSummary(problem=f"not a git repository: {root.name}")
    except Exception as exc:  # unreadable .git and the like: say it, do not crash a panel
        return GitSummary(problem=f"cannot read the repository: {exc}")
    # a look writes nothing: `git status` would refresh .git/index (taking index.lock,
    # which the team's `git commit` at that moment fails on) — a watcher's look too
    repo.git.update_environment(GIT_OPTIONAL_LOCKS="0")
    out = GitSummary()
    try:
        head = repo.head.commit
    except ValueError:
        return GitSummary(problem="the repository has no commits yet")
    out.head = head.hexsha[:8]
    out.subject = inert(head.summary if isinstance(head.summary, str) else head.summary.decode())
    try:
        out.branch = repo.active_branch.name
    except TypeError:
        out.branch = None
        out.warnings.append(f"detached HEAD at {out.head}")
    if out.branch and out.branch not in MAIN_BRANCHES:
        out.warnings.append(f"HEAD is on {out.branch}, not main")
    # not `repo.is_dirty()`: its `git diff` rewrites the index whatever GIT_OPTIONAL_LOCKS
    out.dirty = bool(repo.git.status("--porcelain", "--untracked-files=no"))
    # the cockpit's own state (.cockpit/) is not the team's work
    out.untracked = sum(1 for f in repo.untracked_files if not f.startswith(".cockpit/"))
    out.shallow = (Path(repo.git_dir) / "shallow").exists()
    rules = versioning or DEFAULT
    by_name = {tag.name: tag for tag in repo.tags}
    tags = [(version, by_name[name]) for version, name in rules.tagged(by_name)]
    if not tags:
        out.warnings.append(f"no {rules.tag_shape()} tag yet")
        if out.shallow:
            out.warnings.append("shallow clone: older tags may be missing (git fetch --unshallow)")
        return out
    version, tag = tags[-1]
    out.last_tag, out.last_version = tag.name, str(version)
    rev = f"{tag.commit.hexsha}..{head.hexsha}"
    for commit in repo.iter_commits(rev, max_count=max_commits):
        summary = commit.summary
        out.commits_since.append(inert(summary if isinstance(summary, str) else summary.decode()))
    return out
