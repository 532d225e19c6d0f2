"""Forgiving movie-title matching: case, punctuation, accents, year, trailing articles.

MovieLens titles look like ``Matrix, The (1999)`` or ``City of Lost Children, The (Cité
des enfants perdus, La) (1995)``. A title is reduced to a key: accents and case dropped,
``&`` read as ``and``, apostrophes removed, other punctuation turned into spaces, and a
leading or trailing article ("The", "A", "La", ...) removed, so "the matrix", "Matrix"
and "MATRIX, The (1999)" share one key. Lookups try, in order: the key of the title, of
its alternative titles in parentheses, of its series ("Star Wars" for "Star Wars:
Episode IV ..."), then a unique start of a title ("Star Wars Episode IV"); a year, when
given, must match. Otherwise rapidfuzz proposes candidates: a near-certain typo ("Jurasic
Park") is accepted, anything else raises an error that lists the closest titles.
"""

from __future__ import annotations

import re
import unicodedata

import pandas as pd
from rapidfuzz import fuzz, process

# MovieLens moves articles to the end ("Blechtrommel, Die"); a query may lead with one.
# Only English and Romance articles are dropped at the start ("Die Hard" stays whole).
_LEADING = "the|a|an|la|le|les|il|el|los|las"
_TRAILING_ARTICLE = re.compile(
    rf",\s*(?:{_LEADING}|das|der|die|den|det|lo)\s*$|,\s*l'\s*$", re.IGNORECASE
)
_LEADING_ARTICLE = re.compile(rf"^(?:(?:{_LEADING})\s+|l')", re.IGNORECASE)
_YEAR = re.compile(r"\s*\((\d{4})\)\s*$")
_TRAILING_GROUP = re.compile(r"\s*\(([^()]*)\)\s*$")
# A typo is accepted when its best match is this close (rapidfuzz ratio, 0-100) ...
ACCEPT_SCORE = 90.0
# ... and the next movie is at least this much further away.
ACCEPT_MARGIN = 5.0
N_CANDIDATES = 5


class TitleError(LookupError):
    """A title that matches no movie or several; ``candidates`` are (item, title) pairs."""

    def __init__(self, message: str, query: str, candidates: list[tuple[int, str]]):
        listed = "".join(f"\n  {title}  (id {item})" for item, title in candidates)
        super().__init__(message + (f"; closest candidates:{listed}" if listed else ""))
        self.query = query
        self.candidates = candidates


class UnknownTitleError(TitleError):
    """No movie has this title."""


class AmbiguousTitleError(TitleError):
    """Several movies have this title (add the year, or use the id)."""


def split_title(title: str) -> tuple[str, list[str], int | None]:
    """``Main, The (Alt title) (1995)`` -> (``Main, The``, [``Alt title``], 1995)."""
    year = None
    found = _YEAR.search(title)
    if found:
        year, title = int(found.group(1)), title[: found.start()]
    alternatives = []
    while (group := _TRAILING_GROUP.search(title)) and group.start() > 0:
        alternatives.insert(0, re.sub(r"^a\.k\.a\.\s*", "", group.group(1), flags=re.I))
        title = title[: group.start()]
    return title.strip(), alternatives, year


def normalize(text: str) -> str:
    """The matching key of a title (without its year)."""
    text = _TRAILING_ARTICLE.sub("", text.strip())
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = text.replace("&", " and ")
    text = _LEADING_ARTICLE.sub("", text.strip())
    text = re.sub("['`\u2019]", "", text)  # apostrophes, typographic ones too
    # Letters and digits of any script are kept: "Джуманджи" and "千と千尋の神隠し" match.
    return " ".join(re.sub(r"[\W_]+", " ", text).split())


class TitleIndex:
    """Looks movie ids up by title (``movies`` has columns ``item``, ``title``).

    ``noun`` is what the messages call an item: "movie", or "item" for clicked items.
    """

    def __init__(self, movies: pd.DataFrame, noun: str = "movie"):
        self.noun = noun
        self.items = movies["item"].to_numpy()
        self.titles = movies["title"].to_numpy()
        parts = [split_title(t) for t in self.titles]  # once per movie, ~4k
        self.years = [year for _, _, year in parts]
        self.main_keys = [normalize(main) for main, _, _ in parts]
        self.series_keys = [normalize(re.split(r":| - ", main)[0]) for main, _, _ in parts]
        self.alternative_keys = [{normalize(alt) for alt in alts} for _, alts, _ in parts]
        keys: dict[str, set[int]] = {}
        alternatives: dict[str, set[int]] = {}
        series: dict[str, set[int]] = {}
        for row, (_, alts, _) in enumerate(parts):
            keys.setdefault(self.main_keys[row], set()).add(row)
            for alt in alts:
                alternatives.setdefault(normalize(alt), set()).add(row)
            series.setdefault(self.series_keys[row], set()).add(row)
        self._levels = [keys, alternatives, series]
        # Every key a movie can be found by, for the fuzzy search.
        self._choices = [
            (key, row)
            for level in (keys, alternatives)
            for key, rows in level.items()
            for row in rows
        ]
        self._choice_keys = [key for key, _ in self._choices]

    def _pairs(self, rows) -> list[tuple[int, str]]:
        ordered = sorted(rows, key=lambda r: (self.years[r] or 0, self.titles[r]))
        return [(int(self.items[r]), str(self.titles[r])) for r in ordered]

    def match(self, query: str) -> int:
        """The MovieLens id of the one movie ``query`` names; raises ``TitleError`` otherwise."""
        main, query_alternatives, year = split_title(query)
        key = normalize(main)
        wanted_alternatives = {normalize(alt) for alt in query_alternatives}
        if not key:
            raise UnknownTitleError(f"empty title {query!r}", query, [])
        for level in self._levels:
            rows = level.get(key, set())
            if not rows:
                continue
            in_year = {r for r in rows if year is None or self.years[r] == year}
            # "Ghost in the Shell (Kokaku kidotai)": an alternative title typed with the
            # main one tells the original from a remake.
            named = {r for r in in_year if wanted_alternatives <= self.alternative_keys[r]}
            if wanted_alternatives and named:
                in_year = named
            if len(in_year) == 1:
                return int(self.items[next(iter(in_year))])
            if len(in_year) > 1:
                raise AmbiguousTitleError(
                    f"{query!r} matches {len(in_year)} {self.noun}s (add the year or use an id)",
                    query,
                    self._pairs(in_year),
                )
            raise UnknownTitleError(
                f"no {self.noun} {query!r} from {year}", query, self._pairs(rows)
            )
        # A unique start of a title, at a word boundary: "Star Wars Episode IV".
        rows = {
            r
            for r, title_key in enumerate(self.main_keys)
            if title_key.startswith(key + " ") and (year is None or self.years[r] == year)
        }
        if len(rows) == 1:
            return int(self.items[next(iter(rows))])
        if len(rows) > 1:
            raise AmbiguousTitleError(
                f"{query!r} starts {len(rows)} titles (say more, add the year or use an id)",
                query,
                self._pairs(rows)[: N_CANDIDATES * 2],
            )
        return self._fuzzy(query, key, year)

    def _fuzzy(self, query: str, key: str, year: int | None) -> int:
        found = process.extract(key, self._choice_keys, scorer=fuzz.ratio, limit=50)
        best: dict[int, float] = {}  # row -> best score of any of its keys
        for _, score, position in found:
            row = self._choices[position][1]
            if year is None or self.years[row] == year:
                best[row] = max(best.get(row, 0.0), score)
        ranked = sorted(best.items(), key=lambda pair: -pair[1])
        if ranked and ranked[0][1] >= ACCEPT_SCORE:
            runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
            if ranked[0][1] - runner_up >= ACCEPT_MARGIN:
                return int(self.items[ranked[0][0]])
        # Candidates for the message: partial matches count too ("Star Wars Episode 4").
        loose = process.extract(key, self._choice_keys, scorer=fuzz.WRatio, limit=30)
        rows: list[int] = []
        for _, _, position in loose:
            row = self._choices[position][1]
            if row not in rows and (year is None or self.years[row] == year):
                rows.append(row)
        candidates = [(int(self.items[r]), str(self.titles[r])) for r in rows[:N_CANDIDATES]]
        raise UnknownTitleError(f"no {self.noun} matches {query!r}", query, candidates)
