"""The Settings page: a password when served on a network, keys cleared from the field once used."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from core.config import hash_password, verify_password

SETTINGS = str(Path(__file__).resolve().parent.parent / "app_pages" / "settings.py")
PASSWORD = "correct horse battery staple"
KEY = "gsk-apptest-session-key-abcdef-Z7q9"


def run_settings() -> AppTest:
    at = AppTest.from_file(SETTINGS, default_timeout=30)
    at.run()
    assert not at.exception
    return at


def everything(at: AppTest) -> str:
    """Every element of the page as Streamlit sends it (protobufs), widget values included."""
    return "\n".join(str(getattr(node, "proto", "")) for node in at._tree.main.children.values()) + str(
        [getattr(w, "value", None) for w in at.text_input]
    )


@pytest.fixture
def on_network() -> Iterator[None]:
    before = st_config.get_option("server.address")
    st_config.set_option("server.address", "0.0.0.0")
    yield
    st_config.set_option("server.address", before)


def write_hash() -> None:
    Path(os.environ["CV_COPILOT_CONFIG"]).write_text(
        f'[security]\nsettings_password_hash = "{hash_password(PASSWORD)}"\n', encoding="utf-8"
    )


def test_on_localhost_the_page_opens_without_a_password() -> None:
    at = run_settings()
    assert (0, True) == (len([t for t in at.text_input if t.key == "settings_password"]), bool(at.subheader))


def test_on_a_network_the_page_asks_for_the_password(on_network: None) -> None:
    write_hash()
    at = run_settings()
    assert ([], ["settings_password"]) == ([s.value for s in at.subheader], [t.key for t in at.text_input])
    at.text_input(key="settings_password").set_value("guess")
    at.button(key="settings_unlock").click().run()
    assert (["Wrong password."], []) == ([e.value for e in at.error], [s.value for s in at.subheader])
    at.text_input(key="settings_password").set_value(PASSWORD)
    at.button(key="settings_unlock").click().run()
    assert not at.exception
    assert "Providers" in [s.value for s in at.subheader]
    assert PASSWORD not in everything(at)


def test_on_a_network_without_a_password_set_the_page_says_how_to_set_one(on_network: None) -> None:
    at = run_settings()
    assert [] == [s.value for s in at.subheader]
    assert "python -m core hash-password" in at.error[0].value


def test_a_used_key_leaves_the_field_and_only_its_last_4_characters_are_shown() -> None:
    at = run_settings()
    at.selectbox(key="key_provider").set_value("groq")
    at.text_input(key="key_value").set_value(KEY)
    at.button(key="key_use").click().run()
    assert not at.exception
    assert ({"groq": KEY}, "") == (at.session_state["session_keys"], at.text_input(key="key_value").value)
    page = everything(at)
    assert (KEY in page, KEY[-4:] in page) == (False, True)


def test_hash_password_command_prints_a_hash_that_verifies(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from core import cli

    monkeypatch.setattr("getpass.getpass", lambda prompt="": PASSWORD)
    assert 0 == cli.main(["hash-password"])
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("settings_password_hash = ")
    assert verify_password(PASSWORD, line.split('"')[1])


def test_hash_password_refuses_mismatched_or_empty(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from core import cli

    answers = iter(["one password", "another"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert 1 == cli.main(["hash-password"])
    assert "do not match" in capsys.readouterr().err
