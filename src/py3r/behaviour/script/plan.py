"""Plans: the iterations a ``run`` or a sweep will execute, checked before anything starts.

Every value is checked against the parameter's declared type here, once, so that a bad value is
reported before any process starts. ``run`` is a plan of one point; ``sensitivity`` builds its
points in independent or grid mode, or as the distinct rows of a sampled design, which the plan
then carries as its :class:`Design` (made by :mod:`.design`). The key of a point (what results
are indexed by) is the dict of swept parameters; the values injected into the child also include
the nominal values of the others.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from ._types import ParamValue
from .spec import ParamSpec, ScriptSpec
from .values import check_value, describe, did_you_mean, distinct, key_of, nfc, unknown_names, value_key

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Design", "Factor", "Plan", "Point", "plan_run", "plan_sweep"]

Mode = Literal["independent", "grid"]


@dataclass(frozen=True)
class Point:
    """One iteration: where it sits in the plan, its key, and everything injected into the script.

    Attributes
    ----------
    index : int
        Its position in the plan.
    key : dict
        The values results are indexed by (the swept parameters).
    values : dict
        Every value injected into the script (the key plus fixed nominal values).
    rows : tuple of int
        In a sampled design, the rows of the design this point runs (identical rows run once).
    """

    index: int
    key: dict[str, ParamValue]
    values: dict[str, ParamValue]
    rows: tuple[int, ...] = ()


@dataclass(frozen=True)
class Factor:
    """One parameter a design varies, and how a number of the sample becomes its value.

    Attributes
    ----------
    name : str
        The parameter.
    kind : {"float", "int", "choice"}
        A float takes the number itself; an int and a choice take one of ``levels``, each level
        owning an equal share of ``[low, high]``.
    low, high : float
        The range SALib samples.
    levels : tuple
        The ints of the parameter's step grid, or its choices; empty for a float.
    """

    name: str
    kind: Literal["float", "int", "choice"]
    low: float
    high: float
    levels: tuple[ParamValue, ...] = ()

    def value(self, x: float) -> ParamValue:
        """The value the sample's number ``x`` stands for."""
        if self.kind == "float":
            return min(max(float(x), self.low), self.high)
        width = (self.high - self.low) / len(self.levels)
        return self.levels[min(max(math.floor((x - self.low) / width), 0), len(self.levels) - 1)]


def salib_problem(factors: Sequence[Factor]) -> dict[str, Any]:
    """SALib's problem definition of ``factors``: ``num_vars``, ``names`` and ``bounds``, in order."""
    return {
        "num_vars": len(factors),
        "names": [f.name for f in factors],
        "bounds": [[f.low, f.high] for f in factors],
    }


@dataclass(frozen=True, eq=False)
class Design:
    """A sampled design: the factors, SALib's sample, and which plan point runs each row.

    Plain data: it travels with the plan into the results (:attr:`ScriptResults.design`) and is
    saved with them, so that :meth:`ScriptResults.indices` can analyse the sweep later.

    Attributes
    ----------
    mode : str
        ``"random"``, ``"lhs"``, ``"sobol"`` or ``"morris"``.
    factors : tuple of Factor
        The parameters varied, in order.
    n : int
        Points (random, LHS), base samples (Sobol') or trajectories (Morris).
    seed : int
        The seed of the sample (drawn at random when none was given) and of the bootstrap of
        confidence intervals.
    second_order : bool
        A Sobol' design with second-order indices (``n * (2D + 2)`` rows instead of ``n * (D + 2)``).
    levels : int or None
        The number of grid levels of a Morris design.
    sample : tuple of tuple of float
        SALib's sample, one row per design row, in the factors' order.
    points : tuple of int
        The index of the plan point that runs each row.
    """

    mode: str
    factors: tuple[Factor, ...]
    n: int
    seed: int
    second_order: bool = False
    levels: int | None = None
    sample: tuple[tuple[float, ...], ...] = ()
    points: tuple[int, ...] = ()

    @property
    def names(self) -> list[str]:
        """The names of the parameters varied, in order."""
        return [f.name for f in self.factors]

    def problem(self) -> dict[str, Any]:
        """The design as SALib's problem definition (``num_vars``, ``names``, ``bounds``)."""
        return salib_problem(self.factors)

    def matrix(self) -> np.ndarray:
        """SALib's sample as a float array, one row per design row."""
        import numpy as np

        return np.array(self.sample, dtype=float).reshape(len(self.sample), len(self.factors))

    def to_record(self) -> dict[str, Any]:
        """This design as plain data (what ``ScriptResults.save`` writes); :meth:`from_record` reads it."""
        return asdict(self)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Design:
        """The design a :meth:`to_record` record describes."""
        fields = dict(record)
        fields["factors"] = tuple(Factor(**{**f, "levels": tuple(f["levels"])}) for f in fields["factors"])
        fields["sample"] = tuple(tuple(row) for row in fields["sample"])
        fields["points"] = tuple(fields["points"])
        return cls(**fields)


@dataclass(frozen=True)
class Plan:
    """The checked iterations of one call: what :func:`~py3r.behaviour.script.execute_plan` runs.

    Build one with :func:`plan_run`, :func:`plan_sweep` or :func:`plan_design`; every value in it
    has been checked.
    """

    spec: ScriptSpec
    #: The names results are keyed by (the swept parameters; for ``run``, the ones passed).
    param_names: list[str]
    points: list[Point]
    #: Output names to capture, in source order.
    capture: tuple[str, ...]
    #: Whether ``outputs=`` named them: then a missing one fails the iteration.
    explicit_outputs: bool
    stop_after_outputs: bool
    mode: str = "run"
    #: Nominal value of each swept parameter (independent mode; the default unless overridden).
    nominal: dict[str, ParamValue] | None = None
    #: The sampled design the points come from (:func:`plan_design`), or None.
    design: Design | None = None


def check_outputs(spec: ScriptSpec, outputs: Iterable[str] | str | None) -> tuple[tuple[str, ...], bool]:
    if outputs is None:
        return tuple(spec.outputs), False
    if isinstance(outputs, str):
        outputs = [outputs]
    wanted = list(dict.fromkeys(nfc(n) for n in outputs))
    if not wanted:
        raise ValueError("outputs= is an empty list. Name at least one output, or leave it out for all.")
    for name in wanted:
        if name not in spec.outputs:
            raise ValueError(
                f"Output {name!r} not found in script {spec.display_path}.{did_you_mean(name, spec.outputs)} "
                f"Its outputs are: {', '.join(spec.outputs) or 'none'}."
            )
    # Source order, so that "the last requested output" is well defined.
    return tuple(n for n in spec.outputs if n in wanted), True


def required_missing(spec: ScriptSpec, have: Mapping[str, Any]) -> list[ParamSpec]:
    return [p for p in spec.params.values() if p.required and p.name not in have]


def refuse_required_missing(spec: ScriptSpec, have: Mapping[str, Any], *, not_done: str, do: str) -> None:
    """Refuse the first required parameter not in ``have``, neither ``not_done`` (``"being swept"``,
    ``"varied"``) nor given in nominal; the message says to ``do`` (``"sweep"``, ``"vary"``) it."""
    for p in required_missing(spec, have):
        raise ValueError(
            f"Required parameter {p.name!r} of {spec.where(p.line)} is not {not_done} and has no value "
            f"in nominal (it has no default). Give it one: nominal={{{p.name!r}: ...}}, or {do} it."
        )


def checked_values(
    spec: ScriptSpec, values: Mapping[str, Any] | None, what: str, *, varied: Iterable[str] = ()
) -> dict[str, ParamValue]:
    """``values`` with their names in Unicode normal form C, unknown names refused, each value checked.

    Parameters
    ----------
    spec : ScriptSpec
        The script.
    values : dict or None
        Values by parameter name (None for none).
    what : str
        How messages name them: ``"Parameter"``, ``"Nominal parameter"``.
    varied : iterable of str, optional
        The parameters a sampled design varies: one of them given a value here is refused (before
        any value is checked), since a sampled design has no nominal point.

    Returns
    -------
    dict
        The checked values (:func:`~py3r.behaviour.script.values.check_value`), in the order given.

    Raises
    ------
    TypeError, ValueError
        For an unknown name, a name also in ``varied``, or a value the parameter does not take.
    """
    named = {nfc(n): v for n, v in (values or {}).items()}
    unknown_names(spec, named, what)
    varied = set(varied)
    both = [name for name in named if name in varied]
    if both:
        raise ValueError(
            f"{both[0]!r} is both varied and given a nominal value; a sampled design has no nominal "
            "point. Vary it, or hold it at its nominal value: not both."
        )
    return {n: check_value(spec, spec.params[n], v) for n, v in named.items()}


def plan_run(
    spec: ScriptSpec,
    params: Mapping[str, Any] | None,
    *,
    outputs: Iterable[str] | str | None = None,
    stop_after_outputs: bool = False,
) -> Plan:
    """The one-point plan of :func:`~py3r.behaviour.script.run`: its values checked, nothing run.

    Parameters
    ----------
    spec : ScriptSpec
        The script (:func:`~py3r.behaviour.script.read_script`).
    params : dict, optional
        Parameter values; the others keep the script's defaults.
    outputs : list of str, optional
        The outputs to capture (then required); all by default.
    stop_after_outputs : bool, default False
        Stop the process inside the ``Output`` call that completes ``outputs``.

    Returns
    -------
    Plan
        One point, keyed by the parameters given.

    Raises
    ------
    TypeError, ValueError
        For a value of the wrong type or outside the parameter's declared limits, an unknown name
        or a missing required parameter.

    Examples
    --------
    >>> from py3r.behaviour.script import plan_run, read_script
    >>> plan = plan_run(read_script("examples/open_field/pipeline.py"), {"threshold": 3})
    >>> plan.points[0].values
    {'threshold': 3.0}
    """
    if params is not None and not isinstance(params, Mapping):
        raise TypeError(f"params must be a dict of parameter values; got {describe(params)}.")
    values = checked_values(spec, params, "Parameter")
    missing = required_missing(spec, values)
    if missing:
        listed = ", ".join(f"{p.name!r} ({spec.where(p.line)})" for p in missing)
        example = ", ".join(f"{p.name!r}: ..." for p in missing)
        raise ValueError(
            f"Required parameters not provided: {listed}. They have no default: give each a value, "
            f"run(script, {{{example}}})."
        )
    capture, explicit = check_outputs(spec, outputs)
    return Plan(spec, list(values), [Point(0, dict(values), values)], capture, explicit, stop_after_outputs)


def _sweep_values(spec: ScriptSpec, name: str, raw: Any) -> list[ParamValue]:
    if isinstance(raw, (str, bytes, Mapping)) or not isinstance(raw, Iterable):
        raise TypeError(
            f"The values to sweep for {name!r} must be a list; got {describe(raw)}. "
            f"Write {name!r}: [{raw!r}], or pass a single value with nominal={{{name!r}: {raw!r}}}."
        )
    checked = [check_value(spec, spec.params[name], v) for v in raw]
    if not checked:
        raise ValueError(f"The list of values to sweep for {name!r} is empty. Give at least one value.")
    return distinct(checked)


def _with_nominal(values: list[ParamValue], nominal: ParamValue) -> list[ParamValue]:
    """``values`` with the nominal value included: in order when the list is sorted numbers."""
    if key_of(nominal) in {key_of(v) for v in values}:
        return values
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in [*values, nominal])
    if numbers and all(a <= b for a, b in itertools.pairwise(values)):  # type: ignore[operator]
        pos = sum(v < nominal for v in values)  # type: ignore[misc,operator]
        return [*values[:pos], nominal, *values[pos:]]
    return [*values, nominal]


def plan_sweep(
    spec: ScriptSpec,
    params: Mapping[str, Any],
    *,
    nominal: Mapping[str, Any] | None = None,
    mode: str = "independent",
    outputs: Iterable[str] | str | None = None,
    stop_after_outputs: bool = False,
) -> Plan:
    """The plan of :func:`~py3r.behaviour.script.sensitivity`: checked values, nominal values, points.

    Parameters
    ----------
    spec : ScriptSpec
        The script (:func:`~py3r.behaviour.script.read_script`).
    params, nominal, mode, outputs, stop_after_outputs
        As for :func:`~py3r.behaviour.script.sensitivity`.

    Returns
    -------
    Plan
        Its points in order: each swept value (each parameter's default added), the nominal point
        of an independent sweep once.

    Raises
    ------
    TypeError, ValueError
        For a value of the wrong type or outside the parameter's declared limits (every swept and
        nominal value is checked), an unknown name, or a parameter with no value to hold.

    Examples
    --------
    >>> from py3r.behaviour.script import plan_sweep, read_script
    >>> plan = plan_sweep(read_script("examples/open_field/pipeline.py"), {"threshold": [1.0, 4.0]})
    >>> [p.key for p in plan.points], plan.nominal
    ([{'threshold': 1.0}, {'threshold': 2.0}, {'threshold': 4.0}], {'threshold': 2.0})
    """
    if mode not in ("independent", "grid"):
        raise ValueError(
            f"mode must be 'independent' or 'grid'; got {mode!r}. Sampled designs ('random', 'lhs', "
            "'sobol', 'morris') are planned by plan_design()."
        )
    if not isinstance(params, Mapping) or not params:
        raise ValueError(
            "sensitivity() needs a dict of parameters to sweep, e.g. {'threshold': [0.5, 0.8]}; "
            f"got {describe(params)}."
        )
    params = {nfc(n): v for n, v in params.items()}
    unknown_names(spec, params, "Swept parameter")
    fixed = checked_values(spec, nominal, "Nominal parameter")
    swept: dict[str, list[ParamValue]] = {}
    centre: dict[str, ParamValue] = {}
    for name, raw in params.items():
        values = _sweep_values(spec, name, raw)
        p = spec.params[name]
        if name in fixed:
            centre[name] = fixed[name]
        elif p.has_literal_default:
            centre[name] = p.default
        elif mode == "independent":
            why = "" if p.required else f" (its default is computed at run time: {p.default_source})"
            raise ValueError(
                f"Swept parameter {name!r} of {spec.where(p.line)} has no script default and no nominal "
                f"value{why}, so an independent sweep has nothing to hold it at while the others vary. "
                f"Give one: nominal={{{name!r}: {values[0]!r}}}, or use mode='grid'."
            )
        swept[name] = _with_nominal(values, centre[name]) if name in centre else values
    refuse_required_missing(spec, {**swept, **fixed}, not_done="being swept", do="sweep")
    capture, explicit = check_outputs(spec, outputs)
    base = {n: v for n, v in fixed.items() if n not in swept}

    combos: list[dict[str, ParamValue]]
    if mode == "grid":
        names = list(swept)
        combos = [dict(zip(names, vs)) for vs in itertools.product(*swept.values())]
    else:
        combos = [{**centre, name: v} for name, values in swept.items() for v in values]
    points: list[Point] = []
    seen: set[Any] = set()
    for key in combos:
        ck = value_key(key)
        if ck in seen:  # the nominal point of an independent sweep runs once
            continue
        seen.add(ck)
        points.append(Point(len(points), key, {**base, **key}))
    return Plan(
        spec,
        list(swept),
        points,
        capture,
        explicit,
        stop_after_outputs,
        mode=mode,
        nominal=centre if mode == "independent" else (centre or None),
    )
