"""``neurorad settings list``, ``neurorad settings show NAME|PATH`` and
``neurorad settings from-pyradiomics PARAMS.yaml [-o OUT.yaml]``."""
from __future__ import annotations

import sys

import yaml

from neurorad.settings import load_settings, preset_names


def _list(args) -> int:
    for name in preset_names():
        s = load_settings(name)
        first_sentence = " ".join(s.description.split()).split(": ")[0]
        print(f"{name:<22} {s.settings_id}  {first_sentence}")
    return 0


def _show(args) -> int:
    s = load_settings(args.name)  # a SettingsError exits with code 2 (neurorad.cli)
    print(f"# settings_id: {s.settings_id}")
    print(yaml.safe_dump(s.to_dict(), sort_keys=False, width=92), end="")
    return 0


def _from_pyradiomics(args) -> int:
    from neurorad.settings.pyradiomics import from_pyradiomics

    conversion = from_pyradiomics(args.params)  # a SettingsError exits with code 2 (neurorad.cli)
    report = "\n".join("# " + line for line in conversion.report().splitlines())
    text = (f"# neurorad settings converted from the PyRadiomics parameter file "
            f"{args.params}\n# status per item: exact | ibsi (IBSI definition, differences "
            f"said) | ignored | unsupported\n{report}\n"
            + yaml.safe_dump(conversion.settings, sort_keys=False, width=92))
    if args.output:
        from pathlib import Path

        out = Path(args.output)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        print(conversion.report(), file=sys.stderr)
        print(f"written: {args.output}", file=sys.stderr)
    else:
        print(text, end="")
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
    p_conv = sub.add_parser(
        "from-pyradiomics", help="convert a PyRadiomics parameter file into neurorad settings",
        description="Convert a PyRadiomics parameter file (setting, imageType, featureClass) "
                    "into neurorad settings YAML, saying per item what maps exactly, what maps "
                    "to the IBSI definition (and how PyRadiomics differs), what is ignored "
                    "and what is unsupported.")
    p_conv.add_argument("params", help="PyRadiomics parameter file (YAML)")
    p_conv.add_argument("-o", "--output", help="write the settings YAML here (default: stdout)")
    p_conv.set_defaults(func=_from_pyradiomics)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])
