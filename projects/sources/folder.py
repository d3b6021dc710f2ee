"""Server folders: a path accepted only inside the configured roots, walked without reading."""

import os
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError

from projects.sources.listing import (
    ImageUnavailable,
    Listed,
    SourceUnavailable,
    has_image_extension,
)

# Linux's limits (PATH_MAX, NAME_MAX); longer paths fail in every call with ENAMETOOLONG.
PATH_MAX_BYTES = 4096
NAME_MAX_BYTES = 255


def folder_allowed(path: Path) -> bool:
    """Whether a registered folder is still inside the roots the server allows now."""
    real = Path(path).resolve()
    return any(
        real.is_relative_to(Path(root).resolve()) for root in settings.ANNOTATOR_FOLDER_ROOTS
    )


def folder_resolve(raw: str) -> Path:
    """The real folder for a path typed by a client, or a ValidationError saying why not.

    Relative paths are taken inside the first root. `..`, absolute paths elsewhere and
    symlinks that lead out of every root are refused.
    """
    roots = [Path(root).resolve() for root in settings.ANNOTATOR_FOLDER_ROOTS]
    if not roots:
        raise ValidationError(
            {"path": "This server allows no folders: ANNOTATOR_FOLDER_ROOTS is empty."}
        )
    raw = (raw or "").strip()
    if not raw:
        raise ValidationError({"path": "Give the folder's path."})
    problem = _path_problem(raw)
    if problem:
        raise ValidationError({"path": problem})
    typed = Path(raw)
    if ".." in typed.parts:
        raise ValidationError({"path": "Paths with '..' are not accepted; give the full path."})
    candidate = typed if typed.is_absolute() else roots[0] / typed
    try:
        resolved = candidate.resolve()
        inside = any(resolved.is_relative_to(root) for root in roots)
        is_dir = inside and resolved.is_dir()
    except (OSError, ValueError) as error:
        # Whatever else the file system refuses in a typed path is the client's to fix.
        reason = getattr(error, "strerror", None) or str(error)
        raise ValidationError({"path": f"{raw!r} cannot be used as a path: {reason}."}) from None
    if not inside:
        allowed = ", ".join(str(root) for root in roots)
        raise ValidationError(
            {"path": f"{raw!r} is outside the folders this server allows ({allowed})."}
        )
    if not is_dir:
        raise ValidationError({"path": f"{raw!r} is not a folder on the server."})
    return resolved


def _path_problem(raw: str) -> str:
    """What makes a typed path one no file system call can take ("" if nothing)."""
    try:
        encoded = os.fsencode(raw)
    except UnicodeError:
        return "The path contains characters that cannot be part of a file name."
    if b"\x00" in encoded:
        return "The path contains a NUL character."
    if len(encoded) > PATH_MAX_BYTES:
        return f"The path is longer than {PATH_MAX_BYTES} bytes."
    if any(len(part) > NAME_MAX_BYTES for part in encoded.split(b"/")):
        return f"A folder name in the path is longer than {NAME_MAX_BYTES} bytes."
    return ""


def folder_list(root: Path, *, recursive: bool, extensions: list[str]) -> Iterator[Listed]:
    """Image files under `root`, with size and modification time as the etag.

    Symlinked files whose target is outside `root` are skipped, so a link cannot expose
    files the root was not meant to share; linked folders are not followed (a link to an
    ancestor would loop). Paths stay plain strings: pathlib per entry would double the time
    of a walk over 100,000 files.
    """
    root = Path(root)
    if not folder_allowed(root):
        raise SourceUnavailable(f"{str(root)!r} is no longer inside ANNOTATOR_FOLDER_ROOTS.")
    if not root.is_dir():
        raise SourceUnavailable(f"The folder {str(root)!r} is gone or is not a folder.")
    real_root = root.resolve()
    stack = [(str(root), "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            # Sorted, so the pool follows file names as a person reads them.
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError as error:
            if not prefix:
                raise SourceUnavailable(f"The folder cannot be read: {error.strerror}.") from None
            continue
        subfolders: list[tuple[str, str]] = []
        for entry in entries:
            try:
                listed = _entry(entry, prefix, real_root, recursive, extensions, subfolders)
            except OSError:
                continue
            if listed is not None:
                yield listed
        stack.extend(reversed(subfolders))


def _entry(entry, prefix, real_root, recursive, extensions, stack) -> Listed | None:
    if entry.is_dir(follow_symlinks=False):
        if recursive:
            stack.append((entry.path, f"{prefix}{entry.name}/"))
        return None
    if not has_image_extension(entry.name, extensions):
        return None
    if entry.is_symlink() and not _inside(Path(entry.path), real_root):
        return None
    if not entry.is_file():
        return None
    stat = entry.stat()
    return Listed(
        path=prefix + entry.name,
        size=stat.st_size,
        etag=f"{stat.st_mtime_ns:x}-{stat.st_size:x}",
    )


def _inside(path: Path, real_root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(real_root)
    except OSError:
        return False


def folder_read(root: Path, relative: str) -> bytes:
    """Bytes of one file of a folder source; never anything outside the folder."""
    root = Path(root).resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise ImageUnavailable(f"{relative!r} is outside its source folder.")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ImageUnavailable(f"The file {relative!r} is gone.") from None
    except IsADirectoryError:
        raise ImageUnavailable(f"{relative!r} is a folder, not a file.") from None
    except OSError as error:
        raise ImageUnavailable(f"The file {relative!r} cannot be read: {error.strerror}.") from None
