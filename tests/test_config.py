"""The config file: a secret in it is refused, saying where that secret goes instead."""

from __future__ import annotations

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
_FILTER = ("[salesforce] call_filter must be a SOQL condition, e.g. \"TaskSubtype = 'Call'\", "
           "not ")


@pytest.mark.parametrize(("line", "message"), [
    ('bulk_threshold = "lots"', _THRESHOLD + "'lots'"),
    ("bulk_threshold = -5", _THRESHOLD + "-5"),
    ("bulk_threshold = 1.5", _THRESHOLD + "1.5"),
    ("bulk_threshold = true", _THRESHOLD + "True"),
    ('call_filter = ""', _FILTER + "''"),
    ("call_filter = 3", _FILTER + "3"),
])
def test_salesforce_settings_of_the_wrong_kind_are_named(tmp_path: Path, line: str,
                                                         message: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f"[salesforce]\n{line}\n")
    with pytest.raises(ConfigError) as refused:
        load_config(config)
    assert str(refused.value) == f"config file {config}: {message}"


def test_good_salesforce_settings_load(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[salesforce]\nbulk_threshold = 0\ncall_filter = \"Type = 'Call'\"\n")
    assert load_config(config).salesforce == {"bulk_threshold": 0,
                                              "call_filter": "Type = 'Call'"}
