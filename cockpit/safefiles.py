"""State files that cannot be redirected: every open, create and write under ``.cockpit/``.

Owns how the journal, the run lock, step logs, status files and saved messages reach the
disk. Each folder from the state folder (the *anchor*) down to the file is opened relative
to the one above it with ``O_NOFOLLOW`` and must be a real folder owned by the current user;
the file itself is opened with ``O_NOFOLLOW`` too and must be a regular file owned by the
user. Folders are made 0700 and files 0600 whatever the umask; nothing refused is ever
written through or chmod-ed. A refusal or an OS error is a ``StateFileError`` in words
("refusing to use PATH: it is a symbolic link", "cannot write PATH: no space left on
device"), and a write is whole or not there at all (``append_whole``, ``replace_file``).
"""

from __future__ import annotations

import errno
import os
import pwd
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path, PurePath
from typing import BinaryIO

from cockpit.errors import CockpitError

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
"""O_NONBLOCK: a FIFO planted in place of a state file never blocks the open."""
FOLDER_MODE = 0o700
FILE_MODE = 0o600


class StateFileError(CockpitError, OSError):
    """A state file or folder that is refused or cannot be written, in words.

    Both a ``CockpitError`` (the CLI prints it and exits 2) and an ``OSError`` (code that
    already handles a failed write keeps handling it); ``errno`` is the OS's when known.
    """

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.errno = code


def reason(exc: OSError) -> str:
    """The OS's reason in words: "no space left on device", "permission denied"."""
    if isinstance(exc, StateFileError) or not exc.errno:
        return str(exc)
    words = os.strerror(exc.errno)
    return words[:1].lower() + words[1:]


def cannot(verb: str, path: Path, exc: OSError) -> StateFileError:
    """``cannot VERB PATH: reason`` (an error already in words is passed on unchanged)."""
    if isinstance(exc, StateFileError):
        return exc
    return StateFileError(f"cannot {verb} {path}: {reason(exc)}", exc.errno)


def refuse(path: Path, why: str, code: int | None = None) -> StateFileError:
    return StateFileError(f"refusing to use {path}: {why}", code)


def _user(uid: int) -> str:
    try:
        return f"user {pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def _check_owner(fd: int, path: Path) -> os.stat_result:
    st = os.fstat(fd)
    if st.st_uid != os.geteuid():
        raise refuse(path, f"it belongs to {_user(st.st_uid)}, not to you ({_user(os.geteuid())})")
    return st


def _explain(path: Path, exc: OSError, dir_fd: int | None, name: str, verb: str) -> OSError:
    """Why opening ``name`` (in ``dir_fd``) failed: a refusal when something is planted
    there, else the OS error in words; a missing entry stays a ``FileNotFoundError``."""
    if isinstance(exc, FileNotFoundError):
        return exc
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        return cannot(verb, path, exc)
    if stat.S_ISLNK(st.st_mode):
        return refuse(path, "it is a symbolic link", errno.ELOOP)
    if exc.errno == errno.ENOTDIR:
        return refuse(path, "it is not a folder", errno.ENOTDIR)
    if exc.errno == errno.EISDIR:
        return refuse(path, "it is a folder, not a file", errno.EISDIR)
    if not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode):
        return refuse(path, "it is not a regular file", exc.errno)
    return cannot(verb, path, exc)


def _parts(path: Path, anchor: Path) -> tuple[str, ...]:
    try:
        parts = PurePath(path).relative_to(anchor).parts
    except ValueError:
        raise refuse(path, f"it is not inside {anchor}") from None
    if any(p in ("", ".", "..") for p in parts):
        raise refuse(path, f"it leads out of {anchor}")
    return parts


def _make_missing(anchor: Path) -> None:
    """Create ``anchor`` and its missing parents, 0700 (as the state folder always was)."""
    missing = []
    walk = anchor
    while not os.path.lexists(walk) and walk != walk.parent:
        missing.append(walk)
        walk = walk.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, FOLDER_MODE)
        except FileExistsError:
            continue  # made meanwhile (or planted): checked when opened
        except OSError as exc:
            raise cannot("create", folder, exc) from None
        if folder != anchor:  # the anchor is set to 0700 (or refused) when it is opened
            with suppress(OSError):  # replaced meanwhile: nothing of ours to tighten
                fd = os.open(folder, _DIR_FLAGS)
                try:
                    os.fchmod(fd, FOLDER_MODE)
                finally:
                    os.close(fd)


def _open_anchor(anchor: Path, create: bool) -> int:
    if create:
        _make_missing(anchor)
    try:
        fd = os.open(anchor, _DIR_FLAGS)
    except OSError as exc:
        raise _explain(anchor, exc, None, str(anchor), "open") from None
    try:
        _check_folder(fd, anchor, create)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _check_folder(fd: int, shown: Path, create: bool) -> None:
    """The open folder is ours (else StateFileError); with ``create``, made 0700."""
    st = _check_owner(fd, shown)
    if create and stat.S_IMODE(st.st_mode) != FOLDER_MODE:
        os.fchmod(fd, FOLDER_MODE)


def open_folder(path: Path, anchor: Path | None = None, create: bool = False) -> int:
    """A file descriptor of the folder ``path``, reached from ``anchor`` (default: ``path``
    itself) one checked folder at a time. With ``create``, missing folders are made and
    every folder on the way is set to 0700. Raises ``StateFileError`` (refused, or cannot
    be created) or ``FileNotFoundError`` (missing, without ``create``)."""
    anchor = path if anchor is None else anchor
    parts = _parts(path, anchor)
    fd = _open_anchor(anchor, create)
    shown = anchor
    try:
        for name in parts:
            shown = shown / name
            if create:
                try:
                    os.mkdir(name, FOLDER_MODE, dir_fd=fd)
                except FileExistsError:
                    pass
                except OSError as exc:
                    raise cannot("create", shown, exc) from None
            try:
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                raise _explain(shown, exc, fd, name, "open") from None
            os.close(fd)
            fd = child
            _check_folder(fd, shown, create)
    except BaseException:
        os.close(fd)
        raise
    return fd


def private_dir(path: Path, anchor: Path | None = None) -> Path:
    """Create or check the folder ``path`` (and those between ``anchor`` and it), 0700."""
    os.close(open_folder(path, anchor, create=True))
    return path


def check_folder(path: Path, anchor: Path | None = None) -> bool:
    """True when ``path`` is there and usable; False when it is missing; refused in words."""
    try:
        os.close(open_folder(path, anchor))
    except FileNotFoundError:
        return False
    return True


def _open_in(dir_fd: int, path: Path, flags: int) -> int:
    writing = bool(flags & (os.O_WRONLY | os.O_RDWR))
    verb = "write" if writing else "read"
    try:
        fd = os.open(path.name, flags | _FILE_FLAGS, FILE_MODE, dir_fd=dir_fd)
    except OSError as exc:
        raise _explain(path, exc, dir_fd, path.name, verb) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise refuse(path, "it is a folder, not a file", errno.EISDIR)
        if not stat.S_ISREG(st.st_mode):
            raise refuse(path, "it is not a regular file")
        _check_owner(fd, path)
        if writing and stat.S_IMODE(st.st_mode) != FILE_MODE:
            os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _folder_of(path: Path, anchor: Path | None, creating: bool) -> int:
    try:
        return open_folder(path.parent, anchor if anchor is not None else path.parent)
    except FileNotFoundError as exc:
        if creating:  # the folder went away: a write that cannot happen, in words
            raise cannot("write", path, exc) from None
        raise


def open_file(path: Path, flags: int, anchor: Path | None = None, durable: bool = False) -> int:
    """Open a state file (``O_NOFOLLOW``, 0600 when written) in its checked folder.

    ``anchor`` is the state folder the path is checked from (default: the file's own
    folder). ``durable`` fsyncs the folder, so that a file just created stays. A missing
    file (without ``O_CREAT``) is a ``FileNotFoundError``; a missing folder, when creating,
    is "cannot write PATH: no such file or directory".
    """
    folder = _folder_of(path, anchor, creating=bool(flags & os.O_CREAT))
    try:
        fd = _open_in(folder, path, flags)
        if durable:
            try:
                os.fsync(folder)
            except OSError as exc:
                os.close(fd)
                raise cannot("write", path.parent, exc) from None
        return fd
    finally:
        os.close(folder)


@contextmanager
def reading(path: Path, anchor: Path | None = None) -> Iterator[BinaryIO]:
    """A state file opened for reading, as a binary file object (closed on exit)."""
    fd = open_file(path, os.O_RDONLY, anchor)
    with os.fdopen(fd, "rb") as fh:
        yield fh


def read_bytes(path: Path, anchor: Path | None = None) -> bytes | None:
    """A state file's content (None when it is missing)."""
    try:
        with reading(path, anchor) as fh:
            return fh.read()
    except FileNotFoundError:
        return None
    except StateFileError:
        raise
    except OSError as exc:
        raise cannot("read", path, exc) from None


def append_whole(fd: int, data: bytes, path: Path, sync: bool = False) -> None:
    """Append ``data`` at the end of the file (fsynced with ``sync``): all of it, or none.

    When the write (or the fsync) fails part-way — a full disk, a file size limit — the
    file is cut back to its size before it, so no torn line is left behind.
    """
    size = os.fstat(fd).st_size
    try:
        view = memoryview(data)
        while view:  # one write, unless the OS took only part of it
            view = view[os.write(fd, view) :]
        if sync:
            os.fsync(fd)
    except OSError as exc:
        with suppress(OSError):
            os.ftruncate(fd, size)
        raise cannot("write", path, exc) from None


def write_at_start(fd: int, data: bytes, path: Path) -> None:
    """Make the file hold exactly ``data`` (fsynced); empty again if that fails."""
    try:
        os.ftruncate(fd, 0)
        view = memoryview(data)
        offset = 0
        while offset < len(data):
            offset += os.pwrite(fd, view[offset:], offset)
        os.fsync(fd)
    except OSError as exc:
        with suppress(OSError):
            os.ftruncate(fd, 0)
        raise cannot("write", path, exc) from None


def replace_file(path: Path, data: bytes, anchor: Path | None = None) -> None:
    """Replace a state file atomically: a new file written and fsynced, renamed over the
    old one, the folder fsynced. On an error the old file stays as it was."""
    folder = _folder_of(path, anchor, creating=True)
    tmp = f".{path.name}.{os.getpid()}.tmp"
    try:
        try:
            os.unlink(tmp, dir_fd=folder)  # left by a process that died mid-replace
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise cannot("write", path, exc) from None
        fd = _open_in(folder, path.with_name(tmp), os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        try:
            append_whole(fd, data, path, sync=True)
            os.replace(tmp, path.name, src_dir_fd=folder, dst_dir_fd=folder)
            os.fsync(folder)
        except OSError as exc:
            with suppress(OSError):
                os.unlink(tmp, dir_fd=folder)
            raise cannot("write", path, exc) from None
        finally:
            os.close(fd)
    finally:
        os.close(folder)


def remove_empty(path: Path, names: tuple[str, ...], anchor: Path) -> None:
    """Undo a folder just made: remove its ``names`` if empty, then the folder if empty."""
    try:
        parent = open_folder(path.parent, anchor)
    except OSError:
        return
    try:
        folder = os.open(path.name, _DIR_FLAGS, dir_fd=parent)
        try:
            for name in names:
                with suppress(OSError):
                    if os.stat(name, dir_fd=folder, follow_symlinks=False).st_size == 0:
                        os.unlink(name, dir_fd=folder)
        finally:
            os.close(folder)
        os.rmdir(path.name, dir_fd=parent)
    except OSError:
        pass  # not empty after all, or gone: leave it
    finally:
        os.close(parent)
