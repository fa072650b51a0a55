"""``neurorad settings list`` and ``neurorad settings show NAME|PATH``."""
from __future__ import annotations

import sys

import yaml

from neurorad.settings import SettingsError, load_settings, preset_names


def _list(args) -> int:
    for name in preset_names():
        s = load_settings(name)
        first_sentence = " ".join(s.description.split()).split(": ")[0]
        print(f"{name:<22} {s.settings_id}  {first_sentence}")
    return 0


def _show(args) -> int:
    try:
        s = load_settings(args.name)
    except SettingsError as exc:
        print(f"neurorad settings: {exc}", file=sys.stderr)
        return 2
    print(f"# settings_id: {s.settings_id}")
    print(yaml.safe_dump(s.to_dict(), sort_keys=False, width=92), end="")
    return 0


def register(subparsers) -> None:
    """Add the ``settings`` subcommand (``list``, ``show``)."""
    parser = subparsers.add_parser(
        "settings", help="list the extraction-settings presets or show one, validated",
        description="Extraction settings: bundled presets and YAML files.")
    sub = parser.add_subparsers(dest="settings_command", metavar="ACTION")
    p_list = sub.add_parser("list", help="presets with their settings_id")
    p_list.set_defaults(func=_list)
    p_show = sub.add_parser("show", help="a preset (or a YAML file), validated, in full")
    p_show.add_argument("name", help="preset name or path to a settings YAML file")
    p_show.set_defaults(func=_show)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])
