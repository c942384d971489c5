"""Settings from a TOML file (``--config`` or the user config directory) and the environment.

Secrets are never read from this file: they come from the environment
(``SF_PASSWORD``, ``SF_SECURITY_TOKEN``, ...) when a sync needs them.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from calltui.models import MatchOptions, window_problem
from calltui.records import TaskFields
from calltui.sf.soql import call_filter_problem
from calltui.vendors import DEFAULT_RULES, Rule, parse_rules
from calltui.warehouse.settings import CONFIG_KEYS as WAREHOUSE_KEYS
from calltui.warehouse.settings import check_section as check_warehouse

__all__ = ["Config", "ConfigError", "default_config_path", "load_config"]


class ConfigError(ValueError):
    """A config file that cannot be used; the message is one line."""


@dataclass(frozen=True)
class Config:
    """Everything calltui reads from its config file."""

    match: MatchOptions = field(default_factory=MatchOptions)
    """The ``[match]`` section: window_minutes and anchor."""
    task_fields: TaskFields = field(default_factory=TaskFields)
    """The ``[salesforce]`` bizible_id_field and call_time_fields."""
    salesforce: dict[str, Any] = field(default_factory=dict)
    """The rest of ``[salesforce]`` (login_url, domain, username, api_version, ...)."""
    source: Path | None = None
    vendor_rules: tuple[Rule, ...] = DEFAULT_RULES
    """The ``[vendors]`` section: ordered attribution rules (calltui.vendors)."""
    warehouse: dict[str, Any] = field(default_factory=dict)
    """The ``[warehouse]`` section: Snowflake connection settings (calltui.warehouse)."""


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir("calltui", appauthor=False)) / "config.toml"


_SECRET_KEYS = {"password": "SF_PASSWORD", "security_token": "SF_SECURITY_TOKEN",
                "token": "SF_SECURITY_TOKEN", "session_id": "SF_SESSION_ID",
                "consumer_secret": "SF_CONSUMER_SECRET",
                "private_key": "a key file named by SF_PRIVATE_KEY_FILE"}
"""The secrets refused in ``[salesforce]``, each with the variable that gives it instead
(for a JWT key: the path of its file)."""


def load_config(path: Path | None = None) -> Config:
    """Read ``path`` (or the default file when it exists); missing default gives defaults."""
    explicit = path is not None
    path = path or default_config_path()
    if not path.exists():
        if explicit:
            raise ConfigError(f"config file {path} does not exist")
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path}: {exc}") from None
    return _from_dict(data, path)


_KNOWN = {
    "match": {"window_minutes", "anchor"},
    "salesforce": {"login_url", "domain", "username", "api_version", "consumer_key",
                   "private_key_file", "instance_url", "bulk_threshold", "call_filter",
                   "bizible_id_field", "call_time_fields"},
    "vendors": {"rules", "defaults"},
    "warehouse": set(WAREHOUSE_KEYS),
}


def _where_it_goes(key: str) -> str:
    """What to do with ``key`` found outside any section."""
    if key in _SECRET_KEYS:
        return (f"{key} is a secret, and secrets do not belong in the config file; set it in "
                f"the environment or with `calltui secret set` instead, as {_SECRET_KEYS[key]}")
    homes = [f"[{name}]" for name, keys in _KNOWN.items() if key in keys]
    if homes:
        return f"{key} is a setting outside any section: put it under {' or '.join(homes)}"
    return (f"{key} is a setting outside any section: settings go under a section "
            f"({', '.join(f'[{n}]' for n in sorted(_KNOWN))})")


def _check_known(data: dict[str, Any], path: Path) -> None:
    """A typo in the config must not silently fall back to a default."""
    for section, value in data.items():
        if section not in _KNOWN and not isinstance(value, dict):
            raise ConfigError(f"config file {path}: {_where_it_goes(section)}")
        if section not in _KNOWN:
            raise ConfigError(f"config file {path}: unknown section [{section}] "
                              f"(known: {', '.join(sorted(_KNOWN))})")
        if not isinstance(value, dict):
            raise ConfigError(f"config file {path}: {section} must be a [{section}] table")
        unknown = sorted(set(value) - _KNOWN[section] - _SECRET_KEYS.keys())
        if unknown:
            raise ConfigError(f"config file {path}: unknown key {unknown[0]!r} in [{section}] "
                              f"(known: {', '.join(sorted(_KNOWN[section]))})")


def _from_dict(data: dict[str, Any], path: Path) -> Config:
    _check_known(data, path)
    match = data.get("match", {})
    sf = dict(data.get("salesforce", {}))
    secrets = sorted(_SECRET_KEYS.keys() & sf.keys())
    if secrets:
        instead = ", ".join(f"{key} as {_SECRET_KEYS[key]}" for key in secrets)
        raise ConfigError(
            f"config file {path}: secrets do not belong in the config file "
            f"({', '.join(secrets)}); set them in the environment or with `calltui secret "
            f"set` instead: {instead}"
        )
    window = match.get("window_minutes", 30)
    problem = window_problem(window)
    if problem:
        raise ConfigError(f"config file {path}: [match] window_minutes {problem}")
    options = MatchOptions(window_minutes=float(window), anchor=match.get("anchor", "start"))
    if options.anchor not in ("start", "activity"):
        raise ConfigError(f"config file {path}: [match] anchor must be 'start' or 'activity', "
                          f"not {options.anchor!r}")
    call_time = sf.pop("call_time_fields", list(TaskFields.call_time))
    if not isinstance(call_time, list) or not call_time or not all(
            isinstance(name, str) for name in call_time):
        raise ConfigError(f"config file {path}: [salesforce] call_time_fields must be a list "
                          'of field names, e.g. ["CompletedDateTime", "CreatedDate"]')
    fields = TaskFields(
        bizible_id=_field_name(path, sf.pop("bizible_id_field", TaskFields.bizible_id)),
        call_time=tuple(call_time),
    )
    try:
        fields.call_time_columns()
    except ValueError as exc:
        raise ConfigError(f"config file {path}: [salesforce] {exc}") from None
    try:
        vendor_rules = parse_rules(data.get("vendors", {}))
    except ValueError as exc:
        raise ConfigError(f"config file {path}: [vendors] {exc}") from None
    _check_salesforce(sf, path)
    warehouse = dict(data.get("warehouse", {}))
    try:
        check_warehouse(warehouse)
    except ValueError as exc:
        raise ConfigError(f"config file {path}: [warehouse] {exc}") from None
    return Config(match=options, task_fields=fields, salesforce=sf, source=path,
                  vendor_rules=vendor_rules, warehouse=warehouse)


_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def _check_salesforce(sf: dict[str, Any], path: Path) -> None:
    """``[salesforce]`` settings that are not credentials: a whole number where one goes,
    text where text goes."""
    threshold = sf.get("bulk_threshold")
    if threshold is not None and (not isinstance(threshold, int) or isinstance(threshold, bool)
                                  or threshold < 0):
        raise ConfigError(f"config file {path}: [salesforce] bulk_threshold must be a whole "
                          f"number of Tasks (0 or more), not {threshold!r}")
    call_filter = sf.get("call_filter")
    if call_filter is not None and (not isinstance(call_filter, str) or not call_filter.strip()):
        raise ConfigError(f"config file {path}: [salesforce] call_filter must be a SOQL "
                          f"condition, e.g. \"TaskSubtype = 'Call'\", not {call_filter!r}")
    problem = None if call_filter is None else call_filter_problem(call_filter)
    if problem is not None:
        raise ConfigError(f"config file {path}: [salesforce] call_filter must be one SOQL "
                          f"condition, and in {call_filter!r} {problem}")


def _field_name(path: Path, value: Any) -> str:
    """A Salesforce API field name: it goes into SOQL, so nothing else may pass."""
    if not isinstance(value, str) or not _FIELD_NAME.match(value):
        raise ConfigError(f"config file {path}: [salesforce] {value!r} is not a Salesforce "
                          "field API name")
    return value
