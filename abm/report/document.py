"""The one report engine: a report is a :class:`Document` (sections of prose, tables, figures,
lists and folded details), rendered to HTML and to Markdown by the Jinja2 templates in
``abm/report/templates/`` (``abm report`` and ``abm sweep report`` both build one).

Text is never markup: a :class:`Text` is a sequence of spans (plain, bold, code), so a name
taken from a scenario or a sweep file is shown as typed and never becomes a tag in the HTML
(autoescaped) or a link, emphasis or table cell break in the Markdown (escaped by
:func:`md_escape`, which the Markdown templates apply to every value they print).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

TEMPLATES = "templates"  # package data of abm.report


@dataclass(frozen=True)
class Span:
    """A run of text in one style: ``""`` plain, ``"b"`` bold, ``"code"`` code."""

    text: str
    style: str = ""


@dataclass(frozen=True)
class Text:
    """A paragraph or a phrase: spans of plain, bold and code text."""

    spans: tuple[Span, ...] = ()

    def __str__(self) -> str:
        return "".join(s.text for s in self.spans)

    def __add__(self, other: Text | str) -> Text:
        return Text(self.spans + text(other).spans)


def text(*parts: str | Span | Text) -> Text:
    """A :class:`Text` of ``parts``: strings are plain, spans keep their style."""
    spans: list[Span] = []
    for p in parts:
        if isinstance(p, Text):
            spans += p.spans
        elif isinstance(p, Span):
            spans.append(p)
        elif p:
            spans.append(Span(str(p)))
    return Text(tuple(spans))


def bold(value: object) -> Span:
    """A bold span (a name the reader should find: a scenario, a zone)."""
    return Span(str(value), "b")


def code(value: object) -> Span:
    """A code span (a command, a file, a setting)."""
    return Span(str(value), "code")


@dataclass(frozen=True)
class Cell:
    """A table cell: its value and an optional note (a change, say) shown under the value in
    HTML and in brackets after it in Markdown."""

    value: str
    note: str = ""
    numeric: bool = False


@dataclass(frozen=True)
class Table:
    """A table of text cells (already formatted: units belong in the column names)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]

    @classmethod
    def of(cls, columns: Sequence[str], rows: Sequence[Sequence[Cell | str | float | int]],
           fmt=None) -> Table:
        """A table from rows of cells, strings or numbers (formatted by ``fmt``, default
        :func:`abm.report.document.plain`)."""
        fmt = fmt or plain
        return cls(tuple(map(str, columns)), tuple(
            tuple(c if isinstance(c, Cell) else Cell(c) if isinstance(c, str)
                  else Cell(fmt(c), numeric=True) for c in row) for row in rows))

    @classmethod
    def from_frame(cls, df, fmt=None, index: bool = False) -> Table:
        """A table of a DataFrame's values (numbers formatted by ``fmt``)."""
        frame = df.reset_index() if index else df
        return cls.of(list(frame.columns), frame.itertuples(index=False), fmt)


@dataclass(frozen=True)
class Figure:
    """A PNG figure: embedded in the HTML, a file ``<figures>/<name>.png`` beside the
    Markdown."""

    name: str
    png: bytes = field(repr=False)
    alt: str = ""


@dataclass(frozen=True)
class Bullets:
    """A bulleted list."""

    items: tuple[Text, ...]


@dataclass(frozen=True)
class Note:
    """A paragraph to read with care (a warning)."""

    text: Text


@dataclass(frozen=True)
class Details:
    """Blocks folded under a one-line summary (``<details>`` in HTML; a titled part in
    Markdown)."""

    summary: str
    blocks: tuple[Block, ...]


Block = Text | Table | Figure | Bullets | Note | Details


@dataclass(frozen=True)
class Section:
    """A headed section; ``folded`` shows only its heading until the reader opens it."""

    title: str
    blocks: tuple[Block, ...]
    folded: bool = False


@dataclass(frozen=True)
class Document:
    """A whole report."""

    title: str
    intro: Text
    sections: tuple[Section, ...]

    def figures(self) -> Iterator[Figure]:
        """Every figure, in the order shown."""
        def walk(blocks: Sequence[Block]) -> Iterator[Figure]:
            for b in blocks:
                if isinstance(b, Figure):
                    yield b
                elif isinstance(b, Details):
                    yield from walk(b.blocks)
        for s in self.sections:
            yield from walk(s.blocks)


def plain(value: object) -> str:
    """A number for a table: thousands separators, one decimal below 1,000, three significant
    digits below 1, no exponent; other values as ``str``."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:
            return "–"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 1 or value == 0:
            return f"{value:,.1f}"
        return f"{value:.3g}" if abs(value) >= 1e-3 else f"{value:.1e}"
    return str(value)


# ---------------------------------------------------------------------------------------------
# Markdown escaping

_ALWAYS = re.compile(r"([\\`*\[\]<>|&~])")
_BLOCK_MARK = re.compile(r"^(\s*)([#+=-])(?=\s|$)")
_LIST_NUMBER = re.compile(r"^(\s*\d+)([.)])(?=\s|$)")


def md_escape(value: object) -> str:
    """``value`` as literal Markdown text: no link, image, emphasis, HTML tag, entity, code
    span or table cell break can start in it (CommonMark backslash escapes), and it stays on
    one line. Underscores inside a word are left alone (they cannot emphasise)."""
    s = re.sub(r"\s*[\r\n]+\s*", " ", str(value))
    s = _ALWAYS.sub(r"\\\1", s)
    s = re.sub(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", r"\\_", s)
    return _LIST_NUMBER.sub(r"\1\\\2", _BLOCK_MARK.sub(r"\1\\\2", s))


class _MdSafe(str):
    """Markdown the engine built itself (a rendered span or cell): printed as it is."""


def _md_finalize(value: Any) -> str:
    """Every value a Markdown template prints is escaped unless the engine built it."""
    if isinstance(value, _MdSafe):
        return value
    return md_escape("" if value is None else value)


def _md_text(t: Text) -> _MdSafe:
    parts = []
    for s in t.spans:
        if s.style == "code":
            body = re.sub(r"\s*[\r\n]+\s*", " ", s.text)
            fence = "`" * (max((len(m) for m in re.findall(r"`+", body)), default=0) + 1)
            pad = " " if body.startswith("`") or body.endswith("`") else ""
            parts.append(f"{fence}{pad}{body}{pad}{fence}")
        elif s.style == "b" and s.text.strip():
            parts.append(f"**{md_escape(s.text)}**")
        else:
            parts.append(md_escape(s.text))
    return _MdSafe("".join(parts))


def _md_cell(c: Cell) -> _MdSafe:
    return _MdSafe(md_escape(f"{c.value} ({c.note})" if c.note else c.value))


def _md_raw(rendered: str) -> _MdSafe:
    """A macro's output: its values were escaped as the macro printed them."""
    return _MdSafe(rendered)


def _md_link(figure_dir: str, name: str) -> _MdSafe:
    return _MdSafe(quote(f"{figure_dir}/{name}.png"))


# ---------------------------------------------------------------------------------------------
# The environments and rendering


def _kind(block: Block) -> str:
    return type(block).__name__.lower()


def _png(figure: Figure) -> str:
    return "data:image/png;base64," + base64.b64encode(figure.png).decode()


@cache
def _environment(kind: str) -> Environment:
    common: dict[str, Any] = {"loader": PackageLoader("abm.report", TEMPLATES),
                              "undefined": StrictUndefined, "trim_blocks": True,
                              "lstrip_blocks": True, "keep_trailing_newline": True}
    if kind == "html":
        env = Environment(autoescape=True, **common)
    else:
        env = Environment(autoescape=False, finalize=_md_finalize, **common)
        env.filters["md_text"] = _md_text
        env.filters["md_cell"] = _md_cell
        env.filters["md_raw"] = _md_raw
        env.filters["md_link"] = _md_link
    env.filters["kind"] = _kind
    env.filters["png"] = _png
    return env


def render_html(doc: Document, css: str = "") -> str:
    """The document as one self-contained HTML page (figures embedded)."""
    return _environment("html").get_template("report.html.j2").render(
        doc=doc, extra_css=Markup(css))


def render_markdown(doc: Document, figure_dir: str) -> str:
    """The document as Markdown; figures are linked as ``figure_dir/<name>.png``."""
    page = _environment("md").get_template("report.md.j2").render(doc=doc,
                                                                  figure_dir=figure_dir)
    return re.sub(r"\n{3,}", "\n\n", page)
