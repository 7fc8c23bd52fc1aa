"""Plain text for terminal reports: counted phrases and aligned tables.

Example:
    >>> count(1, "label"), count(1200, "box"), count(0, "category")
    ('1 label', '1,200 boxes', '0 categories')

    >>> print(table([["cat", "12"], ["dog", "3"]], ["label", "objects"]))
    label  objects
    -----  -------
    cat         12
    dog          3
"""

from __future__ import annotations

from collections.abc import Sequence

_IRREGULAR = {"child": "children", "person": "people", "index": "indices", "datum": "data"}


def plural(noun: str, n: int | float = 2) -> str:
    """`noun` as it reads after the number `n` (English: one is singular, everything else plural).

    Only the last word changes: ``plural("bad row")`` is ``"bad rows"``.
    """
    if n == 1:
        return noun
    head, _, last = noun.rpartition(" ")
    if last in _IRREGULAR:
        word = _IRREGULAR[last]
    elif last.endswith(("s", "x", "z", "ch", "sh")):
        word = last + "es"
    elif last.endswith("y") and last[-2:-1] not in ("a", "e", "i", "o", "u"):
        word = last[:-1] + "ies"
    else:
        word = last + "s"
    return f"{head} {word}" if head else word


def count(n: int | float, noun: str, many: str | None = None) -> str:
    """``"1 label"``, ``"2 labels"``, ``"1,204 images"``: the number (thousands separated) and the noun
    agreeing with it. `many` gives the plural when the rule of `plural` does not fit.

    Example:
        >>> count(2, "image not found", many="images not found")
        '2 images not found'
    """
    number = f"{n:,}" if isinstance(n, int) else f"{n:,g}"
    word = noun if n == 1 else (many if many is not None else plural(noun, n))
    return f"{number} {word}"


_SINGULAR_EXCEPTIONS = ("ss", "us", "is", "'s")
_RELATIVE = frozenset(("that", "which", "who"))
#: verbs (as they follow "that"/"which"/"who" in report phrases) for a plural subject -> for one
_VERB_FOR_ONE = {
    "are": "is", "were": "was", "have": "has", "do": "does", "don't": "doesn't", "aren't": "isn't",
    "weren't": "wasn't", "haven't": "hasn't", "carry": "carries", "cross": "crosses", "go": "goes",
    "match": "matches", "touch": "touches",
    **{v: v + "s" for v in ("belong", "contain", "cover", "differ", "disagree", "end", "exceed", "fall", "fit",
                            "hold", "lack", "lie", "name", "need", "overlap", "point", "refer", "remain", "repeat",
                            "share", "sit", "start", "use")},
}
#: pronouns for the counted things -> for one (only before a ":", after which another clause speaks)
_PRONOUN_FOR_ONE = {"their": "its", "they": "it"}


def singular_phrase(phrase: str) -> str:
    """A report phrase written for many (``"polygons written as boxes"``) as it reads for one: its first
    plural word among its first three made singular (``"polygon written as boxes"``,
    ``"assets' fields"`` -> ``"asset's fields"``), then the verb of a relative clause on it and the
    pronouns standing for it (``"images that do not decode"`` -> ``"image that does not decode"``,
    ``"boxes outside their image"`` -> ``"box outside its image"``). A clause with its own subject
    (``whose file is``, ``that no label file names``) is left as it is, and so is what follows another
    plural noun (``"objects on images that do not decode"``).

    Example:
        >>> singular_phrase("bad rows skipped"), singular_phrase("images whose file is missing")
        ('bad row skipped', 'image whose file is missing')
        >>> singular_phrase("asset statuses"), singular_phrase("boxes written as 4-point polygons")
        ('asset status', 'box written as 4-point polygons')
        >>> singular_phrase("images that do not decode"), singular_phrase("assets left as they are")
        ('image that does not decode', 'asset left as it is')
    """
    words = phrase.split(" ")
    noun = None
    for i, word in enumerate(words[:3]):  # the counted noun leads the phrase ("bad rows", "image Q&A answers")
        if word.endswith(":"):  # "data.yaml: val points to...": a prefix, not the counted noun
            break
        if word.endswith("s'"):
            words[i] = word[:-2] + "'s"
            noun = i
            break
        if word == "ids":  # too short for the rule below, and the most common counted noun after a qualifier
            words[i] = "id"
            noun = i
            break
        if _looks_plural(word):
            if word.endswith("ies"):
                words[i] = word[:-3] + "y"
            elif word.endswith(("xes", "ches", "shes", "sses", "uses")):
                words[i] = word[:-2]
            else:
                words[i] = word[:-1]
            noun = i
            break
    if noun is not None:
        _agree(words, noun + 1)
    return " ".join(words)


#: words ending in -s that are not plural nouns, met after the counted noun in report phrases
_NOT_NOUNS = frozenset(("does", "has", "was", "its", "this", "less", "across", "always", "names", "points",
                        "holds", "fits", "gives", "means", "says", "lies", "needs", "uses", "refers"))


def _looks_plural(word: str) -> bool:
    return len(word) > 3 and word.endswith("s") and not word.endswith(_SINGULAR_EXCEPTIONS) and word.isalpha()


def _agree(words: list[str], start: int) -> None:
    """Verbs and pronouns after the counted noun (at ``start - 1``) made to agree with one of it."""
    relative_done = aside = possessed = False
    for i in range(start, len(words)):
        word = words[i]
        if word.startswith("(") or aside:  # an aside speaks of other things: "(sizes match)"
            aside = not word.rstrip(",;").endswith(")")
            continue
        bare = word.rstrip(",;")
        if not possessed and bare not in _NOT_NOUNS and _looks_plural(bare):
            break  # "objects on images that do not decode": from here the words speak of the other noun
        if bare != word:
            possessed = False  # "its stored pixels, written as they are": the counted noun again
        if not relative_done and bare in _RELATIVE and i + 1 < len(words):
            relative_done = True
            nxt = words[i + 1]
            stem = nxt.rstrip(",;")
            if stem in _VERB_FOR_ONE:
                words[i + 1] = _VERB_FOR_ONE[stem] + nxt[len(stem):]
        elif bare in _PRONOUN_FOR_ONE:
            if bare == "they" and i + 1 < len(words) and words[i + 1].rstrip(",;") == "are":
                words[i + 1] = "is" + words[i + 1][3:]
            elif bare == "they":
                continue  # "they" + another verb: left as written rather than guessed
            words[i] = _PRONOUN_FOR_ONE[bare] + word[len(bare):]
            possessed = bare == "their" and bare == word  # "its stored pixels": its own, not another subject
        if word.endswith(":"):
            break  # another clause from here: its words speak of other things


def table(rows: Sequence[Sequence[object]], header: Sequence[str]) -> str:
    """Columns aligned: the first left, the others right (numbers)."""
    cells = [[str(c) for c in header], *[[str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    out = ["  ".join(c.ljust(w) for c, w in zip(cells[0], widths)).rstrip(),
           "  ".join("-" * w for w in widths)]
    for r in cells[1:]:
        out.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip())
    return "\n".join(out)
