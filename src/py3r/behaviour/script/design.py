"""Sampled designs: random, Latin hypercube, Sobol' (Saltelli) and Morris plans, sampled by SALib.

:func:`plan_design` turns ranges ``(low, high)``, lists of choices, or the limits a script declares
(``Param(low=, high=, choices=)``) into a :class:`~py3r.behaviour.script.plan.Plan` whose points are
the distinct rows of a SALib sample. Each number of the sample becomes a value of its parameter: a
float as it is, an int onto its step grid, a choice by the equal share of the range it falls in.
Rows that become the same values run once. The :class:`Design` on the plan keeps the sample itself
and the point each row runs as, so that the analysis can hand SALib the whole matrix later, after
``save``/``load`` or from a run store. SALib and numpy are imported only when a design is made.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ._types import ParamValue
from .plan import (
    Design,
    Factor,
    Plan,
    Point,
    check_outputs,
    checked_values,
    refuse_required_missing,
    salib_problem,
)
from .values import check_value, describe, distinct, is_number, nfc, unknown_names, value_key

if TYPE_CHECKING:
    from .spec import ParamSpec, ScriptSpec

__all__ = ["SAMPLED_MODES", "plan_design"]

#: The modes :func:`plan_design` makes.
SAMPLED_MODES = ("random", "lhs", "sobol", "morris")
#: Morris' grid levels unless ``levels=`` says otherwise (SALib's default).
MORRIS_LEVELS = 4
_INSTALL = "pip install 'py3r-behaviour-script[gsa]'"


# Factors -----------------------------------------------------------------------------------------
def _where(spec: ScriptSpec, p: ParamSpec) -> str:
    return f"Parameter {p.name!r} of {spec.where(p.line)}"


def _has_range(p: ParamSpec) -> bool:
    """``True`` when ``p`` declares a finite ``low`` and ``high``."""
    return p.low is not None and p.high is not None and math.isfinite(p.low) and math.isfinite(p.high)


def _declared(spec: ScriptSpec, p: ParamSpec) -> Factor:
    """The factor of the range or choices ``p`` declares at its ``Param`` call."""
    if p.choices is not None:
        return _choices(spec, p, p.choices)
    if p.type == "bool":
        return _choices(spec, p, (False, True))
    if _has_range(p):
        return _range(spec, p, (p.low, p.high))
    raise ValueError(
        f"{_where(spec, p)} declares no range to sample. Give one: params={{{p.name!r}: (low, high)}} "
        "(a tuple) or a list of choices, or declare low= and high= (or choices=) at its Param call."
    )


def _range(spec: ScriptSpec, p: ParamSpec, raw: tuple[Any, ...]) -> Factor:
    """The factor of the range ``(low, high)`` given for ``p``."""
    if p.type in ("bool", "str"):
        raise TypeError(
            f"{_where(spec, p)} is a {p.type}; a range (low, high) is for numbers. Give its choices as "
            f"a list, e.g. params={{{p.name!r}: [...]}}."
        )
    low, high = (check_value(spec, p, v) for v in raw)
    assert isinstance(low, (int, float)) and isinstance(high, (int, float))  # numbers of a numeric type
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(
            f"{_where(spec, p)} needs a finite range with low < high to sample; got {raw!r}. "
            f"Write params={{{p.name!r}: (low, high)}}."
        )
    if p.type != "int":
        return Factor(p.name, "float", float(low), float(high))
    step = int(p.step) if p.step is not None else 1
    anchor = int(p.low) if p.low is not None and math.isfinite(p.low) else int(low)
    first = anchor + math.ceil((int(low) - anchor) / step) * step
    levels = tuple(range(first, int(high) + 1, step))
    if len(levels) < 2:
        raise ValueError(
            f"{_where(spec, p)} takes the values of its step grid (step={step} from {anchor}), and the "
            f"range {raw!r} holds {len(levels)} of them: give a wider range, at least two steps wide."
        )
    return Factor(p.name, "int", levels[0] - step / 2, levels[-1] + step / 2, levels)


def _choices(spec: ScriptSpec, p: ParamSpec, raw: Iterable[Any]) -> Factor:
    """The factor of a list of choices for ``p``: each value checked, duplicates dropped."""
    unique = distinct(check_value(spec, p, v) for v in raw)
    if len(unique) < 2:
        raise ValueError(
            f"{_where(spec, p)} needs at least two choices to vary; got {unique!r}. "
            f"To hold it at one value, give it in nominal={{{p.name!r}: ...}} instead."
        )
    return Factor(p.name, "choice", 0.0, float(len(unique)), tuple(unique))


def _factors(spec: ScriptSpec, params: Any) -> list[Factor]:
    if params is None:
        named = [p for p in spec.params.values() if p.choices is not None or _has_range(p)]
        if not named:
            raise ValueError(
                f"Script {spec.display_path} declares no parameter with a range or choices, so there "
                "is nothing to sample by default. Give the ranges, e.g. params={'x': (0.0, 1.0)}."
            )
        return [_declared(spec, p) for p in named]
    if isinstance(params, (str, bytes)) or not isinstance(params, (Mapping, Iterable)):
        raise TypeError(
            "params of a sampled design is a dict of ranges (low, high) or lists of choices, or a list "
            f"of parameter names whose declared ranges are used; got {describe(params)}."
        )
    if not isinstance(params, Mapping):
        params = dict.fromkeys(params)
    params = {nfc(n): v for n, v in params.items()}  # names compared in Unicode NFC
    if not params:
        raise ValueError("params is empty: name at least one parameter to vary.")
    unknown_names(spec, params, "Parameter")
    factors = []
    for name, raw in params.items():
        p = spec.params[name]
        if raw is None:
            factors.append(_declared(spec, p))
        elif isinstance(raw, tuple) and len(raw) == 2 and all(map(is_number, raw)):
            factors.append(_range(spec, p, raw))
        elif isinstance(raw, (str, bytes, Mapping)) or not isinstance(raw, Iterable):
            raise TypeError(
                f"Give parameter {name!r} a range (low, high), as a tuple of two numbers, or a list of "
                f"choices; got {describe(raw)}. To hold it at one value, use nominal={{{name!r}: ...}}."
            )
        else:
            factors.append(_choices(spec, p, raw))
    return factors


# Options and the sample ----------------------------------------------------------------------------
def _check_options(mode: str, n: Any, seed: Any, second_order: Any, levels: Any, dims: int) -> int:
    """Check the options of ``mode``; return Morris' number of levels (0 for other modes)."""
    if n is None:
        raise ValueError(
            f"mode={mode!r} needs n=, the size of the design: points (random, lhs), base samples "
            "(sobol: a power of 2, e.g. n=1024) or trajectories (morris, e.g. n=20)."
        )
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int (points, base samples or trajectories); got {n!r}.")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(f"seed must be a non-negative int (or None for a new design); got {seed!r}.")
    if second_order and mode != "sobol":
        raise ValueError(f"second_order=True is an option of mode='sobol'; got mode={mode!r}.")
    if second_order and dims < 2:
        raise ValueError("second_order=True needs at least two parameters to pair; one is varied.")
    if mode == "sobol" and n & (n - 1):
        lower = 1 << (n.bit_length() - 1)
        raise ValueError(
            f"mode='sobol' needs n to be a power of 2 (the balance of the Sobol' sequence needs it); "
            f"got {n}. Use n={lower} or n={lower * 2}."
        )
    if mode == "morris" and n < 2:
        raise ValueError(f"mode='morris' needs n >= 2 trajectories (sigma is a spread); got {n}.")
    if levels is not None and mode != "morris":
        raise ValueError(f"levels= is an option of mode='morris' (its grid); got mode={mode!r}.")
    if mode != "morris":
        return 0
    levels = MORRIS_LEVELS if levels is None else levels
    if isinstance(levels, bool) or not isinstance(levels, int) or levels < 2 or levels % 2:
        raise ValueError(f"levels must be an even int >= 2 (Morris' grid; 4 is usual); got {levels!r}.")
    return levels


def _sample(mode: str, problem: dict[str, Any], n: int, seed: int, second_order: bool, levels: int) -> Any:
    """SALib's sample of ``mode`` for ``problem``: an array of shape (rows, parameters)."""
    try:
        import numpy as np
        from SALib.sample import latin, morris, sobol
        from SALib.util import scale_samples
    except ImportError as exc:
        raise ImportError(f"mode={mode!r} needs SALib ({exc}); install it with: {_INSTALL}.") from None
    if mode == "sobol":
        return sobol.sample(problem, n, calc_second_order=second_order, seed=seed)
    if mode == "morris":
        return morris.sample(problem, n, num_levels=levels, seed=seed)
    if mode == "lhs":
        return latin.sample(problem, n, seed=seed)
    return scale_samples(np.random.default_rng(seed).random((n, problem["num_vars"])), problem)


def plan_design(
    spec: ScriptSpec,
    params: Mapping[str, Any] | Iterable[str] | None = None,
    *,
    mode: str,
    n: int,
    seed: int | None = None,
    second_order: bool = False,
    levels: int | None = None,
    nominal: Mapping[str, Any] | None = None,
    outputs: Iterable[str] | str | None = None,
    stop_after_outputs: bool = False,
) -> Plan:
    """The plan of a sampled design: SALib's sample, each distinct row one checked point.

    What :func:`~py3r.behaviour.script.sensitivity` builds for ``mode="random" | "lhs" | "sobol" |
    "morris"``; front ends build it here and run it with
    :func:`~py3r.behaviour.script.execute_plan`. A sampled design adds no nominal point.

    Parameters
    ----------
    spec : ScriptSpec
        The script (:func:`~py3r.behaviour.script.read_script`).
    params : dict, list of str or None
        Each parameter to vary: a tuple ``(low, high)`` (a range: floats sampled uniformly, ints
        onto their step grid), a list of choices (each equally likely), or None for the range or
        choices its ``Param`` declares (a bool's are False and True). A list of names uses the
        declared ranges; None varies every parameter that declares a range or choices.
    mode : {"random", "lhs", "sobol", "morris"}
        Uniform random points, a Latin hypercube, Saltelli's Sobol' design, Morris trajectories.
    n : int
        Points (random, LHS), base samples (Sobol', a power of 2: ``n * (D + 2)`` rows, or
        ``n * (2D + 2)`` with ``second_order``) or trajectories (Morris: ``n * (D + 1)`` rows).
    seed : int, optional
        Makes the design reproducible (the same seed, the same points, served again from a run
        store). Drawn at random when omitted, and kept in :attr:`Design.seed`.
    second_order : bool, default False
        Sobol' only: also estimate second-order indices.
    levels : int, optional
        Morris only: the number of grid levels (even; default 4).
    nominal, outputs, stop_after_outputs
        As for :func:`~py3r.behaviour.script.sensitivity`: ``nominal`` fixes parameters not varied.

    Returns
    -------
    Plan
        Its points keyed by the varied parameters, each with the design ``rows`` it runs; its
        ``design`` keeps the sample.

    Raises
    ------
    TypeError, ValueError
        For a range or choice the parameter does not allow, a parameter with no range to sample,
        an unknown name, a bad option, or a required parameter with no value.
    ImportError
        If SALib is not installed (the ``gsa`` extra).

    Examples
    --------
    >>> from py3r.behaviour.script import plan_design, read_script
    >>> spec = read_script("examples/open_field/pipeline.py")
    >>> plan = plan_design(spec, {"threshold": (0.5, 8.0), "smoothing": None}, mode="lhs", n=4, seed=1)
    >>> len(plan.points), plan.param_names, plan.design.seed
    (4, ['threshold', 'smoothing'], 1)
    >>> plan = plan_design(spec, ["smooth_window", "smoothing"], mode="sobol", n=8, seed=1)
    >>> len(plan.design.sample), len(plan.points) <= 32  # 8 * (2 + 2) rows; repeated rows run once
    (32, True)
    """
    if mode not in SAMPLED_MODES:
        modes = ", ".join(map(repr, SAMPLED_MODES))
        raise ValueError(f"mode of a sampled design must be one of {modes}; got {mode!r}.")
    factors = _factors(spec, params)
    names = [f.name for f in factors]
    morris_levels = _check_options(mode, n, seed, second_order, levels, len(factors))
    fixed = checked_values(spec, nominal, "Nominal parameter", varied=names)
    refuse_required_missing(spec, {**dict.fromkeys(names), **fixed}, not_done="varied", do="vary")
    capture, explicit = check_outputs(spec, outputs)
    seed = secrets.randbelow(2**32) if seed is None else seed
    problem = salib_problem(factors)
    sample = _sample(mode, problem, n, seed, second_order, morris_levels).tolist()

    found: dict[Any, int] = {}
    keys: list[dict[str, ParamValue]] = []
    rows: list[list[int]] = []
    point_of_row = []
    for r, row in enumerate(sample):
        key = {f.name: f.value(x) for f, x in zip(factors, row)}
        at = found.setdefault(value_key(key), len(keys))
        if at == len(keys):
            keys.append(key)
            rows.append([])
        rows[at].append(r)
        point_of_row.append(at)
    points = [Point(i, key, {**fixed, **key}, tuple(rows[i])) for i, key in enumerate(keys)]
    design = Design(
        mode,
        tuple(factors),
        n,
        seed,
        second_order=bool(second_order),
        levels=morris_levels or None,
        sample=tuple(tuple(row) for row in sample),
        points=tuple(point_of_row),
    )
    return Plan(spec, names, points, capture, explicit, stop_after_outputs, mode=mode, design=design)
