"""The one error type users see.

Anything a person can fix (a bad path, a missing token, a handle that does not
exist) is raised as ``HuggingTweetsError`` with a single line that says what
went wrong and what to do. The CLI prints it without a traceback and exits 1;
the notebook shows it in the step's output.
"""


class HuggingTweetsError(Exception):
    """A problem the user can fix; ``str(err)`` is one line that says how."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))  # always one line


class Elsewhere(HuggingTweetsError):
    """Under a launcher, the main process failed; this one stops without a word (the main one said why)."""


class NotEnoughTweets(HuggingTweetsError):
    """Too little text kept after cleaning to fine-tune on."""


class InputTooLarge(HuggingTweetsError):
    """A file (or an archive member) bigger than a reader accepts; never swallowed as "optional"."""


def first_line(err: BaseException) -> str:
    """An exception's first non-empty line, or its type's name: for one-line messages."""
    text = str(err).strip()
    return text.splitlines()[0].strip() if text else type(err).__name__


def is_failure(err: BaseException) -> bool:
    """A library's failure to read a file (to turn into one line), not an interrupt or exhaustion.

    Rust libraries (tokenizers, safetensors) signal a panic with pyo3's ``PanicException``,
    which derives from BaseException, so ``except Exception`` lets it through.
    """
    if isinstance(err, MemoryError):
        return False  # the CLI says "out of memory" and what to lower
    return isinstance(err, Exception) or type(err).__name__ == "PanicException"
