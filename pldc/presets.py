"""Search presets: TOML files of `CompileSettings` keys (pldc.settings), such as `optimizers/`.

The command line overrides a preset, and a preset overrides the built-in defaults. A key that
is not a setting, or a value of the wrong type, is an error naming the file and the key.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from pldc.errors import SettingsError
from pldc.settings import CompileSettings, declared_settings


def setting_names() -> list[str]:
    return [declared.name for declared in declared_settings()]


def load_preset(path: str | Path) -> dict[str, Any]:
    """The settings a preset file sets, checked against `CompileSettings`."""
    path = Path(path)
    try:
        values = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise SettingsError(
            f"{path}: no such preset; see optimizers/ for the bundled ones."
        ) from None
    except OSError as exc:
        raise SettingsError(
            f"{path}: cannot read the preset ({exc.strerror}); give a .toml file."
        ) from None
    except UnicodeDecodeError as exc:
        raise SettingsError(
            f"{path}: byte {exc.start} is not UTF-8; save the preset as UTF-8."
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML ({exc}); fix the file.") from None
    known = setting_names()
    for key in values:
        if key not in known:
            raise SettingsError(f"{path}: unknown key {key!r}; use one of: {', '.join(known)}.")
    settings_with(values, source=str(path))
    return values


def settings_with(
    values: dict[str, Any], source: str = "settings", flags: dict[str, str] | None = None
) -> CompileSettings:
    """`CompileSettings` with `values` over the defaults, type-checked.

    Errors name `source` and the setting, or its command-line flag when `flags` maps it to one.
    """
    flags = flags or {}
    defaults = dataclasses.asdict(CompileSettings())
    for key, value in values.items():
        # Lax validation would read true as 1; a number setting takes no true/false value.
        if isinstance(value, bool) and not isinstance(defaults.get(key, False), bool):
            name = flags.get(key, f"{key} =")
            raise SettingsError(
                f"{source}: {name} {value} is a true/false value; give a number.", key
            )
    merged = {**defaults, **values}
    try:
        return TypeAdapter(CompileSettings).validate_python(merged, strict=False)
    except SettingsError as exc:
        message = str(exc)
        if exc.setting in flags:
            message = message.replace(f"{exc.setting} =", flags[exc.setting], 1)
        raise SettingsError(f"{source}: {message}", exc.setting) from None
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"])
        key = flags.get(key, key)
        raise SettingsError(
            f"{source}: {key} = {error.get('input')!r} is invalid ({error['msg']}); fix the value."
        ) from None
