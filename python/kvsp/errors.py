"""Exceptions of the kvsp package.

Every failure of the C library is an :class:`Error` (or a subclass) carrying
the library's status name (``"ERR_TRUNCATED"``), its numeric code, the
absolute byte offset in the stream where it happened (``-1`` when unknown)
and the library's message. They pickle with these attributes, so an error
in a multiprocessing or Dask worker reaches the parent intact.
"""


class Error(Exception):
    """A failure reported by libkvsparser."""

    def __init__(self, message, status="ERR_INVALID_ARG", code=-1, offset=-1):
        super().__init__(message, status, code, offset)
        self.message = message
        self.status = status
        self.code = code
        self.offset = offset

    def __str__(self):
        where = " at offset %d" % self.offset if self.offset >= 0 else ""
        return "%s%s: %s" % (self.status, where, self.message)


class FormatError(Error):
    """The input is not valid EBML/Matroska (bad ID, size, block, lacing...)."""


class TruncatedError(FormatError):
    """The input ended inside an element; everything before it was delivered."""


class LimitError(Error):
    """The input exceeds a configured limit (element size, depth, metadata)."""


class DecodeError(Error):
    """The frame decoder failed (no decodable track, codec could not open)."""


class ServiceError(Error):
    """A Kinesis Video Streams call failed (for the client)."""


_FORMAT = {"ERR_INVALID_ID", "ERR_INVALID_SIZE", "ERR_CHILD_OVERRUN", "ERR_BAD_INTEGER",
           "ERR_BAD_FLOAT", "ERR_UNKNOWN_SIZE", "ERR_BAD_BLOCK", "ERR_BAD_LACING",
           "ERR_NOT_TOP_LEVEL"}
_LIMIT = {"ERR_ELEMENT_TOO_LARGE", "ERR_STRING_TOO_LONG", "ERR_TOO_DEEP", "ERR_METADATA_LIMIT"}


def _class_for(status):
    if status == "ERR_TRUNCATED":
        return TruncatedError
    if status in _FORMAT:
        return FormatError
    if status in _LIMIT:
        return LimitError
    if status == "ERR_SERVICE":
        return ServiceError
    return Error


def _from_status(code, status, offset, message, decoder=False):
    """The exception for a library status (called by kvsp._native); decoder:
    the frame decoder failed itself (a codec it cannot open, memory)."""
    cls = DecodeError if decoder else _class_for(status)
    return cls(message, status, code, offset)
