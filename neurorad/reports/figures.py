"""Show a figure in a study notebook with its caption (numbered when the report is rendered).

``show_figure(plots.plot_roc(result), "ROC curves of ...")`` displays the figure as a PNG
whose output metadata carries the caption; :mod:`neurorad.reports.layout` numbers the
figures of a report in order and the HTML template writes ``Figure N. caption`` under each.
The study's key figure (``key=True``) is also saved as ``key_figure.png`` (+
``key_figure.json`` with its caption) in the study's output folder: the report summary shows
it at the top and the index page uses it as the study's thumbnail.
"""
from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np

#: Output-metadata key that carries the figure's caption (and later its number).
METADATA_KEY = "neurorad"
KEY_FIGURE = "key_figure.png"
KEY_FIGURE_META = "key_figure.json"


def figure_of(obj):
    """The matplotlib Figure behind ``obj``: a Figure, an Axes, an array of Axes, or an
    object with a ``figure``/``fig`` attribute (seaborn's grids)."""
    from matplotlib.figure import Figure

    if isinstance(obj, Figure):
        return obj
    if isinstance(obj, np.ndarray) and obj.size:
        return figure_of(obj.flat[0])
    for attr in ("figure", "fig"):
        fig = getattr(obj, attr, None)
        if isinstance(fig, Figure):
            return fig
    raise TypeError(f"cannot find a matplotlib figure in {type(obj).__name__}")


def figure_png(fig, dpi: float | None = None) -> bytes:
    """PNG bytes of ``fig`` (tight bounding box, as Jupyter's inline backend draws it)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight", dpi=dpi or fig.dpi)
    return buffer.getvalue()


def save_key_figure(png: bytes, caption: str, output_dir: str | os.PathLike) -> Path:
    """Write ``key_figure.png`` and its caption (``key_figure.json``) into ``output_dir``."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / KEY_FIGURE).write_bytes(png)
    (out / KEY_FIGURE_META).write_text(json.dumps({"caption": caption}), encoding="utf-8")
    return out / KEY_FIGURE


def show_figure(obj, caption: str, *, key: bool = False,
                output_dir: str | os.PathLike | None = None, dpi: float | None = None) -> None:
    """Display ``obj``'s figure with ``caption`` and close it.

    Parameters
    ----------
    obj : Figure, Axes, array of Axes or seaborn grid
        What a ``neurorad.plots`` function returns.
    caption : str
        One or two sentences: what is shown and how to read it (plain text; escaped when
        rendered).
    key : bool
        The study's key figure: shown again in the report's summary and on the index page.
        Needs ``output_dir``.
    output_dir : path, optional
        The study's output folder (where the key figure is saved).
    """
    import matplotlib.pyplot as plt
    from IPython.display import Image, display

    if not caption or not str(caption).strip():
        raise ValueError("show_figure: give the figure a caption")
    if key and output_dir is None:
        raise ValueError("show_figure: a key figure needs output_dir to be saved")
    fig = figure_of(obj)
    png = figure_png(fig, dpi)
    plt.close(fig)
    if key:
        save_key_figure(png, str(caption), output_dir)
    display(Image(data=png, format="png"),
            metadata={METADATA_KEY: {"caption": str(caption), "key": bool(key)}})
