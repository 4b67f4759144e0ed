"""Open-field locomotion: the bundled example pipeline of py3r.behaviour.script.

A mouse explores a square open-field arena for five minutes while a tracker records its position.
This script makes such a session synthetically (deterministic for a given ``seed``: bouts of
running and resting, tracking noise, and runs of frames where the tracker lost the animal), then
runs a classic pipeline:

    tracking -> gap interpolation -> smoothing -> speed -> moving / not moving -> summary

It runs on its own (``python examples/open_field/pipeline.py``) and, because the knobs are marked
with ``Param`` and the results with ``Output``, it can be inspected, run and swept unchanged:

    py3r-script sweep examples/open_field/pipeline.py -p smooth_window=1,5,11,21 -p threshold=1,2,4,8
"""

import numpy as np
import pandas as pd

from py3r.behaviour.script import Output, Param

seed = Param(42, name="seed", low=0)  # which synthetic session
smooth_window = Param(5, name="smooth_window", low=1, high=51, step=2)  # frames in the centred rolling window
# cm/s above which the animal counts as moving
threshold = Param(2.0, name="threshold", low=0.0, high=20.0, step=0.5)
smoothing = Param("mean", name="smoothing", choices=["mean", "median"])  # how the rolling window averages
interpolate_gaps = Param(True, name="interpolate_gaps")  # fill frames the tracker lost
centre_fraction = Param(
    0.5, name="centre_fraction", low=0.05, high=0.95, step=0.05, doc="side of the centre zone / arena side"
)

ARENA_CM = 40.0
FPS = 25
SECONDS = 300

# The limits above are checked before the script runs; what they cannot say is checked here.
if smooth_window % 2 == 0:  # a centred window has as many frames before its frame as after it
    raise ValueError(f"smooth_window must be odd, so that the window is centred; got {smooth_window}.")

# --- A synthetic session -------------------------------------------------------------------------
rng = np.random.default_rng(seed)
n = FPS * SECONDS
dt = 1 / FPS
moving_state = np.zeros(n, dtype=bool)  # alternating bouts: rest ~4 s, run ~3 s on average
state, t = False, 0
while t < n:
    length = int(rng.exponential(3.0 if state else 4.0) * FPS) + 1
    moving_state[t : t + length] = state
    state, t = not state, t + length
target_speed = np.where(moving_state, rng.uniform(6.0, 18.0, n), 0.3)  # cm/s
heading = np.cumsum(rng.normal(0, 0.25, n))
pos = np.empty((n, 2))
pos[0] = ARENA_CM / 2
for i in range(1, n):
    step = target_speed[i] * dt * np.array([np.cos(heading[i]), np.sin(heading[i])])
    nxt = pos[i - 1] + step
    for k in range(2):  # bounce off the walls
        if not 0 <= nxt[k] <= ARENA_CM:
            heading[i:] += np.pi / 2
            nxt[k] = np.clip(nxt[k], 0, ARENA_CM)
    pos[i] = nxt
observed = pos + rng.normal(0, 0.35, pos.shape)  # tracker jitter, cm
for start in rng.choice(n - 50, size=30, replace=False):  # lost-tracking gaps of up to 2 s
    observed[start : start + rng.integers(3, 50)] = np.nan

# --- The pipeline --------------------------------------------------------------------------------
raw = pd.DataFrame({"time_s": np.arange(n) * dt, "x_cm": observed[:, 0], "y_cm": observed[:, 1]})
xy = raw[["x_cm", "y_cm"]]
if interpolate_gaps:
    xy = xy.interpolate(limit_direction="both")
rolling = xy.rolling(smooth_window, center=True, min_periods=1)
xy = rolling.mean() if smoothing == "mean" else rolling.median()
speed = np.hypot(xy["x_cm"].diff(), xy["y_cm"].diff()) / dt

tracking = Output(
    pd.DataFrame(
        {
            "time_s": raw["time_s"],
            "x_cm": xy["x_cm"],
            "y_cm": xy["y_cm"],
            "speed_cm_s": speed,
            "moving": speed > threshold,
        }
    ),
    name="tracking",
)

valid = tracking["speed_cm_s"].notna()
fraction_moving = Output(float(tracking.loc[valid, "moving"].mean()), name="fraction_moving")
margin = ARENA_CM * (1 - centre_fraction) / 2
in_centre = tracking["x_cm"].between(margin, ARENA_CM - margin) & tracking["y_cm"].between(
    margin, ARENA_CM - margin
)
time_in_centre_s = Output(float(in_centre.sum() * dt), name="time_in_centre_s")
distance_cm = Output(float(tracking.loc[tracking["moving"], "speed_cm_s"].sum() * dt), name="distance_cm")

print(
    f"seed={seed} smooth_window={smooth_window} threshold={threshold}: moving {fraction_moving:.1%}, "
    f"{time_in_centre_s:.0f} s in the centre, {distance_cm / 100:.1f} m travelled"
)
