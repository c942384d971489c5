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
