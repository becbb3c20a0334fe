"""Files gonogo writes on the operator's behalf, opened so nobody else can steer them.

A session directory (or an incident ``out_dir``) is used only when it is a real
directory (not a symbolic link) owned by the operator and not writable by group
or others, or when gonogo creates it fresh (mode 0700). Files inside it are
opened relative to the directory's descriptor with ``O_NOFOLLOW`` and created
0600, so a link planted before the check cannot redirect a write to another of
the operator's files, and a new file is never created through someone else's
name (temporary files use ``O_EXCL``).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

__all__ = ["read_small_file", "SECRET_FILE_LIMIT", "UnsafePath", "PrivateDir", "open_private_dir", "write_private_file", "FILE_MODE"]

FILE_MODE = 0o600
DIR_MODE = 0o700


class UnsafePath(Exception):
    """A path gonogo refuses to write through; the message says why and what to do."""


def _owner(uid: int) -> str:
    try:
        import pwd

        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (KeyError, ImportError):
        return f"uid {uid}"


def _check_dir(path: Path, st: os.stat_result, *, strict: bool = True) -> None:
    if stat.S_ISLNK(st.st_mode):
        raise UnsafePath(f"{path} is a symbolic link; use a real directory you own")
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafePath(f"{path} is not a directory")
    if not strict:
        return
    me = os.geteuid()
    if st.st_uid != me:
        raise UnsafePath(
            f"{path} is owned by {_owner(st.st_uid)}, not by you ({_owner(me)}); "
            "someone else could change what gonogo writes there: use a directory you own"
        )
    if st.st_mode & 0o022:
        raise UnsafePath(
            f"{path} is writable by {'others' if st.st_mode & 0o002 else 'its group'} "
            f"(mode {stat.S_IMODE(st.st_mode):04o}); run `chmod go-w {path}` or use another directory"
        )


class PrivateDir:
    """An open, checked directory; files are opened relative to its descriptor."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd = fd

    def open(self, name: str, flags: int, mode: int = FILE_MODE) -> int:
        """``os.open`` of ``name`` inside the directory, never following a link.

        An existing file must be a regular file owned by the operator."""
        if "/" in name or name in ("", ".", ".."):
            raise UnsafePath(f"{name!r} is not a plain file name")
        try:
            fd = os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=self.fd)
        except OSError as exc:
            if exc.errno == 40:  # ELOOP: the name is a symbolic link
                raise UnsafePath(f"{self.path / name} is a symbolic link; refusing to follow it") from None
            raise
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
            os.close(fd)
            raise UnsafePath(f"{self.path / name} is not a regular file owned by you")
        return fd

    def exists(self, name: str) -> bool:
        try:
            os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return False
        return True

    def fsync(self) -> None:
        os.fsync(self.fd)

    def write_file(self, name: str, data: bytes | Iterable[bytes], mode: int = FILE_MODE) -> Path:
        """Write ``name`` atomically: a fresh temporary (O_EXCL), fsync, rename over.
        ``data`` may come in chunks (a streamed export: memory independent of its size)."""
        tmp = f".{name}.{os.getpid()}.tmp"
        fd = self.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            for chunk in [data] if isinstance(data, bytes) else data:
                view = memoryview(chunk)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            os.unlink(tmp, dir_fd=self.fd)
            raise
        os.close(fd)
        os.rename(tmp, name, src_dir_fd=self.fd, dst_dir_fd=self.fd)
        self.fsync()
        return self.path / name

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> PrivateDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_private_dir(
    path: str | os.PathLike[str], *, create: bool = True, strict: bool = True
) -> PrivateDir:
    """Open ``path`` for gonogo's files, creating it 0700 (and missing parents) if absent.

    Raises ``UnsafePath`` for a link, a directory of someone else's, or one that
    group or others may write to (``strict=False`` only refuses a link or a
    non-directory: for files written by ``write_file``)."""
    p = Path(path)
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        if not create:
            raise UnsafePath(f"{p} does not exist") from None
        if p.parent != p:
            p.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.mkdir(p, DIR_MODE)
        except FileExistsError:
            pass  # created meanwhile: checked below like any existing directory
        st = os.lstat(p)
    _check_dir(p, st, strict=strict)
    try:
        fd = os.open(p, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise UnsafePath(f"cannot open {p}: {exc.strerror}") from None
    try:
        _check_dir(p, os.fstat(fd), strict=strict)  # the directory we opened is the one we checked
    except UnsafePath:
        os.close(fd)
        raise
    return PrivateDir(p, fd)


def write_private_file(path: str | os.PathLike[str], data: bytes | str | Iterable[str], *,
                       create_dir: bool = True) -> Path:
    """Write one file (an export, an incident record) 0600, atomically; ``data`` may be
    an iterable of text chunks, written as they come.

    The directory may be shared (``/tmp``, a team's incident folder): the file is
    written as a fresh ``O_EXCL`` temporary and renamed into place, and a rename
    replaces a planted link instead of writing through it."""
    p = Path(path)
    payload: bytes | Iterable[bytes]
    if isinstance(data, str | bytes):
        payload = data.encode("utf-8") if isinstance(data, str) else data
    else:
        payload = (chunk.encode("utf-8") for chunk in data)
    with open_private_dir(p.parent, create=create_dir, strict=False) as d:
        return d.write_file(p.name, payload)


SECRET_FILE_LIMIT = 64 * 1024  # a token, a key, a password: never megabytes


def read_small_file(path: str | os.PathLike[str], limit: int) -> bytes:
    """The bytes of a small regular file, read without ever waiting or filling memory.

    A FIFO, a device (``/dev/zero``), a directory or a file over ``limit`` bytes (a
    2 GiB sparse file) raises ``UnsafePath`` at once instead of blocking the event
    loop or reading until memory runs out."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise UnsafePath(exc.strerror or str(exc)) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = ("a FIFO" if stat.S_ISFIFO(st.st_mode) else "a device" if stat.S_ISCHR(st.st_mode)
                    or stat.S_ISBLK(st.st_mode) else "a directory" if stat.S_ISDIR(st.st_mode)
                    else "not a regular file")
            raise UnsafePath(f"is {kind}, not a regular file")
        if st.st_size > limit:
            raise UnsafePath(f"is {st.st_size} bytes; at most {limit} are read")
        data = os.read(fd, limit + 1)
        if len(data) > limit:  # grew while we looked
            raise UnsafePath(f"is over {limit} bytes")
        return data
    finally:
        os.close(fd)
