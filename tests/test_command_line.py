"""`clear_errors`: refused input ends with its message and exit status 1; other errors keep their traceback."""

import pytest

from bert_keras.command_line import clear_errors


def _raising(error):
    def main(argv):
        raise error
    return main


def test_refused_input_ends_with_the_message_and_status_1(capsys, monkeypatch):
    monkeypatch.delenv("BERT_KERAS_TRACEBACK", raising=False)
    for error in (ValueError("train.tsv:3: expected 2 columns, found 1"), FileNotFoundError("no such file x.tsv")):
        with pytest.raises(SystemExit) as exit_info:
            clear_errors(_raising(error))([])
        assert exit_info.value.code == 1
        err = capsys.readouterr().err
        assert err.startswith(f"error ({type(error).__name__}): {error}\n") and "BERT_KERAS_TRACEBACK=1" in err
    assert clear_errors(lambda argv: 7)([]) == 7


def test_other_errors_and_the_switch_keep_the_traceback(monkeypatch):
    monkeypatch.delenv("BERT_KERAS_TRACEBACK", raising=False)
    with pytest.raises(RuntimeError, match="a bug"):  # not an input problem: the traceback stays
        clear_errors(_raising(RuntimeError("a bug")))([])
    monkeypatch.setenv("BERT_KERAS_TRACEBACK", "0")  # off, as unset
    with pytest.raises(SystemExit):
        clear_errors(_raising(ValueError("bad value")))([])
    monkeypatch.setenv("BERT_KERAS_TRACEBACK", "1")
    with pytest.raises(ValueError, match="bad value"):
        clear_errors(_raising(ValueError("bad value")))([])
