"""`--plot FILE.png`: learning rate against depth, one bar per module, frozen ones marked."""

from __future__ import annotations

from pathlib import Path

from lrlint.runtime.report import Report

_BACKBONE, _HEAD, _FROZEN = "#4C72B0", "#DD8452", "#BBBBBB"


def plot(report: Report, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display: write the file only
    import matplotlib.pyplot as plt

    rows = report.rows
    labels = [row.module for row in rows]
    rates = [max(row.lr) if row.lr else 0.0 for row in rows]
    colours = [_FROZEN if row.trainable == 0 else _HEAD if row.head else _BACKBONE for row in rows]
    figure, axes = plt.subplots(figsize=(max(6.0, 0.35 * len(rows) + 2), 4.5))
    bars = axes.bar(range(len(rows)), rates, color=colours)
    for bar, row in zip(bars, rows, strict=True):
        if row.trainable == 0:
            bar.set_hatch("//")
    for index, row in enumerate(rows):
        if not row.lr and row.trainable:  # trainable, yet in no group: it will never train
            axes.annotate(
                "✗",
                (index, 0),
                ha="center",
                va="bottom",
                color="#C44E52",
                fontsize=14,
                xycoords=("data", "axes fraction"),
            )
    positive = [r for r in rates if r > 0]
    if positive and max(positive) / min(positive) > 20:
        axes.set_yscale("log")
    axes.set_xticks(range(len(rows)))
    axes.set_xticklabels(labels, rotation=70, ha="right", fontsize=7)
    axes.set_ylabel("learning rate")
    axes.set_xlabel("depth (embeddings → blocks → heads)")
    axes.set_title(f"{report.model}: learning rate by depth")
    handles = [
        plt.Rectangle((0, 0), 1, 1, color=_BACKBONE),
        plt.Rectangle((0, 0), 1, 1, color=_HEAD),
        plt.Rectangle((0, 0), 1, 1, facecolor=_FROZEN, hatch="//"),
    ]
    handles.append(plt.Line2D([], [], color="#C44E52", marker="x", linestyle=""))
    axes.legend(handles, ["pretrained", "new head", "frozen", "in no group"], fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
