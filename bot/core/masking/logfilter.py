"""The logging filter that masks personal data in log records before any handler writes them."""

from __future__ import annotations

import logging

from bot.core.masking.text import mask_text


class MaskingFilter(logging.Filter):
    """Masks a record's message (rendered with its ``args``), its traceback and its stack info.

    The message is rendered here and ``args`` emptied, so data passed as an argument
    (``log.info("caller %s", phone)``) is masked too. A traceback is rendered with the default
    formatting so that it is masked before any handler formats the record. Attach the filter to
    *handlers*: a logger's own filters do not see records propagated from child loggers.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_text(_render(record))
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


def _render(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # a bad format string: logging itself would print msg and args raw
        return f"{record.msg} {record.args!r}"


def install_log_masking(logger: logging.Logger | None = None) -> None:
    """Add a :class:`MaskingFilter` to each handler of ``logger`` (default: the root logger).

    Idempotent. Only the handlers present *now* get it: call this again after adding handlers
    (``logging.basicConfig``, ``dictConfig``, a library configuring its own), or add
    ``MaskingFilter()`` to them directly.
    """
    target = logger if logger is not None else logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(existing, MaskingFilter) for existing in handler.filters):
            handler.addFilter(MaskingFilter())
