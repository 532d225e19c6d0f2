"""Forgiving title matching."""

import pandas as pd
import pytest

from movielens_sbr.titles import (
    AmbiguousTitleError,
    TitleIndex,
    UnknownTitleError,
    normalize,
    split_title,
)

TITLES = {
    1: "Toy Story (1995)",
    2: "Toy Story 2 (1999)",
    3: "Matrix, The (1999)",
    4: "Amélie (2001)",
    5: "Hamlet (1948)",
    6: "Hamlet (1990)",
    7: "Hamlet (1996)",
    8: "Heat (1995)",
    9: "Bug's Life, A (1998)",
    10: "City of Lost Children, The (Cité des enfants perdus, La) (1995)",
    11: "Star Wars: Episode IV - A New Hope (1977)",
    12: "Star Wars: Episode V - The Empire Strikes Back (1980)",
    13: "Star Wars: Episode I - The Phantom Menace (1999)",
    14: "Jurassic Park (1993)",
    15: "Lock, Stock & Two Smoking Barrels (1998)",
    16: "American President, The (1995)",
}


@pytest.fixture(scope="module")
def index() -> TitleIndex:
    return TitleIndex(pd.DataFrame({"item": list(TITLES), "title": list(TITLES.values())}))


def test_split_title_separates_year_and_alternative_titles():
    assert split_title(TITLES[10]) == (
        "City of Lost Children, The",
        ["Cité des enfants perdus, La"],
        1995,
    )
    assert split_title("Heat") == ("Heat", [], None)


def test_normalize_drops_case_accents_punctuation_and_articles():
    assert normalize("Matrix, The") == normalize("the matrix") == "matrix"
    assert normalize("Amélie") == "amelie"
    assert normalize("Bug's Life, A") == normalize("A Bugs Life") == "bugs life"


@pytest.mark.parametrize(
    ("query", "item"),
    [
        ("Toy Story (1995)", 1),  # exact
        ("toy story", 1),  # case, no year
        ("TOY-STORY!", 1),  # punctuation
        ("Toy Story 2", 2),
        ("The Matrix", 3),  # leading article
        ("matrix", 3),  # no article at all
        ("Matrix, The (1999)", 3),
        ("Amelie", 4),  # accent missing
        ("amélie (2001)", 4),
        ("Hamlet (1990)", 6),  # the year disambiguates
        ("Heat", 8),
        ("A Bug's Life", 9),
        ("bugs life", 9),
        ("Cité des enfants perdus", 10),  # alternative title in parentheses
        ("City of Lost Children", 10),
        ("Star Wars Episode IV", 11),  # unique start of a title
        ("Star Wars: Episode I", 13),  # "I" does not match "IV" or "V"
        ("Jurasic Park", 14),  # typo
        ("Lock Stock and Two Smoking Barrels", 15),  # & = and
        ("the american president", 16),
    ],
)
def test_forgiving_matches(index, query, item):
    assert index.match(query) == item


def test_same_title_in_several_years_is_ambiguous_with_all_candidates(index):
    with pytest.raises(AmbiguousTitleError, match="closest candidates") as error:
        index.match("hamlet")
    assert [item for item, _ in error.value.candidates] == [5, 6, 7]
    assert "Hamlet (1996)" in str(error.value)


def test_series_name_alone_is_ambiguous(index):
    with pytest.raises(AmbiguousTitleError) as error:
        index.match("Star Wars")
    assert {item for item, _ in error.value.candidates} == {11, 12, 13}


def test_start_of_several_titles_is_ambiguous(index):
    with pytest.raises(AmbiguousTitleError) as error:
        index.match("Toy")
    assert {item for item, _ in error.value.candidates} == {1, 2}


def test_wrong_year_is_unknown_and_proposes_the_other_years(index):
    with pytest.raises(UnknownTitleError) as error:
        index.match("Heat (1990)")
    assert error.value.candidates == [(8, "Heat (1995)")]


def test_unknown_title_lists_the_closest_candidates(index):
    with pytest.raises(UnknownTitleError, match="closest candidates") as error:
        index.match("Jurassic Parc World")
    assert error.value.candidates[0] == (14, "Jurassic Park (1993)")
    assert len(error.value.candidates) <= 5


def test_close_typo_between_two_titles_is_not_guessed(index):
    # "Toy Story 3" is one edit from "Toy Story 2" and close to "Toy Story": no guess.
    with pytest.raises(UnknownTitleError) as error:
        index.match("Toy Story 3")
    assert {1, 2} <= {item for item, _ in error.value.candidates}


def test_empty_title_is_unknown(index):
    with pytest.raises(UnknownTitleError):
        index.match("  (1995) ")


def test_titles_in_any_script_typed_exactly_are_found():
    jumanji = "\u0414\u0436\u0443\u043c\u0430\u043d\u0434\u0436\u0438"  # Cyrillic
    spirited_away = "\u5343\u3068\u5343\u5c0b\u306e\u795e\u96a0\u3057"  # Japanese
    titles = {1: f"{jumanji} (1995)", 2: f"{spirited_away} (2001)", 3: "Weiße Rose (1982)"}
    index = TitleIndex(pd.DataFrame({"item": list(titles), "title": list(titles.values())}))
    assert index.match(jumanji) == 1
    assert index.match(jumanji.upper()) == 1
    assert index.match(spirited_away) == 2
    assert index.match("Weisse Rose") == 3
    with pytest.raises(UnknownTitleError, match="empty title"):
        index.match(" !? ")


def test_alternative_title_typed_with_the_main_one_tells_the_original_from_a_remake():
    index = TitleIndex(
        pd.DataFrame(
            {
                "item": [1, 2],
                "title": [
                    "Ghost in the Shell (Kôkaku kidôtai) (1995)",
                    "Ghost in the Shell (2017)",
                ],
            }
        )
    )
    assert index.match("Ghost in the Shell (Kôkaku kidôtai)") == 1
    assert index.match("ghost in the shell (kokaku kidotai)") == 1
    with pytest.raises(AmbiguousTitleError):
        index.match("Ghost in the Shell")
