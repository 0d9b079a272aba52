"""Errors a user can fix. The build prints their message alone, never a traceback."""


class Hw4Error(Exception):
    """Base class: the message names the cause and the fix."""


class RenderError(Hw4Error):
    """A template problem, reported as `template:line: message`."""


class LatexError(Hw4Error):
    """LaTeX failed or the PDF is not fit to hand in; the message is a short summary."""


class DataError(Hw4Error):
    """Input data (MNIST) is missing or wrong."""


class DamagedFile(Hw4Error):
    """A file the build wrote cannot be read back: changed, cut short or overwritten since."""
