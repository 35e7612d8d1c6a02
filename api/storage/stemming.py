"""Spanish word forms for the SQLite search index (PostgreSQL's ``spanish`` configuration
does this itself).

FTS5's ``porter`` tokenizer stems English only. Each Spanish search document therefore gets a
shadow document (language :data:`STEM_LANG`, never shown) holding the Snowball Spanish stems
of its label and body, and a query in Spanish asks, for each word, for the word itself OR its
stem: "víctimas" finds "víctima", "explotada" finds "explotación", accents or not.
"""

from __future__ import annotations

import re
from functools import lru_cache

import snowballstemmer

#: The language code of a shadow document (``search_docs.lang``).
STEM_LANG = "es~stem"
_WORD = re.compile(r"\w+", re.UNICODE)
_STEMMER = snowballstemmer.stemmer("spanish")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Snowball Spanish stem of one lower-case word (accents dropped, as Snowball does)."""
    return str(_STEMMER.stemWord(word))


def stems(text: str) -> str:
    """The stems of every word of ``text``, space-separated, in order."""
    return " ".join(stem(word) for word in _WORD.findall(text.lower()))
