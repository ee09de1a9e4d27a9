"""The changelog draft: the commits a release ships, in the runbook's format.

Owns a run's release range (from the production tag before it, as recorded when the run
started, to its own tag — tagging the release never empties its notes), reading those
commits (one ``git log``: ``range_commits``, which other figures reuse), mapping
conventional-commit prefixes to the runbook's sections (``feat`` → Added; ``fix`` →
Fixed; security fixes, CVEs and dependency bumps → Security; everything else →
Changed), keeping issue and PR references, rendering ``## [X.Y.Z] - DATE``, and writing
it into CHANGELOG.md just below the title.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from cockpit.errors import CockpitError, error_words
from cockpit.termtext import inert
from cockpit.versions import DEFAULT, Versioning

if TYPE_CHECKING:
    from cockpit.state import RunInfo

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
    until_label: str = "HEAD"
    """Where the range ends: the release's production tag, its rc tag, or HEAD."""

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


class ReleaseRange(NamedTuple):
    """The commits a run releases: from ``since`` (a commit's sha; None: from the first
    commit) to ``until`` (a ref git reads: the release's production tag, else its rc tag,
    else HEAD), ``until_label`` naming that end for a person and ``since_tag`` the start."""

    since: str | None
    until: str
    until_label: str
    since_tag: str | None


class Commits(list[tuple[str, str, str]]):
    """``(sha, committed_at ISO-8601, subject)`` of each commit, oldest first; ``reason``
    says in words why the list is empty when the range could not be read."""

    reason: str | None = None


REF = re.compile(r"^(?!-)(?!.*\.\.)[^\x00-\x20\x7f~^:?*\[\\]+$")
"""What a revision handed to ``git log`` may look like (never an option, never a range)."""


def _open(root: Path) -> tuple[Any, str | None]:
    """The repository at ``root``, or None and why in words."""
    import git

    try:
        return git.Repo(root, search_parent_directories=True), None
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None, f"{root} is not a git repository"
    except Exception as exc:  # unreadable .git and the like: said, never raised
        return None, f"cannot read the repository at {root}: {error_words(exc)}"


def _repo(root: Path) -> Any:
    return _open(root)[0]


def _tag_commit(repo, name: str) -> str | None:
    """The commit a tag names now (None: no such tag, or one that names no commit)."""
    try:
        return repo.tags[name].commit.hexsha if name in repo.tags else None
    except Exception:  # a tag naming a tree, an unreadable object: no commit
        return None


def production_tag_commit(
    root: Path, versioning: Versioning | None = None
) -> tuple[str | None, str | None]:
    """The last production tag and its commit now — where the next release's range
    starts, recorded when a run starts; ``(None, None)`` when there is none (or no
    repository). Never raises."""
    repo = _repo(root)
    if repo is None:
        return None, None
    try:
        versions = (versioning or DEFAULT).tagged(t.name for t in repo.tags)
    except Exception:  # an unreadable repository: no range start, said by the draft later
        return None, None
    if not versions:
        return None, None
    tag = versions[-1][1]
    return tag, _tag_commit(repo, tag)


def _range(root: Path, version: str | None, run: RunInfo | None, rules: Versioning) -> ReleaseRange:
    repo = _repo(root)
    tags = set()
    if repo is not None:
        with contextlib.suppress(Exception):
            tags = {t.name for t in repo.tags}
    until, label = "HEAD", "HEAD"
    if version:
        for kind in ("production", "rc"):
            name = rules.tag_for(version, kind)
            if name in tags:
                until, label = f"refs/tags/{name}", name
                break
    if run is not None and run.range_recorded:  # the start recorded when the run started
        return ReleaseRange(run.since_commit, until, label, run.since_tag)
    if repo is None:
        return ReleaseRange(None, until, label, None)
    if run is not None and run.previous_version:  # a run journaled before ranges were
        name = rules.tag_for(run.previous_version)
        sha = _tag_commit(repo, name) if name in tags else None
        if sha is not None:
            return ReleaseRange(sha, until, label, name)
    # the last production tag below the release's version (all of them when it has none)
    found = rules.tagged(tags)
    mine = rules.version_of(rules.tag_for(version)) if version else None
    earlier = [name for v, name in found if mine is None or v < mine]
    if not earlier:
        return ReleaseRange(None, until, label, None)
    return ReleaseRange(_tag_commit(repo, earlier[-1]), until, label, earlier[-1])


def release_range(
    root: Path, run: RunInfo | None, versioning: Versioning | None = None
) -> ReleaseRange:
    """The range a run releases (blocking git IO; never raises): from the commit of the
    production tag before it as recorded when the run started — a run journaled before
    that falls back to the production tag of its previous version, else to the last
    production tag below its version — to its production tag when the repository has it,
    else its rc tag (config ``versioning``), else HEAD. ``run`` None: the last production
    tag to HEAD."""
    rules = versioning or DEFAULT
    return _range(root, run.version if run is not None else None, run, rules)


def range_commits(
    root: Path, since: str | None, until: str = "HEAD", limit: int | None = None
) -> Commits:
    """The commits after ``since`` (a sha or ref; None: from the first commit) up to and
    including ``until``, oldest first, with one ``git log``; ``limit``: the newest that
    many. Never raises: a range that cannot be read is an empty list with its reason."""
    import git

    out = Commits()
    repo, out.reason = _open(root)
    if repo is None:
        return out
    for ref in (since, until):
        if ref is not None and not REF.match(ref):
            out.reason = f"{ref!r} does not name a commit"
            return out
    args = ["--reverse", "--format=%H%x1f%cI%x1f%s"]
    if limit is not None:
        args.append(f"--max-count={limit}")
    span = f"{since}..{until}" if since else until
    try:
        text = repo.git.log(*args, span)
    except git.GitCommandError as exc:
        out.reason = _why_not(repo, (since, until)) or (
            f"git log {span}: {(exc.stderr or '').strip() or exc.status}"
        )
        return out
    except Exception as exc:  # no git to run, and the like: said, never raised
        out.reason = f"git log {span}: {error_words(exc)}"
        return out
    for line in text.splitlines():
        sha, at, subject = (*line.split("\x1f", 2), "", "")[:3]
        out.append((sha, at, subject))
    return out


def _why_not(repo, refs: tuple[str | None, ...]) -> str | None:
    """Why ``git log`` could not read a range, in words (asked only once it failed)."""
    import git

    try:
        repo.head.commit  # noqa: B018 - a repository without commits says so in words
    except ValueError:
        return "the repository has no commits yet"
    except Exception:
        return None
    for ref in refs:
        if ref is None:
            continue
        try:
            repo.git.rev_parse("--verify", "--quiet", f"{ref}^{{commit}}")
        except git.GitCommandError:
            return f"{ref.removeprefix('refs/tags/')} is not in the repository"
        except Exception:
            return None
    return None


def draft(
    root: Path,
    version: str,
    day: date | None = None,
    versioning: Versioning | None = None,
    run: RunInfo | None = None,
) -> Draft:
    """The draft for ``version`` from the commits of its release range
    (``release_range``: for ``run``, the range recorded when it started; without a run,
    from the last production tag below ``version``, all commits if none) to its
    production tag, else its rc tag, else HEAD. Raises CockpitError in words when the
    range cannot be read."""
    span = _range(root, version, run, versioning or DEFAULT)
    commits = range_commits(root, span.since, span.until, limit=1000)
    if commits.reason:
        raise CockpitError(commits.reason)
    out = Draft(
        version, day or date.today(), since_tag=span.since_tag, until_label=span.until_label
    )
    for _, _, subject in commits:
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
