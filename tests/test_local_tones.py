"""Every tone the app offers writes its own offline letter (issue 9, bug 3: 'friendly' and 'enthusiastic' gave
the formal letter)."""

from __future__ import annotations

import enum
from pathlib import Path

import pytest

from core.ai_service import TONES
from core.local import cover_letter, parse_cv
from core.local.letter import tone_of

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
CV = parse_cv((SAMPLES / "cv_software_engineer.txt").read_text(encoding="utf-8"))
JOB = (SAMPLES / "job_python_backend.txt").read_text(encoding="utf-8")


class Tone(str, enum.Enum):
    """Stands in for the domain's Tone enum: the offline letter reads members as well as plain strings."""

    FORMAL = "formal"
    FRIENDLY = "friendly"
    ENTHUSIASTIC = "enthusiastic"
    CONCISE = "concise"


def letter(tone: object) -> str:
    return cover_letter(CV, JOB, company="Globex", tone=tone, length="long")


@pytest.mark.parametrize("tone", [t for t in TONES if t != "formal"])
def test_each_offered_tone_changes_the_offline_letter(tone: str) -> None:
    assert letter(tone) != letter("formal")


def test_the_offered_tones_write_four_different_letters() -> None:
    assert len({letter(t) for t in TONES}) == len(TONES)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("warm", "friendly"),
        ("Friendly", "friendly"),
        (" ENTHUSIASTIC ", "enthusiastic"),
        (Tone.ENTHUSIASTIC, "enthusiastic"),
        (Tone.FRIENDLY, "friendly"),
        ("sarcastic", "formal"),
        (None, "formal"),
        (42, "formal"),
    ],
)
def test_tone_names_from_strings_aliases_and_enums(given: object, expected: str) -> None:
    assert expected == tone_of(given)


@pytest.mark.parametrize(("alias", "tone"), [("warm", "friendly"), (Tone.CONCISE, "concise"), ("Formal", "formal")])
def test_an_alias_or_enum_writes_the_same_letter_as_its_tone(alias: object, tone: str) -> None:
    assert letter(tone) == letter(alias)


@pytest.mark.parametrize("tone", TONES)
def test_every_tone_still_names_the_role_company_and_signs_with_the_name(tone: str) -> None:
    text = letter(tone)
    assert "Globex" in text
    assert text.rstrip().endswith(CV["basics"]["name"])
