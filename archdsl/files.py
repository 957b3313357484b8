"""Writing user-visible files safely: atomically (a temporary file in the same directory, then
a rename), and never over an existing file unless the user said --force."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable, Union

from .errors import ArchError


def check_writable(path: Union[str, Path], force: bool) -> Path:
    p = Path(path)
    if p.exists() and not force:
        raise ArchError(f"{p} exists; pass --force to overwrite it")
    if p.exists() and p.is_dir():
        raise ArchError(f"{p} is a directory")
    if not p.parent.exists():
        raise ArchError(f"directory {p.parent} does not exist")
    return p


def atomic_write(path: Union[str, Path], data: Union[bytes, str, Callable], force: bool = False):
    """Write `data` (bytes, text, or a function that writes to the path it is given) to `path`
    so that an interrupted run leaves either the old file or the new one, never half of one."""
    p = check_writable(path, force)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        if callable(data):
            os.close(fd)
            data(tmp)
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(data.encode("utf-8") if isinstance(data, str) else data)
        # mkstemp makes the file 0600; give it the mode a plain open() would have.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return p
