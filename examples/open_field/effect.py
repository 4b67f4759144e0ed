"""Does a treatment make mice move more? One comparison, many defensible ways to compute it.

Two groups of mice (control and treated) explore an open field for a minute each. The treatment
shortens the rests between bouts of running, but the treated animals run more slowly. Each animal's
track goes through the pipeline of ``pipeline.py`` (gap interpolation, smoothing, speed, a speed
threshold for "moving"), and the effect is the difference in the fraction of time moving, treated
minus control, with a 95% confidence interval (Welch). Every choice below is defensible; a
specification curve shows whether the conclusion survives them:

    sr = sensitivity("examples/open_field/effect.py",
                     {"smoothing": ["mean", "median"], "smooth_window": [1, 5, 11],
                      "threshold": [1.0, 2.0, 4.0, 8.0], "interpolate_gaps": [True, False]},
                     mode="grid")
    sr.plot(kind="specification", output="effect", ci=("effect_lo", "effect_hi"))
"""

import numpy as np
import pandas as pd

from py3r.behaviour.script import Output, Param

smooth_window = Param(5, name="smooth_window", low=1, high=51, step=2)  # frames in the centred rolling window
threshold = Param(2.0, name="threshold", low=0.0, high=20.0, step=0.5)  # cm/s above which an animal moves
smoothing = Param("mean", name="smoothing", choices=["mean", "median"])  # how the rolling window averages
interpolate_gaps = Param(True, name="interpolate_gaps")  # fill frames the tracker lost
animals = Param(10, name="animals", low=2, high=50)  # per group
seed = Param(1, name="seed", low=0)  # which synthetic cohort

ARENA_CM, FPS, SECONDS = 40.0, 25, 60
if smooth_window % 2 == 0:
    raise ValueError(f"smooth_window must be odd, so that the window is centred; got {smooth_window}.")
rng = np.random.default_rng(seed)
n = FPS * SECONDS


def session(rest_s: float, run_speed: float) -> np.ndarray:
    """One animal's observed track (frames x 2, cm): bouts of running and rest, jitter, lost frames."""
    moving = np.zeros(n, dtype=bool)
    state, t = False, 0
    while t < n:
        length = int(rng.exponential(2.0 if state else rest_s) * FPS) + 1
        moving[t : t + length] = state
        state, t = not state, t + length
    speed = np.where(moving, rng.normal(run_speed, 2.0, n).clip(1.0), 0.2)
    heading = np.cumsum(rng.normal(0, 0.3, n))
    path = ARENA_CM / 2 + np.cumsum(speed[:, None] / FPS * np.c_[np.cos(heading), np.sin(heading)], axis=0)
    folded = np.mod(path, 2 * ARENA_CM)  # reflect off the walls
    track = np.where(folded > ARENA_CM, 2 * ARENA_CM - folded, folded) + rng.normal(0, 0.35, (n, 2))
    for start in rng.choice(n - 25, size=8, replace=False):  # lost-tracking gaps of up to 1 s
        track[start : start + rng.integers(3, 25)] = np.nan
    return track


def fraction_moving(track: np.ndarray) -> float:
    """The pipeline of pipeline.py: interpolate, smooth, speed, threshold."""
    xy = pd.DataFrame(track, columns=["x", "y"])
    if interpolate_gaps:
        xy = xy.interpolate(limit_direction="both")
    rolling = xy.rolling(smooth_window, center=True, min_periods=1)
    xy = rolling.mean() if smoothing == "mean" else rolling.median()
    speed = np.hypot(xy["x"].diff(), xy["y"].diff()) * FPS
    return float((speed[speed.notna()] > threshold).mean())


control = np.array([fraction_moving(session(rest_s=4.0, run_speed=12.0)) for _ in range(animals)])
treated = np.array([fraction_moving(session(rest_s=2.0, run_speed=7.0)) for _ in range(animals)])
diff = treated.mean() - control.mean()
se = np.sqrt(treated.var(ddof=1) / animals + control.var(ddof=1) / animals)
effect = Output(float(diff), name="effect")
effect_lo = Output(float(diff - 1.96 * se), name="effect_lo")  # normal approximation of Welch's interval
effect_hi = Output(float(diff + 1.96 * se), name="effect_hi")

print(f"treated - control fraction moving: {effect:+.3f} [{effect_lo:+.3f}, {effect_hi:+.3f}]")
