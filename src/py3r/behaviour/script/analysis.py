"""What a sweep says: sensitivity indices of a sampled design (SALib), and specification tables.

:meth:`Analysis.indices` hands SALib the design's whole sample and one output value per row (identical rows
ran once and are reused): Sobol' indices for ``mode="sobol"``, Morris' elementary effects for
``mode="morris"``, and RBD-FAST first-order indices for ``mode="random"`` and ``"lhs"``.
RBD-FAST (Tarantola et al. 2006, bias-corrected by Tissot & Prieur 2012) orders the points by each
parameter in turn and reads the output's variance at low frequencies along that order, so it needs
no particular design: any sample of uniform points will do. :meth:`Analysis.specifications` reads any sweep
(typically a grid over choices) as a multiverse of specifications. ``ScriptResults`` has both
methods (it inherits :class:`Analysis`). pandas, numpy and SALib are imported only when these run.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .iteration import Iteration
from .plan import Design
from .values import as_python, is_number, key_of

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["MEASURES", "Analysis"]

#: The columns :func:`indices` gives after ``output`` and ``param``, by mode (without second order).
MEASURES = {
    "sobol": ["S1", "S1_conf", "ST", "ST_conf"],
    "morris": ["mu_star", "mu_star_conf", "sigma", "mu"],
    "lhs": ["S1", "S1_conf"],
    "random": ["S1", "S1_conf"],
}
#: The name of the method behind each mode's measures (``DataFrame.attrs["method"]``).
METHODS = {"sobol": "Sobol' (Saltelli)", "morris": "Morris", "lhs": "RBD-FAST", "random": "RBD-FAST"}
#: RBD-FAST sums this many harmonics (SALib's default), fewer for small samples (see _harmonics).
HARMONICS = 10
#: Fewer points than this give RBD-FAST nothing to read.
MIN_RBD_POINTS = 10
_INSTALL = "pip install 'py3r-behaviour-script[gsa]'"


def _listed(iterations: list[Iteration], limit: int = 3) -> str:
    shown = "; ".join(
        f"{it.params}: {(it.failure.message if it.failure else '').splitlines()[0]}"
        for it in iterations[:limit]
    )
    more = f"; and {len(iterations) - limit} more" if len(iterations) > limit else ""
    return shown + more


def _complete(results: Analysis, design: Design) -> dict[int, Iteration]:
    """Every point of the design, by index; refuse an incomplete design or failed points."""
    by_index = {it.index: it for it in results.iterations}
    wanted = sorted(set(design.points))
    done = [i for i in wanted if i in by_index and by_index[i].status != "cancelled"]
    if results.interrupted or len(done) < len(wanted):
        raise ValueError(
            f"The {design.mode} design is incomplete: {len(done)} of its {len(wanted)} points finished "
            "(the sweep was interrupted). The analysis needs every point: run the same call again "
            "(with cache= and the same seed=, only the missing points run), then ask for indices."
        )
    failed = [by_index[i] for i in wanted if by_index[i].status == "failed"]
    if failed:
        raise ValueError(
            f"{len(failed)} of the {len(wanted)} points of the {design.mode} design failed, and the "
            f"analysis needs a value at every point: {_listed(failed)}. Fix the script or narrow the "
            "ranges where it fails, and run again (sr.errors has every cause; with cache=, "
            "retry_failed=True reruns only failed points whose cause lay outside the script)."
        )
    return by_index


def _numbers(results: Analysis, output: str | list[str] | None, its: list[Iteration]) -> list[str]:
    """The outputs to analyse: each a finite real number at every point."""
    if output is None:
        names = [n for n in results.output_names if all(_real(it.outputs.get(n)) for it in its)]
        if not names:
            raise ValueError(
                "No output is a number at every point of the design, so there is nothing to analyse. "
                f"Outputs: {', '.join(results.output_names) or 'none'}."
            )
        return names
    names = [output] if isinstance(output, str) else list(output)
    _check_numbers(
        results,
        names,
        its,
        at="at {} point(s) of the design",
        need="The analysis needs a number at every point.",
    )
    return names


def _check_numbers(results: Analysis, names: list[str], its: list[Iteration], *, at: str, need: str) -> None:
    """Refuse a name that is not an output, then an output that is not a finite real number in each
    of ``its``; the message counts those ``at`` (a format with one ``{}``) and ends with ``need``."""
    for name in names:
        if name not in results.output_names:
            raise ValueError(f"{name!r} is not an output here; outputs: {', '.join(results.output_names)}.")
    for name in names:
        bad = [it for it in its if not _real(it.outputs.get(name))]
        if bad:
            raise ValueError(
                f"Output {name!r} is not a finite number {at.format(len(bad))}, e.g. "
                f"{bad[0].params}: {bad[0].outputs.get(name)!r}. {need}"
            )


def _real(value: Any) -> bool:
    value = as_python(value)
    return (is_number(value) or isinstance(value, bool)) and math.isfinite(value)


def _harmonics(n: int) -> int:
    """RBD-FAST's harmonics for ``n`` points: its bias correction needs ``2 * M`` well below ``n``."""
    return max(1, min(HARMONICS, n // 10))


def _analyse(design: Design, X: np.ndarray, Y: np.ndarray) -> dict[str, Any]:
    """SALib's analysis of ``Y`` (one value per design row): measure -> list (or matrix) per factor."""
    import numpy as np

    try:
        from SALib.analyze import morris, rbd_fast, sobol
    except ImportError as exc:
        raise ImportError(f"Sensitivity indices need SALib ({exc}); install it with: {_INSTALL}.") from None
    problem, seed = design.problem(), design.seed
    if design.mode == "morris":
        si = morris.analyze(problem, X, Y, num_levels=design.levels, seed=seed)
    elif np.ptp(Y) == 0:  # no variance to share out: every index is undefined
        d = len(design.factors)
        nan = [math.nan] * d
        si = {m: nan for m in MEASURES[design.mode]}
        if design.mode == "sobol" and design.second_order:
            si["S2"] = si["S2_conf"] = np.full((d, d), np.nan)
    elif design.mode == "sobol":
        si = sobol.analyze(problem, Y, calc_second_order=design.second_order, seed=seed)
    else:
        if len(Y) < MIN_RBD_POINTS:
            raise ValueError(
                f"RBD-FAST needs at least {MIN_RBD_POINTS} points to estimate an index; this "
                f"{design.mode} design has {len(Y)}. Sample more: n={MIN_RBD_POINTS * 10} or so."
            )
        si = rbd_fast.analyze(problem, X, Y, M=_harmonics(len(Y)), seed=seed)
    return dict(si)


class Analysis:
    """What a sweep says: the methods ``ScriptResults`` has for sampled designs and multiverses."""

    if TYPE_CHECKING:  # provided by ScriptResults
        design: Design | None
        mode: str | None
        nominal: dict[str, Any] | None
        param_names: list[str]
        output_names: list[str]
        interrupted: bool
        _analyses: dict[Any, pd.DataFrame]

        @property
        def iterations(self) -> list[Iteration]: ...

    def indices(self, output: str | list[str] | None = None) -> pd.DataFrame:
        """Sensitivity indices of a sampled design: a tidy table, one row per (output, parameter).

        SALib analyses the design's whole sample; what the numbers mean is in the how-to "Which knobs
        matter?". The table's ``attrs["method"]`` names the method.

        Parameters
        ----------
        output : str or list of str, optional
            The outputs to analyse; by default every output that is a number at every point.

        Returns
        -------
        pandas.DataFrame
            Columns ``output``, ``param``, then for Sobol' ``S1``, ``S1_conf``, ``ST``, ``ST_conf`` (with
            ``second_order``, also ``S2[name]`` and ``S2_conf[name]`` for each other parameter); for
            Morris ``mu_star``, ``mu_star_conf``, ``sigma``, ``mu`` (in units of the output per the whole
            range of the parameter); for random and LHS designs RBD-FAST's ``S1``, ``S1_conf``. The
            ``_conf`` columns are half-widths of 95% bootstrap intervals. An output that does not vary
            has undefined (NaN) variance-based indices. The analysis is computed once for the same
            ``output`` until an iteration is added; each call returns a copy of the table.

        Raises
        ------
        ValueError
            For results that are not of a sampled design, an interrupted design, failed points (named),
            or an output that is not a number at every point.

        Examples
        --------
        >>> from py3r.behaviour.script import sensitivity
        >>> sr = sensitivity("tests/scripts/ishigami.py", ["x1", "x2", "x3"], mode="sobol", n=64, seed=3,
        ...                  progress=False)
        >>> table = sr.indices()
        >>> list(table.columns), table.attrs["method"]
        (['output', 'param', 'S1', 'S1_conf', 'ST', 'ST_conf'], "Sobol' (Saltelli)")
        >>> table.sort_values("ST", ascending=False)["param"].tolist()  # x1 matters most, x3 least
        ['x1', 'x2', 'x3']
        """
        key = (
            tuple(output) if isinstance(output, (list, tuple)) else output,
            self.interrupted,
            self.design,  # by identity: a Design compares and hashes as itself
            tuple(self.output_names),
        )
        try:
            table = self._analyses.get(key)
        except TypeError:  # outputs given in an unhashable collection: computed, not kept
            return self._indices(output)
        if table is None:
            table = self._analyses[key] = self._indices(output)
        return table.copy()

    def _indices(self, output: str | list[str] | None) -> pd.DataFrame:
        """The table :meth:`indices` returns, computed."""
        import numpy as np
        import pandas as pd

        design = self.design
        if design is None:
            raise ValueError(
                f"Sensitivity indices need a sampled design; these results are of mode={self.mode!r}. "
                "Sweep with sensitivity(script, params, mode='sobol', n=...) (or 'morris', 'lhs', 'random')."
            )
        by_index = _complete(self, design)
        names = _numbers(self, output, [by_index[i] for i in sorted(set(design.points))])
        X = design.matrix()
        params = design.names
        second = design.mode == "sobol" and design.second_order
        columns = ["output", "param", *MEASURES[design.mode]]
        if second:
            columns += [f"S2{kind}[{q}]" for q in params for kind in ("", "_conf")]
        rows = []
        for name in names:
            Y = np.array([float(as_python(by_index[p].outputs[name])) for p in design.points])
            si = _analyse(design, X, Y)
            for i, param in enumerate(params):
                row: dict[str, Any] = {"output": name, "param": param}
                row.update({m: float(si[m][i]) for m in MEASURES[design.mode]})
                for j, other in enumerate(params if second else []):
                    a, b = min(i, j), max(i, j)
                    row[f"S2[{other}]"] = math.nan if i == j else float(si["S2"][a][b])
                    row[f"S2_conf[{other}]"] = math.nan if i == j else float(si["S2_conf"][a][b])
                rows.append(row)
        table = pd.DataFrame(rows, columns=columns)
        table.attrs["method"] = METHODS[design.mode]
        return table

    def specifications(self, output: str, ci: tuple[str, str] | None = None) -> pd.DataFrame:
        """Each completed iteration as a specification, sorted by ``output``: a specification curve's table.

        Every combination of choices a sweep ran (a grid over choices, typically) is one specification
        of the analysis; the table says how much the result depends on them (Simonsohn, Simmons &
        Nelson 2020). The reference sign is that of the nominal specification (every swept parameter
        at its nominal value), or that of the median of all completed specifications when the sweep
        has no nominal point or the nominal specification's result is 0 (which has no sign).

        Parameters
        ----------
        output : str
            The scalar output that is the result (an effect, say).
        ci : (str, str), optional
            The outputs holding the lower and upper ends of each specification's interval.

        Returns
        -------
        pandas.DataFrame
            Columns ``rank`` (1 = smallest), the swept parameters, ``output`` (and the ``ci`` outputs),
            ``nominal`` (the nominal specification), ``same_sign`` (the sign of the reference) and, with
            ``ci``, ``excludes_zero`` (its interval lies wholly on the reference's side of 0). Its
            ``attrs`` hold ``share_same_sign``, ``share_excludes_zero`` (with ``ci``), ``sign``,
            ``reference`` (``"nominal"`` or ``"median"``), ``failed`` (specifications that failed,
            left out) and ``not_run`` (specifications a cancelled sweep never ran: no failures, left
            out too).

        Raises
        ------
        ValueError
            If ``output`` (or a ``ci`` output) is not a number in some completed iteration, or no
            iteration completed.

        Examples
        --------
        >>> from py3r.behaviour.script import sensitivity
        >>> sr = sensitivity("examples/open_field/pipeline.py",
        ...                  {"smoothing": ["mean", "median"], "interpolate_gaps": [True, False]},
        ...                  mode="grid", outputs=["fraction_moving"], progress=False)
        >>> table = sr.specifications("fraction_moving")
        >>> len(table), table.attrs["share_same_sign"], int(table["nominal"].sum())
        (4, 1.0, 1)
        """
        import numpy as np
        import pandas as pd

        wanted = [output, *(ci or ())]
        if ci is not None and len(ci) != 2:
            raise ValueError(f"ci= names two outputs, the lower and upper end of each interval; got {ci!r}.")
        done = [it for it in self.iterations if it.ok]
        # Unknown names first; with no iteration done there is no value to refuse.
        _check_numbers(
            self, wanted, done, at="in {} specification(s)", need="A specification curve plots numbers."
        )
        if not done:
            raise ValueError("No iteration completed, so there is no specification to show.")
        params = list(self.param_names)
        nominal = self.nominal or {}
        is_nominal = [
            bool(params)
            and all(p in nominal and key_of(it.params.get(p)) == key_of(nominal[p]) for p in params)
            for it in done
        ]
        table = pd.DataFrame(
            [
                {
                    **{p: it.params.get(p) for p in params},
                    **{n: float(as_python(it.outputs[n])) for n in wanted},
                }
                for it in done
            ]
        )
        table["nominal"] = is_nominal
        table = table.sort_values(output, kind="stable").reset_index(drop=True)
        table.insert(0, "rank", range(1, len(table) + 1))
        reference = (
            "nominal"
            if table["nominal"].any() and table.loc[table["nominal"], output].iloc[0] != 0
            else "median"
        )
        centre = (
            table.loc[table["nominal"], output].iloc[0] if reference == "nominal" else table[output].median()
        )
        sign = int(np.sign(centre))
        table["same_sign"] = np.sign(table[output]).astype(int) == sign
        table.attrs.update(
            output=output,
            ci=ci,
            reference=reference,
            sign=sign,
            failed=sum(it.status == "failed" for it in self.iterations),
            not_run=sum(it.status == "cancelled" for it in self.iterations),
        )
        table.attrs["share_same_sign"] = float(table["same_sign"].mean())
        if ci is not None:
            lo, hi = ci
            table["excludes_zero"] = (table[lo] > 0) if sign > 0 else (table[hi] < 0) if sign < 0 else False
            table.attrs["share_excludes_zero"] = float(table["excludes_zero"].mean())
        return table
