"""Extraction settings: schema, presets and ``load_settings``.

``load_settings`` accepts a preset name (``neurorad settings list``), a path to a YAML file,
a dict, or an existing ``Settings`` object, and returns validated, frozen ``Settings``.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml

from neurorad.settings.schema import (
    FAMILIES,
    Discretisation,
    Filters,
    Resample,
    Resegment,
    Settings,
    SettingsError,
    Texture,
)

__all__ = ["FAMILIES", "Discretisation", "Filters", "Resample", "Resegment", "Settings", "SettingsError",
           "Texture", "load_settings", "preset_names", "preset_path"]


def preset_names() -> list[str]:
    """Names of the bundled presets (file stems of ``presets/*.yaml``)."""
    folder = resources.files("neurorad.settings") / "presets"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def preset_path(name: str) -> Path:
    """Path of a bundled preset; ``SettingsError`` listing the presets when unknown."""
    path = Path(str(resources.files("neurorad.settings") / "presets" / f"{name}.yaml"))
    if not path.is_file():
        raise SettingsError(
            f"unknown settings preset {name!r}; presets: {', '.join(preset_names())} "
            "(or give a path to a YAML file)")
    return path


def _read_yaml(path: Path) -> dict:
    """The settings mapping of a YAML file, read with the bounded safe loader
    (:mod:`neurorad.yamlsafe`); every failure is a SettingsError naming the file."""
    from neurorad.yamlsafe import YAMLLimitError, load_yaml, short_repr

    try:
        doc = load_yaml(path.read_text(encoding="utf-8"), source=path)
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read the settings file "
                            f"({exc.strerror or type(exc).__name__})") from None
    except UnicodeDecodeError as exc:
        raise SettingsError(f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at "
                            f"offset {exc.start}); save the settings file as UTF-8") from None
    except YAMLLimitError as exc:
        raise SettingsError(str(exc)) from None
    except yaml.YAMLError as exc:
        raise SettingsError(f"{path}: not valid YAML "
                            f"({short_repr(' '.join(str(exc).split()), 300)})") from None
    if not isinstance(doc, dict):
        raise SettingsError(f"{path}: expected a mapping of settings, got {type(doc).__name__}")
    return doc


def load_settings(source: "str | Path | dict | Settings") -> Settings:
    """Validated, frozen extraction settings.

    Parameters
    ----------
    source
        A preset name (``ibsi-phantom``, ``ibsi-ct-a`` ... ``ibsi-ct-e``,
        ``pyradiomics-default``, ``seed-protocol``), a path to a YAML file, a dict in the
        same format (see ``neurorad.settings.schema``), or a ``Settings`` object (returned
        as is).

    Raises
    ------
    SettingsError
        Unknown preset, unreadable file, unknown key or bad value (the message names the
        key, and the file when there is one).

    Examples
    --------
    >>> from neurorad.settings import load_settings
    >>> settings = load_settings({"families": ["statistics", "glcm"],
    ...                           "discretisation": {"method": "fbn", "n_bins": 8}})
    >>> settings.families, [d.suffix for d in settings.discretisation]
    (('statistics', 'glcm'), ['fbn8'])
    >>> load_settings("seed-protocol").families[:3]
    ('morphology', 'local_intensity', 'statistics')
    """
    if isinstance(source, Settings):
        return source
    if isinstance(source, dict):
        return Settings.from_dict(source)
    if isinstance(source, (str, Path)):
        text = str(source)
        path = Path(text)
        if path.suffix.lower() in (".yaml", ".yml") or path.is_file():
            if not path.is_file():
                raise SettingsError(f"settings file not found: {path}")
            try:
                return Settings.from_dict(_read_yaml(path))
            except SettingsError as exc:
                if str(path) in str(exc):
                    raise
                raise SettingsError(f"{path}: {exc}") from exc
        return Settings.from_dict(_read_yaml(preset_path(text)))
    raise SettingsError(f"settings: expected a preset name, path, dict or Settings, "
                        f"got {type(source).__name__}")
