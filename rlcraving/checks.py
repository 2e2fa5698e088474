"""Input checks that name the parameter, the value given and what is allowed."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np


def check_number(name: str, value: Any, *, lo: float = -math.inf, hi: float = math.inf,
                 integer: bool = False) -> float:
    """Return `value` as a float (or int) after checking type, finiteness and range [lo, hi]."""
    if isinstance(value, bool) or (not isinstance(value, (int, float)) and not _is_numpy_number(value)):
        raise TypeError(f"{name}={value!r} has type {type(value).__name__}; a number is required")
    if isinstance(value, numbers.Integral):  # exact comparison, even past 2**53
        exact = int(value)
        if not lo <= exact <= hi:
            raise ValueError(f"{name}={value!r} is outside the allowed range [{lo}, {hi}]")
        return exact if integer else float(exact)
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name}={value!r} must be a finite number in [{lo}, {hi}]")
    if integer and not number.is_integer():
        raise ValueError(f"{name}={value!r} must be a whole number")
    if not lo <= number <= hi:
        raise ValueError(f"{name}={value!r} is outside the allowed range [{lo}, {hi}]")
    return int(number) if integer else number


def check_bool(name: str, value: Any) -> bool:
    """Return `value` after checking it is a bool (numpy bools accepted)."""
    if not isinstance(value, bool) and type(value).__name__ != "bool_":
        raise TypeError(f"{name}={value!r} has type {type(value).__name__}; True or False is required")
    return bool(value)


def check_choice(name: str, value: Any, allowed: Iterable[str]) -> str:
    """Return `value` after checking it is one of `allowed`."""
    allowed = tuple(allowed)
    if not isinstance(value, str):
        raise TypeError(f"{name}={value!r} has type {type(value).__name__}; one of {list(allowed)} is required")
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not allowed; choose one of {list(allowed)}")
    return value


def check_keys(name: str, mapping: Mapping[str, Any], allowed: Iterable[str]) -> None:
    """Raise if `mapping` has a key outside `allowed`."""
    if not isinstance(mapping, Mapping):
        raise TypeError(f"{name}={mapping!r} has type {type(mapping).__name__}; a dict is required")
    allowed = sorted(allowed)
    unknown = sorted(set(mapping) - set(allowed))
    if unknown:
        raise ValueError(f"{name} has unknown key(s) {unknown}; allowed keys: {allowed}")


#: Seeds are keyed modulo 2**64 by the random streams (`rlcraving.random`): larger ones are refused.
MAX_SEED = 2**64 - 1


def check_seed(seed: Any) -> int | None:
    """The seed as a Python int (None stays None) after checking it is a whole number in [0, 2**64 - 1]."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed={seed!r} has type {type(seed).__name__}; a whole number in [0, 2**64 - 1] "
                        "or None is required")
    if not 0 <= int(seed) <= MAX_SEED:
        raise ValueError(f"seed={seed!r} is outside the allowed range [0, 2**64 - 1] (the random streams "
                         "are keyed on 64 bits)")
    return int(seed)


def check_action(value: Any, n_actions: int, meanings: Iterable[str]) -> int:
    """Return a discrete action as an int after checking it is a whole number (not a bool) in [0, n_actions)."""
    whole = isinstance(value, numbers.Integral) or (_is_numpy_number(value) and value.dtype.kind in "iu")
    if isinstance(value, bool) or type(value).__name__ == "bool_" or not whole or not 0 <= int(value) < n_actions:
        raise ValueError(f"action={value!r} is not allowed; a whole number in [0, {n_actions - 1}] "
                         f"({list(meanings)}) is required")
    return int(value)


def check_actions(actions: Any, num_envs: int, n_actions: int, meanings: Iterable[str]) -> np.ndarray:
    """A vector env's actions: whole numbers in [0, n_actions), one per sub-environment.

    Cheap on valid actions (a vector env checks every step): one pass, the largest of the actions
    read as unsigned integers (a negative one reads as a huge number); the offending entry is
    looked for only to word the error.
    """
    actions = np.asarray(actions)
    if actions.dtype.kind not in "iu":
        raise TypeError(f"actions={_short(actions)} has dtype {actions.dtype}; whole numbers in "
                        f"[0, {n_actions - 1}] ({list(meanings)}) are required")
    if actions.shape != (num_envs,):
        raise ValueError(f"actions has shape {actions.shape}; ({num_envs},) is required")
    if actions.size and actions.view(f"u{actions.itemsize}").max() >= n_actions:
        i = int(np.flatnonzero((actions < 0) | (actions >= n_actions))[0])
        raise ValueError(f"actions[{i}]={int(actions[i])} must be in [0, {n_actions - 1}] ({list(meanings)}); "
                         f"actions={_short(actions)}")
    return actions


def _short(array: np.ndarray) -> str:
    """A one-line repr of `array`, elided past a few entries."""
    return np.array2string(array, threshold=8, edgeitems=3, max_line_width=10**6, separator=", ")


def check_render_mode(render_mode: Any, allowed: Iterable[str]) -> str | None:
    """Return `render_mode` after checking it is None or one of `allowed`."""
    allowed = list(allowed)
    if render_mode is not None and render_mode not in allowed:
        hint = (" (this environment draws no window; render 'rgb_array' frames and show them with "
                "gymnasium.wrappers.HumanRendering, which needs pygame)") if render_mode == "human" else ""
        raise ValueError(f"render_mode={render_mode!r} is not allowed; choose one of {allowed} or None{hint}")
    return render_mode


def _is_numpy_number(value: Any) -> bool:
    return type(value).__module__ == "numpy" and hasattr(value, "dtype") and value.dtype.kind in "iuf" \
        and getattr(value, "ndim", 1) == 0


def check_per_subject(name: str, value: Any, n: int, *, lo: float = -math.inf, hi: float = math.inf,
                      open_lo: bool = False) -> np.ndarray:
    """Return `value` as a float array after checking it holds `n` finite values in [lo, hi]
    (in (lo, hi] with `open_lo`)."""
    array = np.asarray(value, dtype=float)
    if array.shape != (n,):
        raise ValueError(f"{name} must hold one value per subject, shape ({n},); got shape {array.shape}")
    bad = ~np.isfinite(array) | (array > hi) | ((array <= lo) if open_lo else (array < lo))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        interval = f"({lo}, {hi}]" if open_lo else f"[{lo}, {hi}]"
        raise ValueError(f"{name}[{i}]={float(array[i])!r} is outside the allowed range {interval} "
                         f"({int(bad.sum())} value(s) outside)")
    return array
