"""The importer's one error type: a refusal the CLI prints as one line and exits 1 on."""


class ImportRefused(Exception):
    """The checkpoint cannot be imported, or the import failed a check. `where` names the file or
    step; the message says what is wrong and, where there is one, what to do."""

    def __init__(self, where: str, message: str):
        super().__init__(f"{where}: {message}")
        self.where = where


def first_line(err: BaseException) -> str:
    """The first line of an exception's message (torch and transformers raise long ones)."""
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0][:300]
