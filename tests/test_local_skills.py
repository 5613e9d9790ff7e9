"""The skills vocabulary and matcher: aliases, case rules, speed."""

from __future__ import annotations

import time

import pytest

from core.local.skills import VOCAB_PATH, Vocabulary, vocabulary


def test_vocabulary_is_shipped_and_large() -> None:
    vocab = vocabulary()
    assert VOCAB_PATH.exists()
    assert len(vocab.skills) > 1000
    assert len(vocab.entries) > 1700


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("JS", "JavaScript"),
        ("postgres", "PostgreSQL"),
        ("k8s", "Kubernetes"),
        ("ML", "Machine Learning"),
        ("node.js", "Node.js"),
        ("Node JS", "Node.js"),
        ("c sharp", "C#"),
        ("unknownthing", None),
    ],
)
def test_canonical(spelling: str, canonical: str | None) -> None:
    assert canonical == vocabulary().canonical(spelling)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Python, C/C++ and C# with .NET", ["Python", "C", "C++", "C#", ".NET"]),
        ("Spring Boot and PL/SQL on k8s", ["Spring Boot", "PL/SQL", "Kubernetes"]),
        ("I excel at go-to-market work", []),
        ("R&D team in Spring 2015", []),
        ("Grade (C) in maths", []),
        ("Reports in Excel and Go services", ["Excel", "Go"]),
    ],
)
def test_find_respects_case_and_context(text: str, expected: list[str]) -> None:
    assert expected == vocabulary().names(text)


def test_prose_mode_skips_one_word_domain_terms() -> None:
    vocab = vocabulary()
    assert ["Sales"] == vocab.names("Sales, Python", include_generic=True)[:1]
    assert ["Python"] == vocab.names("Sales, Python", prose=True)


def test_custom_vocabulary_file_format() -> None:
    vocab = Vocabulary(["## Cat", "Foo Bar | fb", "=Baz", "?Thing"])
    assert ["Foo Bar"] == vocab.names("uses FB daily")
    assert [] == vocab.names("baz")
    assert ["Baz"] == vocab.names("Baz")
    assert ["Thing"] == vocab.names("thing", include_generic=True)


def test_find_is_fast() -> None:
    text = "Python Django PostgreSQL AWS Docker Kubernetes teamwork and more words " * 300
    vocabulary().names(text)
    start = time.process_time()
    vocabulary().names(text)
    assert time.process_time() - start < 0.2


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [("apache", "Apache HTTP Server"), ("assembler", "Assembly"), ("cold fusion", "ColdFusion"), ("ekgs", "EKG")],
)
def test_added_aliases(spelling: str, canonical: str) -> None:
    assert canonical == vocabulary().canonical(spelling)


def test_protocols_count_in_lists_but_not_in_prose() -> None:
    text = "Configured VPN tunnels for the branch offices."
    assert [] == vocabulary().names(text, prose=True)
    assert ["VPN"] == vocabulary().names(text)
