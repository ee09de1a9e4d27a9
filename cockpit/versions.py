"""Release versions from the repository's production tags, in the configured scheme.

Owns the two version schemes — ``semver`` (``1.2.3``, ``1.3.0-rc.1``: a small strict
parser ordered by semver 2.0.0 §11) and ``pep440`` (``10.0``, ``10.0-beta3``, ``10.1rc1``:
``packaging.version``) — behind one small API (parse, ``bump(kind)``, ``str``, ordering);
what each bump kind does (``major``, ``minor``, ``patch``, ``pre``); the production tag
pattern (config ``versioning.tag``, default ``production-v{version}``): ``tag_for`` a
version and ``version_of`` a tag — only tags matching the pattern whose version parses
count (``rc-v``, ``hotfix-v``, plain ``v`` do not, by default) — ordered by version,
never by string (1.10.0 > 1.9.5); and the next version for a release type (config
``release_types``: standard bumps MINOR, major MAJOR, patch and hotfix PATCH). A folder
that is not a git repository, or has no production tag, gets a clear answer rather than
a traceback.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cockpit.errors import CockpitError

SCHEMES = ("semver", "pep440")
BUMPS = ("major", "minor", "patch", "pre")
DEFAULT_TAG = "production-v{version}"
DEFAULT_RC_TAG = "rc-v{version}"
DEFAULT_BUMPS: dict[str, str] = {
    "standard": "minor",
    "patch": "patch",
    "hotfix": "patch",
    "major": "major",
}
"""The shipped release types and what each bumps (the start screen's order)."""
PRE_LABEL = "rc"
"""The pre-release a ``pre`` bump starts: ``1.3.0-rc.1`` (semver), ``10.1rc1`` (pep440)."""

_NUM = r"0|[1-9]\d*"
_IDENT = r"(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)"
SEMVER = re.compile(
    rf"^(?P<major>{_NUM})\.(?P<minor>{_NUM})\.(?P<patch>{_NUM})"
    rf"(?:-(?P<pre>{_IDENT}(?:\.{_IDENT})*))?"
    r"(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)
"""semver 2.0.0 exactly: no leading zeros in numbers, dot-separated pre-release and build."""


def _check_bump(kind: str) -> None:
    if kind not in BUMPS:
        raise CockpitError(f"unknown bump {kind!r} (one of {', '.join(BUMPS)})")


@functools.total_ordering
@dataclass(frozen=True, eq=False)
class Version:
    """A semantic version (semver 2.0.0): ``MAJOR.MINOR.PATCH[-PRE][+BUILD]``.

    Ordered by precedence (§11): a pre-release sorts before its release, identifiers
    compare numerically when numeric, a longer set of identifiers wins a tie; build
    metadata is kept in ``str`` but ignored in comparisons.
    """

    major: int
    minor: int
    patch: int
    pre: tuple[str, ...] = ()
    build: tuple[str, ...] = field(default=())

    scheme = "semver"

    @classmethod
    def parse(cls, text: str) -> Version:
        """A version as an operator types it (a leading ``v`` is allowed); raises in words."""
        version = cls.strict(text.strip().removeprefix("v"))
        if version is None:
            raise CockpitError(
                f"{text.strip()!r} is not a semantic version (versioning scheme semver: "
                "write it like 1.2.3, or 1.3.0-rc.1 for a pre-release)"
            )
        return version

    @classmethod
    def strict(cls, text: str) -> Version | None:
        """The version ``text`` spells exactly, or None."""
        m = SEMVER.match(text)
        if not m:
            return None
        pre = tuple(m["pre"].split(".")) if m["pre"] else ()
        build = tuple(m["build"].split(".")) if m["build"] else ()
        return cls(int(m["major"]), int(m["minor"]), int(m["patch"]), pre, build)

    @property
    def is_prerelease(self) -> bool:
        return bool(self.pre)

    def bump(self, kind: str) -> Version:
        """The next version of ``kind``; from a pre-release, ``major``/``minor``/``patch``
        first release the version it leads to (``1.3.0-rc.2`` → minor → ``1.3.0``)."""
        _check_bump(kind)
        major, minor, patch = self.major, self.minor, self.patch
        if kind == "major":
            if self.pre and minor == 0 and patch == 0:
                return Version(major, 0, 0)
            return Version(major + 1, 0, 0)
        if kind == "minor":
            if self.pre and patch == 0:
                return Version(major, minor, 0)
            return Version(major, minor + 1, 0)
        if kind == "patch":
            return Version(major, minor, patch if self.pre else patch + 1)
        if not self.pre:
            return Version(major, minor + 1, 0, (PRE_LABEL, "1"))
        *head, last = self.pre
        if last.isdigit():
            return Version(major, minor, patch, (*head, str(int(last) + 1)))
        return Version(major, minor, patch, (*self.pre, "1"))

    def _key(self) -> tuple[Any, ...]:
        if not self.pre:
            return (self.major, self.minor, self.patch, 1, ())
        idents = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.pre)
        return (self.major, self.minor, self.patch, 0, idents)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() == other._key()

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        out = f"{self.major}.{self.minor}.{self.patch}"
        if self.pre:
            out += "-" + ".".join(self.pre)
        if self.build:
            out += "+" + ".".join(self.build)
        return out


@functools.total_ordering
class Pep440Version:
    """A PEP 440 version (``10.0``, ``10.0-beta3`` = ``10.0b3``, ``10.1rc1``), ordered by
    ``packaging.version``. A version read from a tag or typed keeps its spelling in ``str``
    (so the tag it came from is found again); a computed one is in the normal form."""

    scheme = "pep440"

    def __init__(self, text: str):
        from packaging.version import InvalidVersion
        from packaging.version import Version as _Packaging

        try:
            self._v = _Packaging(text)
        except InvalidVersion:
            raise CockpitError(f"{text!r} is not a PEP 440 version") from None
        if text != text.strip() or text[:1] in "vV" or not text:
            raise CockpitError(f"{text!r} is not a PEP 440 version as written in a tag")
        self.text = text

    @classmethod
    def parse(cls, text: str) -> Pep440Version:
        """A version as an operator types it (a leading ``v`` is allowed); raises in words."""
        written = text.strip()
        if written[:1] in "vV":
            written = written[1:]
        try:
            return cls(written)
        except CockpitError:
            raise CockpitError(
                f"{text.strip()!r} is not a version (versioning scheme pep440: write it like "
                "10.0, 10.0.1, or 10.1rc1 / 10.0-beta3 for a pre-release)"
            ) from None

    @classmethod
    def strict(cls, text: str) -> Pep440Version | None:
        try:
            return cls(text)
        except CockpitError:
            return None

    @property
    def is_prerelease(self) -> bool:
        return self._v.pre is not None or self._v.dev is not None

    def bump(self, kind: str) -> Pep440Version:
        """The next version of ``kind`` (see ``Version.bump``); the number of release parts
        is kept (``10.0`` → minor → ``10.1``; ``1.2.3`` → ``1.3.0``), ``patch`` adds a third
        when there is none (``10.0`` → ``10.0.1``)."""
        _check_bump(kind)
        v = self._v
        release = list(v.release)
        pre = self.is_prerelease

        def padded(n: int) -> list[int]:
            return release + [0] * (n - len(release))

        def zeros_after(parts: list[int], i: int) -> list[int]:
            return parts[: i + 1] + [0] * (len(parts) - i - 1)

        if kind == "major":
            parts = padded(1)
            if not (pre and all(p == 0 for p in parts[1:])):
                parts = zeros_after([parts[0] + 1, *parts[1:]], 0)
            return self._make(v.epoch, parts)
        if kind == "minor":
            parts = padded(2)
            if not (pre and all(p == 0 for p in parts[2:])):
                parts = zeros_after([parts[0], parts[1] + 1, *parts[2:]], 1)
            return self._make(v.epoch, parts)
        if kind == "patch":
            if pre:
                return self._make(v.epoch, release)
            parts = padded(3)
            parts = zeros_after([*parts[:2], parts[2] + 1, *parts[3:]], 2)
            return self._make(v.epoch, parts)
        if v.pre is not None:
            label, number = v.pre
            return self._make(v.epoch, release, f"{label}{number + 1}")
        if v.dev is not None:  # 10.1.dev3 comes before 10.1rc1
            return self._make(v.epoch, release, f"{PRE_LABEL}1")
        parts = padded(2)
        parts = zeros_after([parts[0], parts[1] + 1, *parts[2:]], 1)
        return self._make(v.epoch, parts, f"{PRE_LABEL}1")

    @staticmethod
    def _make(epoch: int, parts: list[int], pre: str = "") -> Pep440Version:
        head = f"{epoch}!" if epoch else ""
        return Pep440Version(head + ".".join(str(p) for p in parts) + pre)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Pep440Version):
            return NotImplemented
        return self._v == other._v

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Pep440Version):
            return NotImplemented
        return self._v < other._v

    def __hash__(self) -> int:
        return hash(self._v)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Pep440Version({self.text!r})"


AnyVersion = Version | Pep440Version
_CLASSES: dict[str, type[Version] | type[Pep440Version]] = {
    "semver": Version,
    "pep440": Pep440Version,
}
_ZERO = {"semver": "0.0.0", "pep440": "0.0"}
_SHAPE = {"semver": "X.Y.Z", "pep440": "X.Y"}

_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")


def check_tag_pattern(pattern: str) -> str:
    """A tag pattern names ``{version}`` once, has no other braces, and makes a valid tag."""
    if pattern.count("{version}") != 1:
        raise ValueError(
            f"{pattern!r} must name {{version}} exactly once (like production-v{{version}})"
        )
    rest = pattern.replace("{version}", "")
    if "{" in rest or "}" in rest:
        raise ValueError(f"{pattern!r}: the only placeholder a tag pattern has is {{version}}")
    sample = pattern.replace("{version}", "1.2.3")
    bad = (
        _REF_FORBIDDEN.search(sample)
        or ".." in sample
        or "@{" in sample
        or "//" in sample
        or sample.startswith(("-", "/", "."))
        or sample.endswith(("/", ".", ".lock"))
        or any(part.startswith(".") for part in sample.split("/"))
    )
    if bad:
        raise ValueError(f"{pattern!r} does not make a valid git tag name (git check-ref-format)")
    return pattern


@dataclass(frozen=True)
class Versioning:
    """The workspace's version rules: scheme, tag patterns, what each release type bumps."""

    scheme: str = "semver"
    tag: str = DEFAULT_TAG
    rc_tag: str = DEFAULT_RC_TAG
    bumps: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_BUMPS))

    def __post_init__(self) -> None:
        if self.scheme not in SCHEMES:
            raise CockpitError(f"unknown versioning scheme {self.scheme!r}")

    def __hash__(self) -> int:
        return hash((self.scheme, self.tag, self.rc_tag, tuple(self.bumps.items())))

    # -- versions ------------------------------------------------------------------------

    def parse(self, text: str) -> AnyVersion:
        """A version typed by an operator, in this scheme; raises in words naming it."""
        return _CLASSES[self.scheme].parse(text)

    def zero(self) -> AnyVersion:
        """Where counting starts when nothing was released: 0.0.0 (semver), 0.0 (pep440)."""
        return _CLASSES[self.scheme].parse(_ZERO[self.scheme])

    def shape(self) -> str:
        """How a version looks, for a placeholder or a message: X.Y.Z, X.Y."""
        return _SHAPE[self.scheme]

    def bump_of(self, release_type: str) -> str:
        try:
            return self.bumps[release_type]
        except KeyError:
            known = ", ".join(self.bumps)
            raise CockpitError(
                f"unknown release type {release_type!r} (release types: {known})"
            ) from None

    def after(self, current: AnyVersion | None, release_type: str) -> AnyVersion:
        """The version a release of ``release_type`` gets after ``current`` (None: from zero)."""
        return (current or self.zero()).bump(self.bump_of(release_type))

    # -- tags ----------------------------------------------------------------------------

    def tag_for(self, version: AnyVersion | str, kind: str = "production") -> str:
        """The tag of ``version``: ``production-v1.2.3`` (or the ``rc`` tag)."""
        pattern = self.rc_tag if kind == "rc" else self.tag
        return pattern.replace("{version}", str(version))

    def version_of(self, tag: str, kind: str = "production") -> AnyVersion | None:
        """The version a tag names, or None when the tag does not match the pattern or its
        version does not parse in the scheme (so it does not count)."""
        pattern = self.rc_tag if kind == "rc" else self.tag
        before, _, after = pattern.partition("{version}")
        if not (tag.startswith(before) and tag.endswith(after)):
            return None
        text = tag[len(before) : len(tag) - len(after)] if after else tag[len(before) :]
        if not text:
            return None
        version = _CLASSES[self.scheme].strict(text)
        if version is None or self.tag_for(version, kind) != tag:
            return None
        return version

    def tag_shape(self) -> str:
        """The pattern with the version's shape: ``production-vX.Y.Z``."""
        return self.tag.replace("{version}", self.shape())

    def production_versions(self, workspace: Path) -> list[tuple[AnyVersion, str]]:
        """Every production tag of the repository at ``workspace``, oldest version first.

        Raises CockpitError in words when ``workspace`` is not a git repository.
        """
        import git  # gitpython: imported here to keep `cockpit --version` fast

        try:
            repo = git.Repo(workspace, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise CockpitError(f"{workspace} is not a git repository") from None
        return self.tagged(tag.name for tag in repo.tags)

    def tagged(self, names: Any) -> list[tuple[AnyVersion, str]]:
        """The production tags among ``names`` with their versions, oldest version first
        (equal versions spelled differently: by name)."""
        found = []
        for name in names:
            version = self.version_of(name)
            if version is not None:
                found.append((version, name))
        found.sort(key=lambda pair: pair[1])
        found.sort(key=lambda pair: pair[0])  # stable: by version, then by name
        return found


DEFAULT = Versioning()


def production_versions(
    workspace: Path, versioning: Versioning | None = None
) -> list[tuple[AnyVersion, str]]:
    """Every production tag of the repository at ``workspace``, oldest version first."""
    return (versioning or DEFAULT).production_versions(workspace)


def current_version(workspace: Path, versioning: Versioning | None = None) -> AnyVersion | None:
    """The highest production version, or None when there is no production tag."""
    versions = production_versions(workspace, versioning)
    return versions[-1][0] if versions else None


def next_version(
    workspace: Path, release_type: str, versioning: Versioning | None = None
) -> AnyVersion:
    """The next version for ``release_type``, counting from zero when nothing was released."""
    rules = versioning or DEFAULT
    return rules.after(current_version(workspace, rules), release_type)
