"""Files the package writes: atomic replacement, output folders checked before any work, stale
temporary files cleaned up.

Every file is written through `atomic_write`: the content goes to a hidden temporary file in
the same folder (``.<name>.<pid>.tmp``), is flushed to disk, then renamed over the target, so a
reader (or a resumed run) sees either the old file or the new one, never a part. A process
killed mid-write leaves its temporary file behind; `remove_stale_tmp` deletes those whose
process is gone.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

_TMP_NAME = re.compile(r"^\..+\.(\d+)\.tmp$")


class OutputFolderError(ValueError):
    """An output folder that cannot be used (empty name, a file in the way, not writable)."""


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write `path` through `write(tmp)` on a temporary file in the same folder, then rename it.

    The temporary file is fsynced before the rename and removed if `write` fails, so `path` is
    either unchanged or complete.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """`atomic_write` of raw bytes."""
    atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: Path, text: str) -> None:
    """`atomic_write` of UTF-8 text."""
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def overwrite_in_place(path: Path, text: str) -> None:
    """Rewrite a small existing file without a temporary copy (for when the disk is full: the file's
    own blocks are reused). Not atomic; the fallback when `atomic_write_text` cannot write."""
    with open(path, "r+b") as handle:
        data = text.encode("utf-8")
        handle.write(data)
        handle.truncate(len(data))
        handle.flush()
        os.fsync(handle.fileno())


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_stale_tmp(folder: Path) -> list[Path]:
    """Delete the temporary files `atomic_write` left in `folder` (not below it) when their writing
    process died; files of live processes are kept. Returns the paths removed."""
    removed = []
    if not Path(folder).is_dir():
        return removed
    for path in Path(folder).iterdir():
        match = _TMP_NAME.match(path.name)
        if match and path.is_file() and not _process_alive(int(match.group(1))):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def output_folder(path: str | os.PathLike[str], name: str = "out") -> tuple[Path, list[Path]]:
    """Check an output folder and create it: returns (the folder, the folders created).

    The path is normalised first (``a/b/../c`` is ``a/c``, so no folder is made on the way to a
    ``..``). Refused with `OutputFolderError` naming `name`: an empty path, a path that is (or
    lies under) a file, a folder that cannot be created or written (checked by writing a file).
    """
    text = os.fspath(path)
    if not str(text).strip():
        raise OutputFolderError(f"{name}={text!r} is empty; give a folder, e.g. results/my_study")
    folder = Path(os.path.normpath(text))
    try:
        missing = [p for p in (folder, *folder.parents) if not p.exists()]
        blocking = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
        if blocking is not None:
            what = "is a file" if blocking == folder else f"lies under {blocking}, which is a file"
            raise OutputFolderError(f"{name}={text!r} {what}; give a folder")
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as err:
        raise OutputFolderError(f"{name}={text!r} cannot be used: {err.strerror or err}"
                                + (" (give a folder you can write to)" if isinstance(err, PermissionError) else "")
                                ) from None
    return folder, sorted(missing)


def save_figure(fig: Any, path: Path, **savefig_kwargs: Any) -> Path:
    """`fig.savefig` through `atomic_write` (the format from `path`'s suffix); returns `path`."""
    path = Path(path)
    atomic_write(path, lambda tmp: fig.savefig(tmp, format=path.suffix.lstrip(".") or "png", **savefig_kwargs))
    return path
