"""``ScriptResults``: what ``run`` and ``sensitivity`` return.

Iterations are kept in plan order and indexed by their parameter values (:mod:`.values` keys).
Failures are data (:class:`~py3r.behaviour.script.iteration.Failure`); the string in
:attr:`ScriptResults.errors` is derived from them. pandas is imported only by
:meth:`ScriptResults.to_dataframe`.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from .analysis import Analysis
from .display import Display
from .iteration import Failure, Iteration, Outputs
from .plan import Design
from .spill import Keeper, SpilledOutput, resolve_max_memory
from .values import check_value, is_scalar, value_key

if TYPE_CHECKING:
    import pandas as pd

    from .plan import Plan
    from .spec import ScriptSpec

__all__ = ["Failure", "Iteration", "Outputs", "ScriptResults"]


class ScriptResults(Analysis, Display):
    """Container for results returned by :func:`run` and :func:`sensitivity`.

    Keyed by parameter combination; holds captured ``Output`` values per iteration, in plan
    order. Access individual outputs by passing a parameter dict; flatten scalar outputs across
    iterations with :meth:`to_dataframe`.

    Parameters
    ----------
    param_names : list of str
        Names of the parameters iterations are keyed by (the swept ones).
    output_names : list of str
        Names of the captured outputs, in source order.
    script, mode, nominal : optional
        What the results are of (see Attributes); :meth:`for_plan` fills them from a plan.
    spec : ScriptSpec, optional
        The script's spec: lookups then take values as inputs do (``2`` finds ``2.0`` for a float
        parameter).
    max_memory : int, None or "auto", default "auto"
        Bytes of large outputs to hold in memory; beyond them, large outputs are kept on disk and
        loaded when looked up (see :func:`run`). ``"auto"``: ``PY3R_SCRIPT_MAX_MEMORY``, else 1 GiB.

    Attributes
    ----------
    errors : list of (dict, str)
        Failed iterations as ``(param_dict, error_message)`` pairs.
    iterations : list of Iteration
        Every iteration in plan order, with status, outputs, logs and wall time.
    failures : list of Iteration
        The iterations that failed or were cancelled.
    interrupted : bool
        True when the call was interrupted (Ctrl-C or Cancel) before every iteration ran.
    script : str or None
        The script's path as it was given.
    mode : str or None
        ``"run"``, ``"independent"``, ``"grid"`` or a sampled design's mode (``"sobol"``, ...).
    nominal : dict or None
        Nominal values of the swept parameters (independent sweeps).
    design : Design or None
        A sampled design's factors and sample, which :meth:`indices` analyses (saved too).

    Examples
    --------
    >>> from py3r.behaviour.script import sensitivity
    >>> sr = sensitivity("examples/open_field/pipeline.py", {"threshold": [1.0, 4.0]}, progress=False)
    >>> sr[{"threshold": 4.0}]["fraction_moving"] < sr[{"threshold": 1.0}]["fraction_moving"]
    True
    >>> list(sr.to_dataframe(outputs=sr.scalar_outputs()).columns[:2])
    ['threshold', 'fraction_moving']
    """

    def __init__(
        self,
        param_names: list[str],
        output_names: list[str],
        *,
        script: str | None = None,
        mode: str | None = None,
        nominal: dict[str, Any] | None = None,
        spec: ScriptSpec | None = None,
        max_memory: int | str | None = "auto",
    ) -> None:
        self.param_names: list[str] = list(param_names)
        self.output_names: list[str] = list(output_names)
        self.script = script
        self.mode = mode
        self.nominal = nominal
        self.interrupted: bool = False
        self.design: Design | None = None
        self._spec = spec
        self._iterations: list[Iteration] = []
        self._by_key: dict[Any, Iteration] = {}
        self._keeper = Keeper(resolve_max_memory(max_memory), label=script)
        #: The analyses Analysis.indices computed, until add() changes what they were computed from.
        self._analyses: dict[Any, pd.DataFrame] = {}

    # Building ------------------------------------------------------------------------------
    @classmethod
    def for_plan(cls, plan: Plan, *, max_memory: int | str | None = "auto") -> ScriptResults:
        """Empty results for ``plan``'s iterations, which :meth:`add` fills as they finish."""
        results = cls(
            plan.param_names,
            list(plan.capture),
            script=plan.spec.display_path,
            mode=plan.mode,
            nominal=dict(plan.nominal) if plan.nominal else None,
            spec=plan.spec,
            max_memory=max_memory,
        )
        results.design = plan.design
        return results

    def add(self, iteration: Iteration) -> None:
        """Add one iteration's record; iterations are kept in plan order (by ``index``), whatever
        order they finish in. Its large outputs are kept on disk once the outputs in memory reach
        :attr:`max_memory`."""
        self._keeper.keep(iteration.outputs)
        bisect.insort(self._iterations, iteration, key=lambda it: it.index)  # after equal indices
        self._by_key[value_key(iteration.params)] = iteration
        self._analyses.clear()

    def ran(self) -> ScriptResults:
        """These results without the iterations a cancelled call never ran to the end.

        The same records (nothing is copied or loaded): what a table or plot of the points that
        ran is made from. :attr:`interrupted` stays as it is.

        Examples
        --------
        >>> from py3r.behaviour.script import Failure, Iteration, ScriptResults
        >>> sr = ScriptResults(["x"], ["y"])
        >>> sr.add(Iteration(0, {"x": 1}, outputs={"y": 2}))
        >>> sr.add(Iteration(1, {"x": 2}, status="cancelled", failure=Failure("cancelled", "Stopped.")))
        >>> len(sr), len(sr.ran())
        (2, 1)
        """
        view = type(self)(
            self.param_names,
            self.output_names,
            script=self.script,
            mode=self.mode,
            nominal=self.nominal,
            spec=self._spec,
            max_memory=None,  # no budget read: the view shares this object's keeper
        )
        view._keeper = self._keeper  # the records stay where they are kept
        view.design, view.interrupted = self.design, self.interrupted
        for it in self._iterations:
            if it.status != "cancelled":
                view._iterations.append(it)
                view._by_key[value_key(it.params)] = it
        return view

    # Access --------------------------------------------------------------------------------
    @property
    def iterations(self) -> list[Iteration]:
        """Every iteration, in plan order (not completion order)."""
        return list(self._iterations)

    def __len__(self) -> int:
        return len(self._iterations)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Iterate over the parameter dicts, in plan order."""
        return (dict(it.params) for it in self._iterations)

    def keys(self) -> list[dict[str, Any]]:
        """The parameter dicts of all iterations, in plan order."""
        return list(self)

    def __contains__(self, params: object) -> bool:
        if not isinstance(params, Mapping):
            return False
        try:
            self._find(params)
        except KeyError:
            return False
        return True

    def _normalised(self, query: dict[str, Any]) -> dict[str, Any]:
        spec = self._spec
        if spec is None:
            return query
        return {n: check_value(spec, spec.params[n], v) if n in spec.params else v for n, v in query.items()}

    def _find(self, params: Mapping[str, Any]) -> Iteration:
        try:
            query = self._normalised(dict(params))
        except (TypeError, ValueError) as exc:
            raise KeyError(f"No result for parameters {dict(params)}: {exc}") from None
        hit = self._by_key.get(value_key(query))
        if hit is not None:
            return hit
        unknown = set(query) - set(self.param_names)
        if unknown:
            raise KeyError(
                f"No result for parameters {query}: {sorted(unknown)} are not among the parameters "
                f"these results are keyed by: {self.param_names}."
            )
        # A partial dict selects the one iteration it matches.
        wanted = value_key(query)
        matches = [it for it in self._iterations if set(wanted) <= set(value_key(it.params))]
        if len(matches) == 1:
            return matches[0]
        shown = ", ".join(str(it.params) for it in self._iterations[:6])
        more = "" if len(self._iterations) <= 6 else f" and {len(self._iterations) - 6} more"
        if len(matches) > 1:
            raise KeyError(
                f"No result for parameters {query} alone: they match {len(matches)} iterations; give "
                f"every swept parameter ({', '.join(self.param_names)}). Iterations: {shown}{more}."
            )
        raise KeyError(
            f"No result for parameters {query}: no iteration has these values. "
            f"Iterations: {shown or 'none'}{more}."
        )

    def __getitem__(self, params: Mapping[str, Any]) -> Outputs:
        """The outputs of the iteration with these parameter values.

        ``sr[{"window": 5}]["summary"]``. A failed iteration's outputs say why they are missing.
        """
        if not isinstance(params, Mapping):
            raise TypeError(
                f"Index results with a dict of parameter values, e.g. sr[{{'{(self.param_names or ['x'])[0]}'"
                f": ...}}]; got {params!r}."
            )
        return Outputs(self._find(params))

    def iteration(self, params: Mapping[str, Any]) -> Iteration:
        """The full record (status, logs, wall time) of the iteration with these parameters."""
        return self._find(params)

    @property
    def errors(self) -> list[tuple[dict[str, Any], str]]:
        """Failed iterations as a list of ``(param_dict, error_message)`` pairs.

        As in the reference, every iteration without outputs is here, cancelled ones too (their
        message says they were cancelled); the counts of the reprs, plots and front ends keep
        those apart: they never ran, so they are no failures. ``it.status == "failed"`` picks
        the failures proper from :attr:`failures`.
        """
        return [(dict(it.params), str(it.failure)) for it in self._iterations if it.failure is not None]

    @property
    def failures(self) -> list[Iteration]:
        """The iterations that failed or were cancelled, with their :class:`Failure`.

        Cancelled ones stay here (as in :attr:`errors`) with kind ``"cancelled"``; their status
        ``"cancelled"`` tells them from the iterations that ran and failed (``"failed"``).
        """
        return [it for it in self._iterations if it.failure is not None]

    @property
    def max_memory(self) -> int | None:
        """Bytes of large outputs these results hold in memory at most (None: no limit)."""
        return self._keeper.max_memory

    def memory_usage(self) -> dict[str, int]:
        """The pickled size of the outputs held in memory, and of those kept on disk, in bytes.

        Examples
        --------
        >>> from py3r.behaviour.script import run
        >>> sr = run("examples/open_field/pipeline.py", {"threshold": 3.0}, max_memory=0)
        >>> usage = sr.memory_usage()
        >>> usage["disk"] > 0 and set(usage) == {"memory", "disk"}
        True
        """
        return {"memory": self._keeper.held, "disk": self._keeper.on_disk}

    # Tables --------------------------------------------------------------------------------
    def scalar_outputs(self) -> list[str]:
        """Outputs that can be table columns: no captured value of theirs is anything but a scalar.

        In source order. An output no iteration captured counts (its column is empty). Ask
        :meth:`to_dataframe` for these when some outputs are DataFrames or arrays:
        ``sr.to_dataframe(outputs=sr.scalar_outputs())``.
        """
        return [name for name in self.output_names if not self._non_scalar(name, self._iterations)]

    @staticmethod
    def _non_scalar(name: str, iterations: list[Iteration]) -> str | None:
        """The type name of the first non-scalar value of output ``name`` in ``iterations``, if any."""
        for it in iterations:
            value = it.outputs.get(name)
            if isinstance(value, SpilledOutput):
                return value.type_name
            if name in it.outputs and not is_scalar(value):
                return type(value).__name__
        return None

    def to_dataframe(self, outputs: list[str] | None = None, *, include_failed: bool = False) -> pd.DataFrame:
        """Flatten scalar outputs into a DataFrame (one row per iteration).

        Each row contains the parameter values for that iteration plus one column per captured
        scalar output. Raises ``TypeError`` if any output is not a scalar: access those directly
        via indexing instead, or name the scalar columns you want with ``outputs=``.

        Parameters
        ----------
        outputs : list of str, optional
            The output columns, in this order. By default every output is a column, and a
            ``TypeError`` says which are not scalars; ``outputs=sr.scalar_outputs()`` picks every
            output that can be a column. numpy scalars count as scalars.
        include_failed : bool, default False
            Also give failed and cancelled iterations a row, with ``status`` and ``error`` columns.

        Returns
        -------
        pandas.DataFrame
            One row per completed iteration, in plan order; columns are parameter names followed
            by output names.

        Raises
        ------
        TypeError
            If an output (every output, or each one named) is not a scalar in every row.
        KeyError
            If a named output is not among these results' outputs.

        Examples
        --------
        >>> from py3r.behaviour.script import sensitivity
        >>> sr = sensitivity("examples/open_field/pipeline.py", {"threshold": [1.0, 4.0]}, progress=False)
        >>> sr.to_dataframe(outputs=["fraction_moving"]).columns.tolist()
        ['threshold', 'fraction_moving']
        >>> sr.to_dataframe()
        Traceback (most recent call last):
        ...
        TypeError: Output 'tracking' (a DataFrame) is not scalar, so it cannot be a table column. ...
        """
        import pandas as pd

        shown = [it for it in self._iterations if it.ok or include_failed]
        if outputs is None:
            names = list(self.output_names)
        else:
            names = [outputs] if isinstance(outputs, str) else list(outputs)
            for name in names:
                if name not in self.output_names:
                    raise KeyError(f"{name!r} is not an output here; outputs: {self.output_names}.")
        bad = {name: kind for name in names if (kind := self._non_scalar(name, shown))}
        if bad:
            raise TypeError(self._not_scalar_message(bad))
        rows = []
        for it in shown:
            row: dict[str, Any] = dict(it.params)
            for name in names:
                row[name] = it.outputs.get(name)
            if include_failed:
                row["status"] = it.status
                row["error"] = it.failure.message if it.failure else None
            rows.append(row)
        columns = [*self.param_names, *names] + (["status", "error"] if include_failed else [])
        return pd.DataFrame(rows, columns=columns)

    # Saving ----------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write these results to ``path``; read them back with :meth:`load`.

        The file holds everything (outputs, logs, failures, timing), written under a temporary name
        and renamed, so ``path`` never holds a half-written file. Outputs kept on disk are copied
        into it from where they are, without loading them; large outputs in memory are pickled
        straight into it. Loading it unpickles it, which can run code: load only files you wrote
        yourself, and share results as CSV or Parquet (``to_dataframe()``) instead. cloudpickle is
        not a format that crosses Python or library versions.

        Parameters
        ----------
        path : str or Path
            The file to write (replaced if it exists).

        Examples
        --------
        >>> import os, tempfile
        >>> from py3r.behaviour.script import run
        >>> sr = run("examples/open_field/pipeline.py", {"threshold": 3.0})
        >>> sr.save(os.path.join(tempfile.mkdtemp(), "sr.pkl"))
        """
        from .saved import save_results

        state = {
            "param_names": self.param_names,
            "output_names": self.output_names,
            "script": self.script,
            "mode": self.mode,
            "nominal": self.nominal,
            "interrupted": self.interrupted,
            "spec": self._spec,  # so sr[{"threshold": 3}] still finds 3.0 after load
            "design": None if self.design is None else self.design.to_record(),
        }
        save_results(self._iterations, path, state)

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, max_memory: int | str | None = "auto") -> ScriptResults:
        """Read results written by :meth:`save` (only from files you trust: this unpickles).

        Large outputs are loaded as ``max_memory`` allows; the others stay in the file, which is
        kept open for them, until they are looked up.

        Parameters
        ----------
        path : str or Path
            A file written by :meth:`save`.
        max_memory : int, None or "auto", default "auto"
            As for :func:`run`: bytes of large outputs to hold in memory.

        Raises
        ------
        ValueError
            If the file is not (or not a whole) file written by :meth:`save`.

        Examples
        --------
        >>> import os, tempfile
        >>> from py3r.behaviour.script import ScriptResults, run
        >>> sr = run("examples/open_field/pipeline.py", {"threshold": 3.0})
        >>> path = os.path.join(tempfile.mkdtemp(), "sr.pkl")
        >>> sr.save(path)
        >>> back = ScriptResults.load(path)
        >>> back[{"threshold": 3.0}]["distance_cm"] == sr[{"threshold": 3.0}]["distance_cm"]
        True
        """
        from .saved import load_results

        state, iterations = load_results(path)
        results = cls(
            state["param_names"],
            state["output_names"],
            script=state["script"],
            mode=state["mode"],
            nominal=state["nominal"],
            spec=state["spec"],
            max_memory=max_memory,
        )
        results.interrupted = state["interrupted"]
        results.design = Design.from_record(state["design"]) if state.get("design") else None
        for it in iterations:
            results.add(it)
        return results

    # Analysis and plots ----------------------------------------------------------------------
    def plot(self, outputs: list[str] | None = None, *, kind: str = "auto", **kwargs: Any) -> Any:
        """Plot scalar outputs against the swept parameters, or what a sampled design says (matplotlib).

        See :func:`py3r.behaviour.script.plotting.plot_results` for the options.
        """
        from .plotting import plot_results

        return plot_results(self, outputs, kind=kind, **kwargs)
