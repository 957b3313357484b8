"""The files a user names: reading sources safely, writing outputs atomically.

Reading (`read_source`): only regular files, and at most MAX_SOURCE_BYTES of them. A device
(`/dev/zero`), a fifo or a directory, also behind a symlink, is refused before a byte is read,
so it can neither fill memory nor block. Every failure of the operating system (no such file,
permission denied, a name too long) is a user error naming the file.

Writing (`check_writable`, `atomic_write`): a temporary file in the target's directory, then a
rename, so an interrupted run leaves the old file or the new one, never half of one; never over
an existing file unless the user said --force. `check_writable` creates (and removes) a
temporary file there, so an unwritable directory, a read-only file system or a name too long
is reported before a command's expensive part; a full disk is reported as such, whoever the
writer (torch's own writer says "unexpected pos").

A temporary file is `.NAME.archdsl-XXXXXXXX.tmp`, locked (flock) while it is written. Ctrl-C,
SIGTERM and SIGHUP remove it (cli.main turns the latter two into KeyboardInterrupt); SIGKILL
cannot be caught and leaves it behind, so each write into a directory first removes the
temporary files of this form there that no live process holds locked.
"""
from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional, Union

from .errors import ArchError, Span

try:
    import fcntl
except ImportError:  # not POSIX: no locks, so stale temporary files are never removed
    fcntl = None

MAX_SOURCE_BYTES = 64 * 2 ** 20  # larger source files are refused before they are read
TEMP_INFIX = ".archdsl-"
TEMP_NAME = re.compile(r"^\..*\.archdsl-[A-Za-z0-9_]{8}\.tmp$")
STALE_AFTER = 5.0  # seconds: a younger unlocked temporary file may be one being created now
SHOWN_PATH = 120  # longer paths are shortened in messages


def shown(path) -> str:
    """A path as messages show it: characters that are not printable (a NUL, a newline) as
    escapes, a 100,000-character name cut in the middle."""
    s = str(path)
    if not s.isprintable():
        s = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in s)
    if len(s) <= SHOWN_PATH:
        return s
    half = SHOWN_PATH // 2 - 2
    return f"{s[:half]}...{s[-half:]}"


def reason(e: OSError) -> str:
    """The operating system's words, as a message continues them ("file name too long")."""
    text = getattr(e, "strerror", None) or str(e)
    return text[:1].lower() + text[1:]


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a fifo"), (stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_source(path, span: Optional[Span] = None) -> bytes:
    """The bytes of the source file `path`. Errors are located at `span` (a `use` statement,
    and then name the file) or at the file itself."""
    where = span or Span(shown(path), 0, 0)
    subject = "" if span is None else f"{shown(path)} "

    def refuse(message):
        return ArchError(message, where)

    def unreadable(e):
        return refuse(f"cannot read {subject}({reason(e)})" if subject
                      else f"cannot read it: {reason(e)}")
    if "\x00" in str(path):
        raise refuse(f"{subject}cannot be a file name: it contains a NUL character")
    try:
        mode = os.stat(path).st_mode  # follows symlinks: the target's kind is what counts
    except FileNotFoundError:
        raise refuse(f"no such file {subject}".strip()) from None
    except OSError as e:
        raise unreadable(e) from None
    if stat.S_ISDIR(mode):
        raise refuse(f"{subject}is a directory, not an .arch file")
    if not stat.S_ISREG(mode):
        raise refuse(f"{subject}is {_kind(mode)}, not a regular file")
    try:
        # O_NONBLOCK: should the file have become a fifo since the stat, opening it does not
        # wait for a writer; fstat below sees what was opened.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)
                     | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise unreadable(e) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise refuse(f"{subject}is {_kind(st.st_mode)}, not a regular file")
        if st.st_size > MAX_SOURCE_BYTES:
            raise refuse(_too_large(subject, st.st_size))
        chunks, size = [], 0
        while True:  # the file may grow while it is read: never past the limit
            chunk = os.read(fd, min(1 << 20, MAX_SOURCE_BYTES + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_SOURCE_BYTES:
                raise refuse(_too_large(subject, size))
        return b"".join(chunks)
    except OSError as e:
        raise unreadable(e) from None
    finally:
        os.close(fd)


def _too_large(subject: str, size: int) -> str:
    return (f"{subject or 'the file '}has {size:,} bytes or more: source files are limited "
            f"to {MAX_SOURCE_BYTES // 2 ** 20} MiB")

# --------------------------------------------------------------------------- writing


def _temporary(p: Path) -> tuple:
    """Create and lock a temporary file beside `p`: (fd, path). Its name is cut so that it
    stays within the file system's limit whenever `p`'s name does."""
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name[:200]}{TEMP_INFIX}", suffix=".tmp",
                               dir=p.parent)
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pass  # a file system without locks: the file is only never taken for stale
    return fd, tmp


def remove_stale_temporaries(directory: Path) -> list:
    """Remove the temporary files of atomic_write in `directory` that no process holds locked
    (left by a run killed with SIGKILL). Returns their names."""
    if fcntl is None:
        return []
    removed = []
    try:
        names = [n for n in os.listdir(directory) if TEMP_NAME.match(n)]
    except OSError:
        return []
    for name in names:
        path = os.path.join(directory, name)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or time.time() - st.st_mtime < STALE_AFTER:
                continue
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises if a live writer holds it
            os.unlink(path)
            removed.append(name)
        except OSError:
            continue
        finally:
            os.close(fd)
    return removed


def _cannot_write(p: Path, e: OSError) -> ArchError:
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return ArchError(f"cannot write {shown(p)}: no space left on the device "
                         f"(the disk or the quota is full)")
    return ArchError(f"cannot write {shown(p)}: {reason(e)}")


def check_writable(path: Union[str, Path], force: bool) -> Path:
    """Refuse, before any work, an output that exists (without --force), is a directory, or
    cannot be created in its directory; returns it as a Path."""
    p = Path(path)
    if "\x00" in str(p):
        raise ArchError(f"cannot write {shown(p)!r}: a file name cannot contain a NUL character")
    try:
        st = os.lstat(p)  # a symlink counts as the user's file, even a dangling one
    except (FileNotFoundError, NotADirectoryError):
        st = None
    except OSError as e:
        raise _cannot_write(p, e) from None
    if st is not None and not force:
        raise ArchError(f"{shown(p)} exists; pass --force to overwrite it")
    if st is not None and os.path.isdir(p):
        raise ArchError(f"{shown(p)} is a directory")
    try:
        parent_is_dir = os.path.isdir(p.parent)
        parent_exists = parent_is_dir or os.path.lexists(p.parent)
    except (OSError, ValueError):
        parent_is_dir = parent_exists = False
    if not parent_exists:
        raise ArchError(f"directory {shown(p.parent)} does not exist")
    if not parent_is_dir:
        raise ArchError(f"cannot write {shown(p)}: {shown(p.parent)} is not a directory")
    try:
        fd, tmp = _temporary(p)
    except OSError as e:
        if e.errno == errno.ENAMETOOLONG:
            raise _cannot_write(p, e) from None
        raise ArchError(f"cannot write {shown(p)}: cannot create a file in "
                        f"{shown(p.parent)} ({reason(e)})") from None
    os.close(fd)
    os.unlink(tmp)
    return p


WRITE_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS)


def _os_error_inside(e: BaseException) -> Optional[OSError]:
    """The OSError itself, or the failed write a library's own exception was raised while
    handling (torch.save into a file object: RuntimeError during an OSError), if any."""
    if isinstance(e, OSError):
        return e
    seen = set()
    while e is not None and id(e) not in seen:
        if isinstance(e, OSError) and e.errno in WRITE_ERRORS:
            return e
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return None


def _disk_full(directory: Path) -> bool:
    """Whether the file system of `directory` has (next to) no room left: torch's writer
    reports a full disk as a RuntimeError without saying so."""
    try:
        st = os.statvfs(directory)
    except (OSError, AttributeError):
        return False
    return st.f_bavail * st.f_frsize < 64 * 2 ** 10


def atomic_write(path: Union[str, Path], data: Union[bytes, str, Callable], force: bool = False):
    """Write `data` (bytes, text, or a function that writes to the path it is given) to `path`
    so that an interrupted run leaves either the old file or the new one, never half of one.
    An unwritable target or a full disk is an ArchError naming `path`."""
    p = check_writable(path, force)
    remove_stale_temporaries(p.parent)
    try:
        fd, tmp = _temporary(p)
    except OSError as e:
        raise _cannot_write(p, e) from None
    try:
        try:
            if callable(data):
                data(tmp)
            else:
                with os.fdopen(fd, "wb", closefd=False) as f:
                    f.write(data.encode("utf-8") if isinstance(data, str) else data)
            # mkstemp makes the file 0600; give it the mode a plain open() would have.
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
            os.replace(tmp, p)
        finally:
            os.close(fd)  # releases the lock, after the rename
    except BaseException as e:
        # Measured before the temporary file goes: it holds the space that ran out. A writer's
        # own words for a full disk vary (torch: "unexpected pos", dot: "gvwrite_no_z").
        full = isinstance(e, Exception) and _disk_full(p.parent)
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if not isinstance(e, Exception):
            raise
        inner = _os_error_inside(e)
        if inner is not None and not isinstance(e, ArchError):
            raise _cannot_write(p, inner) from None
        if full:
            raise _cannot_write(p, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))) from None
        raise
    return p
