#!/usr/bin/env python3
"""Generate the TA-Lib reference fixtures for the Indicators tests.

Requirements (PyPI):  pip install 'ta-lib>=0.6' backtesting
  (ta-lib 0.8.2 ships a manylinux wheel that bundles the TA-Lib C library,
   so no C build is needed.)

Run from anywhere:  python3 generate.py
Writes, next to this script:
  ohlcv_<DATASET>.csv   the input series (open,high,low,close,volume), oldest first
  expected.csv          dataset,indicator,output,params,length,expected
                        expected = last element of TA-Lib's output for the FIRST
                        `length` rows of the dataset, or "nan" when TA-Lib's output
                        has no valid value (series too short).
"""
import csv
import math
import os

import numpy as np
import talib
from backtesting.test import GOOG, EURUSD

HERE = os.path.dirname(os.path.abspath(__file__))
CAP = 2000


def synthetic():
    """Small hand-made series that exercise TA-Lib's edge cases."""
    out = {}
    n = 80
    flat = np.full(n, 1.5)
    out["FLAT"] = (flat, flat, flat, flat, np.full(n, 1000.0))
    c = np.arange(1.0, n + 1.0)
    out["RAMP"] = (c, c + 1.0, c - 1.0, c, np.full(n, 100.0))
    out["DOWN"] = (c[::-1].copy(), c[::-1] + 0.5, c[::-1] - 0.5, c[::-1].copy(), np.full(n, 7.0))
    g = GOOG.iloc[:n]
    out["ZEROVOL"] = tuple(g[k].to_numpy(dtype=float) for k in ("Open", "High", "Low", "Close")) + (np.zeros(n),)
    z = np.zeros(n)
    out["ZEROS"] = (z, z, z, z, z)
    # flat stretch in the middle of real data (windows with zero range / zero variance)
    e = EURUSD.iloc[:n]
    o, h, l, cl, v = (e[k].to_numpy(dtype=float).copy() for k in ("Open", "High", "Low", "Close", "Volume"))
    for arr in (o, h, l, cl):
        arr[30:60] = 1.07
    out["PLATEAU"] = (o, h, l, cl, v)
    # tiny prices (e.g. low-priced crypto) to exercise TA-Lib's epsilon tests
    t = EURUSD.iloc[:n]
    out["TINY"] = tuple(t[k].to_numpy(dtype=float) * 1e-6 for k in ("Open", "High", "Low", "Close")) + (t["Volume"].to_numpy(dtype=float),)
    # absurdly small prices: below any fixed epsilon band (RSI/ADX use exact zero tests)
    out["MICRO"] = tuple(t[k].to_numpy(dtype=float) * 1e-20 for k in ("Open", "High", "Low", "Close")) + (t["Volume"].to_numpy(dtype=float),)
    # prices that differ only by rounding residue (0.3 vs 0.1 + 0.2): exercises
    # TA-Lib's scaled "is this window flat?" dead zones
    rng = np.random.default_rng(7)
    a, b = 0.3, 0.1 + 0.2
    pick = lambda: np.where(rng.random(n) < 0.5, a, b)
    hh, ll, cc = pick(), pick(), pick()
    out["ULP"] = (cc.copy(), np.maximum(hh, np.maximum(ll, cc)), np.minimum(hh, np.minimum(ll, cc)), cc, np.full(n, 100.0))
    return out


def datasets():
    ds = {}
    for name, df in (("GOOG", GOOG), ("EURUSD", EURUSD)):
        df = df.iloc[:CAP]
        ds[name] = tuple(df[k].to_numpy(dtype=float) for k in ("Open", "High", "Low", "Close", "Volume"))
    ds.update(synthetic())
    return ds


# indicator -> list of (params tuple, lookback)
# Each spec: name, outputs, params list, fn(o,h,l,c,v,*params) -> tuple of arrays
def vwap(o, h, l, c, v):
    tp = (h + l + c) / 3.0
    num = np.cumsum(tp * v)
    den = np.cumsum(v)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(den != 0, num / np.where(den != 0, den, 1.0), np.nan)
    return (r,)


SPECS = [
    ("SMA", ["value"], [(20,), (5,), (2,), (1,), (50,), (200,)], lambda o, h, l, c, v, n: (talib.SMA(c, n),)),
    ("EMA", ["value"], [(9,), (21,), (50,), (2,), (1,), (200,)], lambda o, h, l, c, v, n: (talib.EMA(c, n),)),
    ("RSI", ["value"], [(14,), (2,), (7,), (50,)], lambda o, h, l, c, v, n: (talib.RSI(c, n),)),
    ("STDDEV", ["value"], [(20,), (5,), (2,)], lambda o, h, l, c, v, n: (talib.STDDEV(c, n, 1.0),)),
    ("MAX", ["value"], [(20,), (2,), (55,)], lambda o, h, l, c, v, n: (talib.MAX(c, n),)),
    ("MIN", ["value"], [(20,), (2,), (55,)], lambda o, h, l, c, v, n: (talib.MIN(c, n),)),
    ("MACD", ["macd", "signal", "histogram"], [(12, 26, 9), (5, 35, 5), (3, 10, 16), (8, 17, 1), (26, 12, 9), (2, 2, 2)],
     lambda o, h, l, c, v, f, s, g: talib.MACD(c, f, s, g)),
    ("BBANDS", ["upper", "middle", "lower"], [(20, 2.0), (10, 1.5), (5, 1.0), (20, 2.5), (2, -1.0)],
     lambda o, h, l, c, v, n, k: talib.BBANDS(c, n, k, k, 0)),
    ("ATR", ["value"], [(14,), (1,), (5,), (30,)], lambda o, h, l, c, v, n: (talib.ATR(h, l, c, n),)),
    ("VWAP", ["value"], [()], vwap),
    ("STOCH", ["k", "d"], [(5, 3, 3), (14, 3, 3), (14, 1, 1), (9, 3, 5), (1, 1, 1)],
     lambda o, h, l, c, v, fk, sk, sd: talib.STOCH(h, l, c, fk, sk, 0, sd, 0)),
    ("ADX", ["value"], [(14,), (2,), (7,), (28,)], lambda o, h, l, c, v, n: (talib.ADX(h, l, c, n),)),
    ("OBV", ["value"], [()], lambda o, h, l, c, v: (talib.OBV(c, v),)),
    ("ROC", ["value"], [(10,), (1,), (12,), (30,)], lambda o, h, l, c, v, n: (talib.ROC(c, n),)),
    ("WMA", ["value"], [(10,), (2,), (1,), (30,)], lambda o, h, l, c, v, n: (talib.WMA(c, n),)),
    ("MFI", ["value"], [(14,), (2,), (30,)], lambda o, h, l, c, v, n: (talib.MFI(h, l, c, v, n),)),
    ("CCI", ["value"], [(20,), (14,), (2,)], lambda o, h, l, c, v, n: (talib.CCI(h, l, c, n),)),
    ("WILLR", ["value"], [(14,), (2,), (30,)], lambda o, h, l, c, v, n: (talib.WILLR(h, l, c, n),)),
]

BASE_LENGTHS = [1, 2, 3, 5, 30, 100, 250, 500, 1000, 2000]


def lengths_for(params, first_valid, total):
    ls = set(BASE_LENGTHS)
    for p in params:
        if isinstance(p, int):
            ls.update({p - 1, p, p + 1})
    if first_valid is not None:
        ls.update({first_valid, first_valid + 1, first_valid + 2})  # lengths around the first output
    ls.add(total)
    return sorted(l for l in ls if 1 <= l <= total)


def fmt_params(params):
    return ";".join(repr(p) for p in params)


def main():
    ds = datasets()
    for name, cols in ds.items():
        with open(os.path.join(HERE, f"ohlcv_{name}.csv"), "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["open", "high", "low", "close", "volume"])
            for row in zip(*cols):
                w.writerow([repr(float(x)) for x in row])
    rows = 0
    with open(os.path.join(HERE, "expected.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["dataset", "indicator", "output", "params", "length", "expected"])
        for name, (o, h, l, c, v) in ds.items():
            total = len(c)
            for ind, outs, plist, fn in SPECS:
                for params in plist:
                    full = fn(o, h, l, c, v, *params)
                    valid = np.nonzero(~np.isnan(full[0]))[0]
                    first_valid = int(valid[0]) + 1 if len(valid) else None  # shortest length with output
                    for L in lengths_for(params, first_valid, total):
                        res = fn(o[:L], h[:L], l[:L], c[:L], v[:L], *params)
                        for oname, arr in zip(outs, res):
                            last = arr[-1]
                            exp = "nan" if math.isnan(last) else repr(float(last))
                            w.writerow([name, ind, oname, fmt_params(params), L, exp])
                            rows += 1
    print("talib", talib.__version__, talib.__ta_version__, "rows", rows)


if __name__ == "__main__":
    main()
