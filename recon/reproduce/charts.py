"""The figures of the reproduced tables: grouped bars of one number per method and setting.

>>> figure = grouped_bars({"SNR 20": {"RL": 0.05, "ADMM": 0.03}, "SNR 100": {"RL": 0.03, "ADMM": 0.01}},
...                       ylabel="median |Δg|", title="shear")
>>> [axis.get_ylabel() for axis in figure.axes]
['median |Δg|']
"""

from __future__ import annotations

import math


def grouped_bars(groups: dict, *, ylabel: str, title: str, axis=None, reference: dict | None = None,
                 bottom: float | None = None):
    """Bars of ``groups`` (``{group: {series: value}}``), one colour per series; a new figure unless ``axis``.

    :param reference: ``{group: {series: value}}`` drawn as black ticks over the bars (the paper's numbers).
    :param bottom: the lower end of the value axis (default: 0, or just under the smallest value if all are
        far from 0, as PSNRs are).
    :returns: the figure.
    """
    import textwrap

    from recon.figures import pyplot

    plt = pyplot()
    series = list(dict.fromkeys(s for row in groups.values() for s in row))
    if axis is None:
        width = max(5.0, 0.35 * len(groups) * (len(series) + 1) + 2.0)
        figure, axis = plt.subplots(figsize=(width, 4.2), layout="constrained")
    else:
        figure = axis.figure
    bar = 0.8 / max(len(series), 1)
    finite = [v for row in groups.values() for v in row.values() if v is not None and math.isfinite(v)]
    if bottom is None:
        low, high = min(finite, default=0.0), max(finite, default=1.0)
        bottom = 0.0 if low <= 0 or low < 0.5 * high else low - 0.15 * (high - low) - 1.0
    for k, name in enumerate(series):
        xs = [g + (k - (len(series) - 1) / 2) * bar for g in range(len(groups))]
        heights = [(row.get(name) if row.get(name) is not None else math.nan) for row in groups.values()]
        axis.bar(xs, [h - bottom for h in heights], bar, bottom=bottom, label=name)
        for x, group in zip(xs, groups):
            known = (reference or {}).get(group, {}).get(name)
            if known is not None:
                axis.plot([x - bar / 2, x + bar / 2], [known, known], color="black", linewidth=2)
    if reference:
        axis.plot([], [], color="black", linewidth=2, label="the paper")
    axis.set_xticks(range(len(groups)), list(groups), fontsize=9)
    axis.set_ylabel(ylabel)
    axis.set_title(textwrap.fill(title, 60), fontsize=10)
    axis.legend(fontsize=8, ncols=min(len(series) + bool(reference), 3), loc="upper center",
                bbox_to_anchor=(0.5, -0.1), frameon=False)
    return figure


def panels(count: int, *, width: float = 4.6, height: float = 3.6):
    """``(figure, axes)``: ``count`` panels side by side."""
    from recon.figures import pyplot

    figure, axes = pyplot().subplots(1, count, figsize=(width * count, height), layout="constrained", squeeze=False)
    return figure, list(axes[0])
