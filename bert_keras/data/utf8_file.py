"""`read_utf8`: a data file's text, with invalid UTF-8 reported by file, line and column instead of a bare
`UnicodeDecodeError` from deep inside a reader; `read_json`: the same for a JSON file, whose syntax errors name
the file and line too."""

import contextlib
import json
import os
import tempfile


def read_utf8(path):
    """The text of `path` (UTF-8; a leading BOM is dropped).

    Raises:
        FileNotFoundError: no such file.
        ValueError: the bytes are not UTF-8; names the file, line, column and the bad bytes, and the fix.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"Data file {path} does not exist.")
    with open(path, "rb") as f:
        raw = f.read()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        bad = raw[error.start:error.end].hex(" ")
        raise ValueError(f"{path}:{line}: not valid UTF-8 (byte {bad} at column {column}: {error.reason}). "
                         "Re-save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8), or fix that line.") from None



def read_json(path, fix="re-download or re-save it"):
    """The parsed JSON of `path` (UTF-8).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not UTF-8 (as `read_utf8`), or not valid JSON: names the file, line and column, and `fix`.
    """
    try:
        return json.loads(read_utf8(path))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}:{error.lineno}: not valid JSON ({error.msg}, column {error.colno}); "
                         f"{fix}.") from None


@contextlib.contextmanager
def atomic_output(path):
    """A temporary path beside `path` to write to; renamed onto `path` when the block ends, removed if it raises,
    so a reader never sees half a file and a crash leaves the previous one. Creates the directory; the file gets the
    permissions `open` would give it.

    Example:
    >>> import os, tempfile
    >>> out = os.path.join(tempfile.mkdtemp(), "vocab.txt")
    >>> with atomic_output(out) as tmp:
    ...     _ = open(tmp, "w").write("[PAD]\\n")
    >>> open(out).read()
    '[PAD]\\n'
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}-", dir=directory)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; the file gets what open() would have given it
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def atomic_write_json(path, data):
    """Writes `data` as indented JSON (keys sorted) to `path` through `atomic_output`."""
    with atomic_output(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True)
