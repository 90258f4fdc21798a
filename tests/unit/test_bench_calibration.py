"""bench/calibration.py: the ECE arithmetic on hand-made bins, and a plot written without pyplot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.calibration import reliability

REPO = Path(__file__).resolve().parents[2]


def test_ece_is_the_count_weighted_gap_between_accuracy_and_confidence() -> None:
    # Bin (0.2, 0.3]: confidences 0.25, 0.25, accuracy 1/2 -> gap 0.25; bin (0.9, 1]: 0.95 x2 and 1.0, all right -> gap 1/30.
    result = reliability([0.25, 0.25, 0.95, 0.95, 1.0], [True, False, True, True, True])
    assert result["bins"]["count"] == [0, 0, 2, 0, 0, 0, 0, 0, 0, 3]
    assert result["ece"] == pytest.approx(2 / 5 * 0.25 + 3 / 5 * (1 - (0.95 + 0.95 + 1.0) / 3))
    assert reliability([0.0, 0.1], [False, False])["bins"]["count"][0] == 2  # 0 and 0.1 share the first bin
    assert reliability([0.7] * 10, [True] * 7 + [False] * 3)["ece"] == pytest.approx(0.0)
    with pytest.raises(ValueError, match="no predictions"):
        reliability([], [])


def test_the_plot_uses_no_pyplot_and_leaves_the_backend_alone(tmp_path: Path) -> None:
    code = (
        "import sys, matplotlib\n"
        "before = dict.__getitem__(matplotlib.rcParams, 'backend')  # get_backend() would resolve it through pyplot\n"
        "from bench.calibration import plot, reliability\n"
        "r = reliability([0.3, 0.9, 0.95], [False, True, True])\n"
        f"plot(__import__('pathlib').Path({str(tmp_path / 'r.png')!r}), [('spans', r), ('tokens', r)], 'test')\n"
        "print('matplotlib.pyplot' in sys.modules, dict.__getitem__(matplotlib.rcParams, 'backend') == before)\n"
    )
    probe = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=False)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split() == ["False", "True"]
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
