"""Exceptions raised for error replies (one subclass per protocol error code)."""


class RestShaperError(Exception):
    """An error reply from the sidecar (or a client-side failure). ``code`` is the wire code."""

    code = "error"

    def __init__(self, message, code=None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self):
        return f"{self.code}: {self.message}"


class BadHeaderError(RestShaperError):
    code = "bad_header"


class VersionError(RestShaperError):
    code = "version"


class DTypeError(RestShaperError):
    code = "dtype"


class ShapeError(RestShaperError):
    code = "shape"


class LimitError(RestShaperError):
    code = "limit"


class TokenIdError(RestShaperError):
    code = "token_id"


class Utf8Error(RestShaperError):
    code = "utf8"


class ValueRangeError(RestShaperError):
    """A number out of its range or not finite (NaN/inf entropies or logits, a bad temperature,
    a negative step, a prompt length past N)."""

    code = "value"


class BusyError(RestShaperError):
    code = "busy"


class ServerTimeoutError(RestShaperError):
    code = "timeout"


class InternalError(RestShaperError):
    code = "internal"


class ClientTimeoutError(RestShaperError):
    """No reply arrived within the client's timeout."""

    code = "client_timeout"


ERRORS = {cls.code: cls for cls in (BadHeaderError, VersionError, DTypeError, ShapeError, LimitError,
                                     TokenIdError, Utf8Error, ValueRangeError, BusyError, ServerTimeoutError, InternalError)}


def error_for(code, message):
    """The exception instance for a wire error code (unknown codes give a plain RestShaperError)."""
    cls = ERRORS.get(code)
    return cls(message) if cls else RestShaperError(message, code=code)
