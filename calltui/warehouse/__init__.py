"""The Marketo Measure data warehouse (Snowflake): connection settings, sync, match.

Headless like the rest of the core; snowflake-connector-python is an optional
extra (``pip install 'calltui[snowflake]'``), imported only when connecting.
"""

from calltui.warehouse.settings import WarehouseError, WarehouseSettings, connect, settings_from

__all__ = ["WarehouseError", "WarehouseSettings", "connect", "settings_from"]
