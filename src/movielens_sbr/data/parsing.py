"""What every format parser shares: the bad-line policy, reports, text checks (no Kedro).

A parser collects its bad lines as :data:`Problem` tuples and hands them to one
:class:`BadLinePolicy`, which fails, or skips them within the allowed fraction; what was
skipped goes into a :class:`ParseReport`.
"""

from __future__ import annotations

import codecs
import logging
from dataclasses import dataclass

logger = logging.getLogger(__name__)

ON_BAD_LINES = ("fail", "skip")
SHOWN = 5  # offending lines quoted in a report
# MovieLens 1M was collected 2000-2003; a generous window catches garbage timestamps.
MIN_TIMESTAMP = 788_918_400  # 1995-01-01
MAX_TIMESTAMP = 2_000_000_000  # 2033-05-18

# (line number, reason, line text), one per bad line
Problem = tuple[int, str, str]


class ParseError(ValueError):
    """A data file has lines that do not follow its official format."""


@dataclass(frozen=True)
class ParseReport:
    """What parsing one file dropped: lines read, lines skipped and the first of them."""

    file_name: str
    lines: int
    skipped: int
    first_skipped: tuple[str, ...] = ()

    @classmethod
    def of(cls, file_name: str, problems: list[Problem], n_lines: int) -> ParseReport:
        """The report of a file whose skipped lines are all in ``problems``."""
        return cls(
            file_name,
            n_lines,
            len(problems),
            tuple(f"line {line}: {reason}" for line, reason, _ in problems[:SHOWN]),
        )

    def as_dict(self) -> dict:
        return {
            "file": self.file_name,
            "lines": self.lines,
            "skipped_lines": self.skipped,
            "first_skipped": list(self.first_skipped),
        }


def line_report(file_name: str, problems: list[Problem], count: int | None = None) -> str:
    """``N bad line(s) in FILE`` and the first of them, one per line."""
    shown = "\n".join(
        f"  {file_name}, line {line}: {reason}: {text[:80]!r}"
        for line, reason, text in problems[:SHOWN]
    )
    count = len(problems) if count is None else count
    return f"{count} bad line(s) in {file_name}; the first ones:\n{shown}"


@dataclass(frozen=True)
class BadLinePolicy:
    """What to do with bad lines: ``fail`` on the first file that has any, or ``skip`` them
    (logged and counted) unless they exceed ``max_skipped_fraction`` of the file's lines.

    Set by ``ingestion.on_bad_lines`` and ``ingestion.max_skipped_fraction``.
    """

    on_bad_lines: str = "fail"
    max_skipped_fraction: float = 0.01

    def __post_init__(self) -> None:
        if self.on_bad_lines not in ON_BAD_LINES:
            raise ValueError(
                f"on_bad_lines must be one of {ON_BAD_LINES}, got {self.on_bad_lines!r}"
            )

    def apply(
        self, file_name: str, problems: list[Problem], n_lines: int, count: int | None = None
    ) -> None:
        """Raise for bad lines under ``fail``, or when ``skip`` would drop too many of them.

        ``count`` is the number of bad lines when ``problems`` lists only the first ones.
        """
        count = len(problems) if count is None else count
        if not count:
            return
        too_many = count > self.max_skipped_fraction * n_lines
        if self.on_bad_lines == "fail" and not too_many:
            raise ParseError(
                line_report(file_name, problems, count)
                + "\nFix these lines, or set ingestion.on_bad_lines: skip in "
                "conf/base/parameters_ingestion.yml to drop them."
            )
        if too_many:
            # Skipping would not help: say so rather than suggest a setting that refuses.
            raise ParseError(
                line_report(file_name, problems, count)
                + f"\n{count} of {n_lines} lines are bad, more than "
                f"ingestion.max_skipped_fraction={self.max_skipped_fraction}: the file is "
                "probably damaged or not in the expected format (a file pasted twice repeats "
                "every line); fix or replace the file."
            )
        logger.warning("Skipping %s", line_report(file_name, problems, count))


STRICT = BadLinePolicy()


def prepare_text(data: bytes, file_name: str) -> bytes:
    """Refuse empty files and wrong encodings; normalise line ends and drop a UTF-8 BOM."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in data:
        line = data[: max(data.find(b"\x00"), 0)].count(b"\n") + 1
        raise ParseError(
            f"{file_name} is not ASCII / ISO-8859-1 text: it holds NUL bytes or a UTF-16 "
            f"byte-order mark (first at line {line}). MovieLens files "
            "are ISO-8859-1 with '::' separators: save it in that encoding, or use the "
            "original file from ml-1m.zip."
        )
    if not data.strip():
        raise ParseError(f"{file_name} is empty.")
    return data.replace(b"\r\n", b"\n")


def _is_utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def decode_text(text_bytes: bytes, file_name: str, published: str = "ISO-8859-1") -> str:
    """UTF-8 when the whole file is valid UTF-8, else ISO-8859-1; ``published`` is the
    encoding GroupLens published the file in, and a file in the other one is logged.

    A file mixing both (some non-ASCII lines valid UTF-8, others not) is refused with the
    lines of each: decoding it either way would garble some titles.
    """
    if text_bytes.isascii():
        return text_bytes.decode("ascii")
    try:
        text = text_bytes.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if published != "UTF-8":
            logger.info("%s is UTF-8, not the original %s; decoded as UTF-8", file_name, published)
        return text
    # Not UTF-8 as a whole: only the non-ASCII lines can tell the encodings apart.
    utf8, latin1 = [], []
    for number, line in enumerate(text_bytes.split(b"\n"), start=1):
        if not line.isascii():
            (utf8 if _is_utf8(line) else latin1).append(number)
    if utf8:
        raise ParseError(
            f"{file_name} mixes encodings: line(s) {_lines(utf8)} are UTF-8, line(s) "
            f"{_lines(latin1)} are not (ISO-8859-1?). Save the whole file in one encoding "
            f"(the MovieLens files are {published})."
        )
    if published != "ISO-8859-1":
        logger.info("%s is not %s as published; decoded as ISO-8859-1", file_name, published)
    return text_bytes.decode("latin-1")


def _lines(numbers: list[int]) -> str:
    shown = ", ".join(map(str, numbers[:SHOWN]))
    return shown + (f" and {len(numbers) - SHOWN} more" if len(numbers) > SHOWN else "")
