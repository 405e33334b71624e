"""`run_main`: how every command-line program of this package (`trainers`, `export`) runs its absl `main`.

Leans on absl's `app.run` (flag parsing, usage errors). What it adds: a run refused for its input (a missing or
malformed file, a bad flag value, a directory in the way: the `ValueError`s and `OSError`s our readers raise with
the file, line and fix in their message) ends with `error (<type>): <message>` on stderr and exit status 1, not a
30-line traceback whose last line is the message. `BERT_KERAS_TRACEBACK=1` shows the traceback too.
"""

import os
import sys

# What a refused input raises: ValueError (UnicodeDecodeError and json.JSONDecodeError included) from our checks
# and readers, and the OSErrors of a missing file or a directory in the way.
INPUT_ERRORS = (ValueError, FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError,
                PermissionError)


def clear_errors(main):
    """`main` with refused inputs reported as `error: <message>` on stderr and exit status 1."""
    def wrapped(argv):
        try:
            return main(argv)
        except INPUT_ERRORS as e:
            if os.environ.get("BERT_KERAS_TRACEBACK", "0") not in ("", "0"):
                raise
            name = type(e).__name__
            print(f"error ({name}): {e}\n(BERT_KERAS_TRACEBACK=1 shows where it was raised.)", file=sys.stderr)
            sys.exit(1)
    return wrapped


def run_main(main):
    """`absl.app.run(main)` with `clear_errors`."""
    from absl import app

    app.run(clear_errors(main))
