"""The C library's double-precision exp, written out in compiled code.

`exp` returns the same double as the GNU C library's `exp` (glibc 2.28 and later: the algorithm of
Szabolcs Nagy's ARM optimized-routines, in the FMA build that x86-64 machines with FMA run) for every
argument: the main path (2^-54 <= |x| < 512) is that code's arithmetic operation for operation, with
fused multiply-adds where its FMA build has them; a tiny argument gives 1 + x, as there; every other
argument (huge, infinite, NaN: results near overflow or underflow) calls the C library itself. Written
out, the exponentials of many subjects run together on vectors (`exp_into`, the table read by a
gather): 4,096 of them in ~7 us against ~20 us for 4,096 calls of the C library. Where the C library
is another, or the machine lacks FMA (its glibc then runs another build), these doubles are still the
FMA build's, and may differ from that library's in the last bit. tests/test_libm.py checks both
functions against `math.exp` on random and edge-case arguments.

exp(x) = 2^(k/N) 2^(r/ln 2) with N = 128, k = round(N x / ln 2), r = x - k ln 2 / N (in two parts),
2^(k/N) from a table (its double H and the relative tail T of 2^(k/N) ~= H (1 + T)), and e^r - 1 a
polynomial of degree 5.
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from rlcraving.threads import compiled

_N = 128
_INV_LN2_N = float.fromhex("0x1.71547652b82fep+7")        # N / ln 2
_NEG_LN2_HI_N = float.fromhex("-0x1.62e42fefa0000p-8")     # -ln 2 / N, high part
_NEG_LN2_LO_N = float.fromhex("-0x1.cf79abc9e3b3ap-47")    # and low part
_SHIFT = float.fromhex("0x1.8p52")                         # rounds to an integer in the low bits
_C2 = float.fromhex("0x1.ffffffffffdbdp-2")                # e^r - 1 ~= r + C2 r^2 + ... + C5 r^5
_C3 = float.fromhex("0x1.555555555543cp-3")
_C4 = float.fromhex("0x1.55555cf172b91p-5")
_C5 = float.fromhex("0x1.1111167a4d017p-7")


def _table() -> np.ndarray:
    """(2N,) uint64: for k < N, the bits of the relative tail T[k] and those of H[k] less k << 45."""
    out = np.empty(2 * _N, dtype=np.uint64)
    with localcontext() as ctx:
        ctx.prec = 60
        for k in range(_N):
            exact = Decimal(2) ** (Decimal(k) / _N)
            high = float(exact)   # correctly rounded
            out[2 * k] = np.float64(float(exact / Decimal(high) - 1)).view(np.uint64)
            out[2 * k + 1] = np.uint64((int(np.float64(high).view(np.uint64)) - (k << 45)) % 2**64)
    return out


_TABLE = _table()


@intrinsic
def _fma(typingctx, a, b, c):  # type: ignore[no-untyped-def]
    """a b + c rounded once (llvm.fma: the instruction where the CPU has it)."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        f64 = ir.DoubleType()
        fma = builder.module.declare_intrinsic("llvm.fma", [f64], ir.FunctionType(f64, [f64] * 3))
        return builder.call(fma, args)

    return sig, codegen


@intrinsic
def _bits(typingctx, x):  # type: ignore[no-untyped-def]
    """The bits of a double, as uint64."""
    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.bitcast(args[0], ir.IntType(64))

    return types.uint64(types.float64), codegen


@intrinsic
def _double(typingctx, bits):  # type: ignore[no-untyped-def]
    """The double of 64 bits."""
    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.uint64), codegen


@compiled
def _main_path(x: float) -> float:
    """e^x for 2^-54 <= |x| < 512, as the C library computes it (any other x gives a wrong number)."""
    kd = _fma(x, _INV_LN2_N, _SHIFT)
    ki = _bits(kd)
    kd -= _SHIFT
    r = _fma(kd, _NEG_LN2_HI_N, x)
    r = _fma(kd, _NEG_LN2_LO_N, r)
    index = (ki & np.uint64(_N - 1)) * np.uint64(2)
    r2 = r * r
    tmp = _fma(_fma(r, _C3, _C2), r2, r + _double(_TABLE[index]))
    tmp = _fma(r2 * r2, _fma(r, _C5, _C4), tmp)
    scale = _double((ki << np.uint64(45)) + _TABLE[index + np.uint64(1)])
    return _fma(scale, tmp, scale)


@compiled
def _top(x: float) -> np.uint64:
    """The biased exponent of x (11 bits, the sign dropped)."""
    return (_bits(x) >> np.uint64(52)) & np.uint64(0x7FF)


@compiled
def _near_path(x: float) -> float:
    """e^x for |x| < 512 as the C library computes it: 1 + x when |x| < 2^-54 (0 included), else
    the main path (any other x gives a wrong number). Without branches."""
    main = _main_path(x)
    return 1.0 + x if _top(x) < np.uint64(0x3C9) else main


@compiled
def _far(x: float) -> bool:
    """|x| >= 512, or x is not finite: the C library's special cases."""
    return _top(x) > np.uint64(0x407)


@compiled
def exp(x: float) -> float:
    """e^x, the same double as the C library's `exp` (see the module's docstring)."""
    return math.exp(x) if _far(x) else _near_path(x)


@compiled
def exp_into(x: np.ndarray, out: np.ndarray) -> None:
    """out = e^x elementwise (1-d arrays of one size; out may be x), the same doubles as `exp`: one loop
    without branches over all of x (on vectors of elements), then the C library for the rare elements
    that need it."""
    n = np.uint64(x.size)
    far = False
    for i in range(np.uint64(0), n):
        far |= _far(x[i])
    if far:   # keep the arguments the C library needs
        for i in range(np.uint64(0), n):
            out[i] = math.exp(x[i]) if _far(x[i]) else _near_path(x[i])
        return
    for i in range(np.uint64(0), n):
        out[i] = _near_path(x[i])
