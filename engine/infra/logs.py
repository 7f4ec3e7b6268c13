"""Structured logs (structlog): one line per act and per refusal, to stderr or a file.

Our own lines go through structlog's native path; stdlib loggers of libraries
(apscheduler, alembic) are bridged into the same output. Never to stdout: `--json`
output must stay clean (structlog#551). structlog is imported only when a line is
logged, so read-only commands do not pay for it.
"""

import logging
import sys
from pathlib import Path
from typing import Any, TextIO

_files: list[TextIO] = []  # structlog 26 holds weak references to files; keep ours alive
_pending: dict[str, Any] | None = None


def open_log(log_file: Path) -> TextIO:
    """Open the log file for appending now, so an unwritable log fails before any act."""
    try:
        if log_file.exists() and not log_file.is_file():  # a FIFO would block, a device never ends
            raise ValueError(f"cannot write the log file {log_file}: not a regular file")
        stream: TextIO = open(log_file, "a", encoding="utf-8")  # noqa: SIM115 (kept for the process)
    except OSError as err:
        raise ValueError(f"cannot write the log file {log_file}: {err.strerror or err}") from None
    _files.append(stream)
    return stream


def configure_logging(*, log_file: Path | None = None, level: int | None = None, cache: bool = True,
                      stream: TextIO | None = None) -> None:
    """JSON lines to `log_file` (info and up), else to stderr at warning and up."""
    import structlog

    global _pending
    _pending = None
    if log_file is not None or stream is not None:
        stream = stream if stream is not None else open_log(log_file)  # type: ignore[arg-type]
        level = logging.INFO if level is None else level
    else:
        stream = sys.stderr
        level = logging.WARNING if level is None else level
    shared: list[Any] = [structlog.contextvars.merge_contextvars, structlog.processors.add_log_level,
                         structlog.processors.TimeStamper(fmt="iso", utc=True)]
    render: list[Any] = [structlog.processors.dict_tracebacks, structlog.processors.JSONRenderer(ensure_ascii=False)]
    structlog.configure(processors=shared + render,
                        wrapper_class=structlog.make_filtering_bound_logger(level),
                        logger_factory=structlog.PrintLoggerFactory(file=stream),
                        cache_logger_on_first_use=cache)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *render]))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(level, logging.WARNING) if log_file is None else level)


_info = False  # does anyone read info lines (a log file)?


def log_to(log_file: Path | None) -> None:
    """Say where logs go, without importing structlog: configured on the first log line.
    The file is opened now: an act must never be committed and then fail on its log."""
    global _pending, _info
    if log_file is None:
        _pending, _info = {}, False
        return
    _pending, _info = {"stream": open_log(log_file)}, True


def act_logged(outcome: Any, name: str) -> None:
    """One line per act, when a log file is there to read it."""
    if not _info or outcome.dry_run:
        return
    last = outcome.records[-1]
    try:  # the act is committed: a full disk may lose its log line, never report the act as failed
        get_logger().info("act", act=name, seq=last.seq, events=[r.type for r in outcome.records], item=last.item,
                          meeting=last.meeting, actor=last.actor, authority=last.authority,
                          identity=last.identity, rulebook=last.rulebook)
        for f in _files:
            f.flush()
    except (OSError, ValueError):
        pass


def get_logger() -> Any:
    import structlog

    if _pending is not None:
        configure_logging(**_pending)
    return structlog.get_logger("kaigi")
