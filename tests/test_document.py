"""The report engine (abm/report/document.py): names from scenario files are shown as typed,
never as markup, in the HTML and in the Markdown twin (read back with a CommonMark parser that
accepts every link, so that an escaped link is told from a rejected one)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from markdown_it import MarkdownIt

from abm.report.document import (
    Bullets,
    Cell,
    Details,
    Document,
    Figure,
    Note,
    Section,
    Table,
    bold,
    code,
    md_escape,
    render_html,
    render_markdown,
    text,
)

EVIL = ("[x](javascript:alert(1)) ![i](javascript:2) <script>alert(3)</script> "
        "<javascript:4> *em* _em_ `c` | &amp; ~~s~~ \\")


def markdown_html(md: str) -> str:
    """The Markdown as a CommonMark renderer with tables shows it, every link URL allowed."""
    parser = MarkdownIt("commonmark").enable("table")
    parser.validateLink = lambda url: True
    return parser.render(md)


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.links += [v for k, v in attrs if k in ("href", "src") and v]


def script_links(page: str) -> list[str]:
    """The ``javascript:`` URLs of a page's links and images."""
    return [u for u in tags(page).links if u.strip().lower().startswith("javascript:")]


def tags(page: str) -> Tags:
    t = Tags()
    t.feed(page)
    return t


def document(name: str) -> Document:
    return Document(f"Report on {name}", text("made with ", code(f"abm report {name}")), (
        Section(f"About {name}", (
            text("Scenario ", bold(name), " against ", name, "."),
            Table.of([f"col {name}", "value"], [[name, 1234.5], [Cell(name, name), 0.25]]),
            Bullets((text(bold(name), " wins"), text(name))),
            Note(text(name)),
            Details(f"more on {name}", (Figure("fig", b"\x89PNG", name),)))),
        Section(f"Folded {name}", (text(name),), folded=True)))


def test_markdown_shows_names_as_typed_and_makes_no_link_or_tag():
    md = render_markdown(document(EVIL), "figs")
    shown = markdown_html(md)
    found = tags(shown)
    assert script_links(shown) == []
    assert found.links == ["figs/fig.png"]  # the figure, nothing else
    assert not {"script", "a", "em", "del", "code"} & set(found.tags) - {"code"}
    # the name comes back as typed in the heading, a bold span, a table cell and a list item
    assert shown.count("[x](javascript:alert(1))") >= 6
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in shown
    # the table keeps its two columns (an escaped | does not split a cell)
    header = shown[shown.index("<thead>"):shown.index("</thead>")]
    assert header.count("<th>") == 2
    # a command in a code span is one code element whatever backticks it holds
    assert found.tags.count("code") == 1


def test_html_is_autoescaped():
    page = render_html(document(EVIL))
    found = tags(page)
    assert "script" not in found.tags and "a" not in found.tags
    assert script_links(page) == []
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in page
    assert page.count("<details") == 2 and "<summary><h2>Folded" in page


@pytest.mark.parametrize(("value", "escaped"), [
    ("carbon_price_usd", "carbon_price_usd"),  # underscores inside a word stay
    ("_lead and trail_", "\\_lead and trail\\_"),
    ("- not a list", "\\- not a list"),
    ("1. not a list", "1\\. not a list"),
    ("# not a heading", "\\# not a heading"),
    ("0.5 and US-PJM-DOM", "0.5 and US-PJM-DOM"),
    ("two\nlines", "two lines"),
])
def test_md_escape(value, escaped):
    assert md_escape(value) == escaped


def test_templates_are_package_data():
    """Every template matches the package-data glob of abm.report, so a wheel carries it."""
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["abm.report"]
    folder = root / "abm" / "report" / "templates"
    shipped = {p for p in folder.iterdir() if p.is_file()}
    assert len(shipped) >= 5
    assert shipped <= {p for g in globs for p in (root / "abm" / "report").glob(g)}
