"""The config file: a secret in it is refused, saying where that secret goes instead."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from calltui.config import _SECRET_KEYS, ConfigError, load_config
from calltui.sf.keychain import SECRET_NAMES


@pytest.mark.parametrize("key", sorted(_SECRET_KEYS))
def test_each_refused_secret_names_where_it_goes_instead(tmp_path: Path, key: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[salesforce]\n{key} = "s3cr3t"\n')
    with pytest.raises(ConfigError) as info:
        load_config(config)
    message = str(info.value)
    assert "secrets do not belong in the config file" in message and "\n" not in message
    assert "s3cr3t" not in message
    named = re.findall(r"\bSF_[A-Z_]+", message)
    assert named and set(named) <= set(SECRET_NAMES)  # each can be set, or kept in the keyring


@pytest.mark.parametrize(("line", "message"), [
    ("window_minutes = 30", "window_minutes is a setting outside any section: put it under "
     "[match]"),
    ('username = "a@b.c"', "username is a setting outside any section: put it under "
     "[salesforce]"),
    ('colour = "red"', "colour is a setting outside any section: settings go under a section "
     "([match], [salesforce], [vendors], [warehouse])"),
    ('password = "s3cr3t"', "password is a secret, and secrets do not belong in the config "
     "file; set it in the environment or with `calltui secret set` instead, as SF_PASSWORD"),
])
def test_a_setting_outside_any_section_says_where_it_goes(tmp_path: Path, line: str,
                                                          message: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f"{line}\n[match]\nanchor = \"start\"\n")
    with pytest.raises(ConfigError) as refused:
        load_config(config)
    assert str(refused.value) == f"config file {config}: {message}"  # was 'unknown section'


def test_session_id_goes_in_sf_session_id(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[salesforce]\nsession_id = "00D!x"\npassword = "pw"\n')
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert str(info.value) == (
        f"config file {config}: secrets do not belong in the config file (password, "
        "session_id); set them in the environment or with `calltui secret set` instead: "
        "password as SF_PASSWORD, session_id as SF_SESSION_ID")


_THRESHOLD = "[salesforce] bulk_threshold must be a whole number of Tasks (0 or more), not "
_ONE = "[salesforce] call_filter must be one SOQL condition, and in "
_FILTER = ("[salesforce] call_filter must be a SOQL condition, e.g. \"TaskSubtype = 'Call'\", "
           "not ")


@pytest.mark.parametrize(("line", "message"), [
    ('bulk_threshold = "lots"', _THRESHOLD + "'lots'"),
    ("bulk_threshold = -5", _THRESHOLD + "-5"),
    ("bulk_threshold = 1.5", _THRESHOLD + "1.5"),
    ("bulk_threshold = true", _THRESHOLD + "True"),
    ('call_filter = ""', _FILTER + "''"),
    ("call_filter = 3", _FILTER + "3"),
    # a filter that escapes its brackets would drop the window's conditions
    ("call_filter = \"Type = 'Call' ) OR (Id != null\"", _ONE + "\"Type = 'Call' ) OR (Id != "
     "null\" a ')' closes a parenthesis that was not opened"),
    ("call_filter = \"(Type = 'Call'\"", _ONE + "\"(Type = 'Call'\" a '(' is not closed"),
    ("call_filter = \"Subject = 'it\\\\'s\"", _ONE + "\"Subject = 'it\\\\'s\" a quote (') is not "
     "closed"),
    ("call_filter = \"Type = 'Call' limit  5\"", _ONE + "\"Type = 'Call' limit  5\" LIMIT ends a "
     "WHERE clause"),
    # a mistyped placeholder reached the org: MALFORMED_QUERY unexpected token: '{'
    ('call_filter = "{bizibleid} != null"', _ONE + "'{bizibleid} != null' '{bizibleid}' is "
     "not a placeholder calltui fills in (the one it knows is {bizible_id}, the BizibleId "
     "field)"),
])
def test_salesforce_settings_of_the_wrong_kind_are_named(tmp_path: Path, line: str,
                                                         message: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f"[salesforce]\n{line}\n")
    with pytest.raises(ConfigError) as refused:
        load_config(config)
    assert str(refused.value) == f"config file {config}: {message}"


@pytest.mark.parametrize("condition", [
    "Subject LIKE '%(urgent%'",  # brackets and words inside quotes are text
    "Subject = 'order by phone' AND (Type = 'Call' OR Type = null)",
    "Subject = 'it\\'s (ok)'",  # an escaped quote stays inside the text
    "{bizible_id} != null AND Subject != '{draft}'",  # the placeholder; braces in text
])
def test_call_filters_with_brackets_or_keywords_in_text_load(tmp_path: Path,
                                                             condition: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f"[salesforce]\ncall_filter = {json.dumps(condition)}\n")
    assert load_config(config).salesforce["call_filter"] == condition


def test_good_salesforce_settings_load(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[salesforce]\nbulk_threshold = 0\ncall_filter = \"Type = 'Call'\"\n")
    assert load_config(config).salesforce == {"bulk_threshold": 0,
                                              "call_filter": "Type = 'Call'"}
