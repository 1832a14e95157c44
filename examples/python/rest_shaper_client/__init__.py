"""Python client for the rest-shaper ZeroMQ sidecar (protocol v1, see protocol/PROTOCOL.md)."""
from .client import Client, ShapeResult
from .errors import (BadHeaderError, BusyError, ClientTimeoutError, DTypeError, InternalError, LimitError,
                     RestShaperError, ServerTimeoutError, ShapeError, TokenIdError, Utf8Error, ValueRangeError,
                     VersionError)
from .digest import WeightDigest, row_digests
from .protocol import CATEGORY_NAMES

__all__ = ["Client", "ShapeResult", "RestShaperError", "BadHeaderError", "VersionError", "DTypeError",
           "ShapeError", "LimitError", "TokenIdError", "Utf8Error", "ValueRangeError", "BusyError", "ServerTimeoutError",
           "InternalError", "ClientTimeoutError", "CATEGORY_NAMES", "WeightDigest", "row_digests"]
__version__ = "0.1.0"
