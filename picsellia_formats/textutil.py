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


def singular_phrase(phrase: str) -> str:
    """A report phrase written for many (``"polygons written as boxes"``) as it reads for one: its first
    plural word among its first three made singular (``"polygon written as boxes"``,
    ``"assets' fields"`` -> ``"asset's fields"``).

    Example:
        >>> singular_phrase("bad rows skipped"), singular_phrase("images whose file is missing")
        ('bad row skipped', 'image whose file is missing')
        >>> singular_phrase("asset statuses"), singular_phrase("boxes written as 4-point polygons")
        ('asset status', 'box written as 4-point polygons')
    """
    words = phrase.split(" ")
    for i, word in enumerate(words[:3]):  # the counted noun leads the phrase ("bad rows", "image Q&A answers")
        if word.endswith(":"):  # "data.yaml: val points to...": a prefix, not the counted noun
            break
        if word.endswith("s'"):
            words[i] = word[:-2] + "'s"
            break
        if len(word) > 3 and word.endswith("s") and not word.endswith(_SINGULAR_EXCEPTIONS) and word.isalpha():
            if word.endswith("ies"):
                words[i] = word[:-3] + "y"
            elif word.endswith(("xes", "ches", "shes", "sses", "uses")):
                words[i] = word[:-2]
            else:
                words[i] = word[:-1]
            break
    return " ".join(words)


def table(rows: Sequence[Sequence[object]], header: Sequence[str]) -> str:
    """Columns aligned: the first left, the others right (numbers)."""
    cells = [[str(c) for c in header], *[[str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    out = ["  ".join(c.ljust(w) for c, w in zip(cells[0], widths)).rstrip(),
           "  ".join("-" * w for w in widths)]
    for r in cells[1:]:
        out.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip())
    return "\n".join(out)
