"""`read_utf8`: a data file's text, with invalid UTF-8 reported by file, line and column instead of a bare
`UnicodeDecodeError` from deep inside a reader; `read_json`: the same for a JSON file, whose syntax errors name
the file and line too."""

import json
import os


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


def atomic_write_json(path, data):
    """Writes `data` as indented JSON (keys sorted) to `path` through a temporary file renamed into place, so a
    reader never sees half a file and a crash leaves the previous one."""
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True)
    os.replace(tmp, path)
