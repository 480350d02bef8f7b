"""Every scalar numeric operator on every backend against the reference evaluator
`wasmcore.exec.numerics.evaluate`, bit for bit.

Three sources of cases, all run through wasm functions built as WAT (floats cross the boundary
as their bits, through reinterpret, so NaN payloads and -0.0 are compared exactly):
- `test_edge_operands`: each operator on every combination of hand-picked edge operands (zero,
  sign bits, NaN payloads quiet and signalling, subnormals, infinities, the truncation bounds
  and their neighbours, rounding ties);
- `test_random_operands`: hypothesis batches of operators on full-range operands (integers of
  every width, floats from raw bits);
- `test_random_expressions`: hypothesis batches of expression trees mixing operators, parameters
  and constants, so each backend's constant folding, fusing and evaluation order (which trap
  comes first) are checked too.
Where the spec lets a NaN result be any NaN of a class (canonical or arithmetic, either sign),
any member is accepted; a NaN of such a class flows on symbolically through abs/neg/copysign,
and a tree whose result would expose its open payload (reinterpret) is not compared (hypothesis
statistics count them). One known llvm deviation (a signalling NaN left unquieted when LLVM
folds an identity like x * 1.0) is tolerated in the random trees and pinned down by the strict
xfail `test_signalling_nan_through_folded_identity`.

Run budget: the "differential-ci" hypothesis profile (the default) keeps this file around half
a minute for both backends; WASMCORE_DIFFERENTIAL_PROFILE=differential-deep checks ten times as
many random cases.
"""

from __future__ import annotations

import itertools
import os

import pytest
from hypothesis import event, given, settings, strategies as st

import wasmcore
from wasmcore.exec import numerics as N
from wasmcore.syntax import opcodes as op
from wasmcore.syntax.types import ValueType

I32, I64, F32, F64 = ValueType.I32, ValueType.I64, ValueType.F32, ValueType.F64
WIDTH = {I32: 32, I64: 64, F32: 32, F64: 64}
BITS_TYPE = {I32: I32, I64: I64, F32: I32, F64: I64}  # how each type crosses the boundary
FLOATS = (F32, F64)

settings.register_profile("differential-ci", max_examples=120, deadline=None, database=None)
settings.register_profile("differential-deep", max_examples=1200, deadline=None, database=None)
PROFILE = settings.get_profile(os.environ.get("WASMCORE_DIFFERENTIAL_PROFILE", "differential-ci"))

# interp raises the recursion limit for each new instance (so wasm recursion fits): expected
pytestmark = pytest.mark.filterwarnings("ignore:The recursion limit will not be reset")

OPERATORS = sorted(N.SIGNATURES)
BY_RESULT = {vt: [code for code in OPERATORS if N.SIGNATURES[code][1] == vt] for vt in WIDTH}


# --- operands ---------------------------------------------------------------------------------
def _neighbours(values, width):
    """The values and the bit patterns next to them (the next float up and down in magnitude)."""
    mask = (1 << width) - 1
    return sorted({v + d & mask for v in values for d in (-1, 0, 1)})


EDGES = {
    I32: [0, 1, 2, 31, 32, 33, 0x7F, 0x80, 0xFF, 0x8000, 0xFFFF, 0x10000, 0x55555555, 0xAAAAAAAA,
          0x7FFFFFFF, 0x80000000, 0x80000001, 0xFFFFFFFE, 0xFFFFFFFF],
    I64: [0, 1, 2, 63, 64, 65, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x100000000,
          0x5555555555555555, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000, 0x8000000000000001,
          0xFFFFFFFF80000000, 0xFFFFFFFFFFFFFFFE, 0xFFFFFFFFFFFFFFFF, 0x0020000000000001],
    F32: [0, 0x80000000, 0x7F800000, 0xFF800000,  # zeros, infinities
          0x7FC00000, 0xFFC00000, 0x7FC12345, 0xFFA00001, 0x7F800001,  # NaNs: canonical, payloads
          1, 0x007FFFFF, 0x00800000, 0x80000001,  # subnormals, smallest normal
          0x3F800000, 0xBF800000, 0x3F000000, 0xBF000000, 0x3FC00000, 0x40200000, 0xC0200000,
          0x3EFFFFFF, 0x4B000001, 0x7F7FFFFF, 0xFF7FFFFF,  # +-1, +-0.5, 1.5, +-2.5, ties
          0x4F000000, 0x4EFFFFFF, 0xCF000000, 0xCF000001, 0x4F800000, 0x4F7FFFFF,  # 2**31, 2**32
          0x5F000000, 0xDF000000, 0xDF000001, 0x5F800000, 0x5F7FFFFF, 0xBF7FFFFF],  # 2**63, 2**64
    F64: [0, 1 << 63, 0x7FF0000000000000, 0xFFF0000000000000,
          0x7FF8000000000000, 0xFFF8000000000000, 0x7FF8000012345678, 0x7FF0000000000001,
          0xFFF4000000000001, 1, 0x000FFFFFFFFFFFFF, 0x0010000000000000, 0x8000000000000001,
          0x3FF0000000000000, 0xBFF0000000000000, 0x3FE0000000000000, 0xBFE0000000000000,
          0x3FDFFFFFFFFFFFFF, 0x4004000000000000, 0xC004000000000000, 0x4330000000000001,
          0x7FEFFFFFFFFFFFFF, 0xFFEFFFFFFFFFFFFF,
          0x41E0000000000000, 0x41DFFFFFFFFFFFFF, 0xC1E0000000000000, 0xC1E0000000200000,
          0xC1E00000001FFFFF, 0x41F0000000000000, 0x41EFFFFFFFFFFFFF,  # 2**31, -2**31-1, 2**32
          0x43E0000000000000, 0xC3E0000000000000, 0xC3E0000000000001, 0x43F0000000000000,
          0x43EFFFFFFFFFFFFF, 0xBFEFFFFFFFFFFFFF,  # 2**63, 2**64, -0.99...
          0x3FF0000010000000, 0x47EFFFFFE0000000, 0x36A0000000000000, 0x3690000000000000,
          0x47EFFFFFF0000000],  # demotion ties, overflow, underflow
}


def _operand(vt):
    width = WIDTH[vt]
    mask = (1 << width) - 1
    choices = [st.integers(0, mask), st.sampled_from(EDGES[vt])]
    if vt in FLOATS:
        exponent = (1 << (8 if width == 32 else 11)) - 1
        mantissa = 23 if width == 32 else 52
        sign = st.integers(0, 1).map(lambda s: s << (width - 1))
        # NaNs with random payloads (quiet or signalling), and the neighbours of the edges
        choices.append(st.tuples(sign, st.integers(1, (1 << mantissa) - 1)).map(
            lambda t: t[0] | exponent << mantissa | t[1]))
        choices.append(st.sampled_from(_neighbours(EDGES[vt], width)))
        # values of moderate magnitude, where sums and products round interestingly
        choices.append(st.floats(width=width, allow_nan=False).map(
            N.f32b if width == 32 else N.d2q))
    else:
        choices.append(st.integers(0, 2 * width + 1))  # shift and rotate counts
        choices.append(st.integers(0, 0xFF).map(lambda v: (v - 128) & mask))  # small, either sign
    return st.one_of(choices)


OPERAND = {vt: _operand(vt) for vt in WIDTH}


# --- WAT --------------------------------------------------------------------------------------
def _float_text(bits: int, width: int) -> str:
    """The exact WAT text of an f32/f64 from its bits (hex float, nan:0x... payloads)."""
    mantissa_bits = 23 if width == 32 else 52
    sign = "-" if bits >> (width - 1) else ""
    exponent = bits >> mantissa_bits & ((1 << (width - 1 - mantissa_bits)) - 1)
    mantissa = bits & ((1 << mantissa_bits) - 1)
    bias = 127 if width == 32 else 1023
    digits = (mantissa_bits + 3) // 4
    fraction = mantissa << (4 * digits - mantissa_bits)
    if exponent == 2 * bias + 1:
        return f"{sign}nan:0x{mantissa:x}" if mantissa else f"{sign}inf"
    if exponent == 0:
        return f"{sign}0x0.{fraction:0{digits}x}p{1 - bias}"
    return f"{sign}0x1.{fraction:0{digits}x}p{exponent - bias}"


def _const(vt, bits: int) -> str:
    if vt in FLOATS:
        return f"({vt.text}.const {_float_text(bits, WIDTH[vt])})"
    return f"({vt.text}.const {bits})"


def _param(vt, index: int) -> str:
    if vt in FLOATS:
        return f"({vt.text}.reinterpret_{BITS_TYPE[vt].text} (local.get {index}))"
    return f"(local.get {index})"


def _function(name: str, param_types, result, body: str) -> str:
    params = " ".join(BITS_TYPE[vt].text for vt in param_types)
    if result in FLOATS:
        body = f"({BITS_TYPE[result].text}.reinterpret_{result.text} {body})"
    return (f'(func (export "{name}") (param {params}) (result {BITS_TYPE[result].text})\n'
            f'  {body})')


def _instantiate(backend: str, functions: list[str]):
    config = wasmcore.Config()
    config.backend = backend
    engine = wasmcore.Engine(config)
    store = wasmcore.Store(engine)
    module = wasmcore.Module(engine, "(module\n" + "\n".join(functions) + ")")
    return store, wasmcore.Instance(store, module, []).exports(store)


def _call(store, func, param_types, result, operands):
    """Run a function on bits: (result bits) or ("trap", code, message)."""
    args = []
    for vt, bits in zip(param_types, operands):
        width = WIDTH[vt]
        args.append(bits - (1 << width) if bits >> (width - 1) else bits)  # the API takes signed
    try:
        value = func(store, *args)
    except wasmcore.Trap as trap:
        return ("trap", trap.trap_code, trap.message)
    return value & ((1 << WIDTH[result]) - 1)


def _expected(code, operands):
    try:
        return N.evaluate(code, *operands)
    except wasmcore.Trap as trap:
        return ("trap", trap.trap_code, trap.message)


def _show(code, operands, got, want) -> str:
    text = lambda v: v if isinstance(v, tuple) else hex(v)
    return (f"{op.NAMES[code]}({', '.join(hex(x) for x in operands)}): got {text(got)}, "
            f"expected {text(want)}")


# --- single operators -------------------------------------------------------------------------
_SINGLE: dict = {}


def _single_operators(backend: str):
    """One exported function per operator, operands as parameters (cached per backend)."""
    if backend not in _SINGLE:
        functions = []
        for code in OPERATORS:
            params, result = N.SIGNATURES[code]
            args = " ".join(_param(vt, k) for k, vt in enumerate(params))
            functions.append(_function(op.NAMES[code], params, result, f"({op.NAMES[code]} {args})"))
        _SINGLE[backend] = _instantiate(backend, functions)
    return _SINGLE[backend]


def _check_single(backend, cases) -> None:
    store, exports = _single_operators(backend)
    failures = []
    for code, operands in cases:
        params, result = N.SIGNATURES[code]
        got = _call(store, exports[op.NAMES[code]], params, result, operands)
        want = _expected(code, operands)
        if isinstance(want, tuple) or isinstance(got, tuple):
            ok = got == want
        else:
            ok = N.allows(code, operands, got)
        if not ok:
            failures.append(_show(code, operands, got, want))
    assert not failures, f"{len(failures)} disagreements:\n" + "\n".join(failures[:30])


def test_edge_operands(backend):
    cases = []
    for code in OPERATORS:
        params, _ = N.SIGNATURES[code]
        cases.extend((code, operands) for operands in itertools.product(*(EDGES[vt] for vt in params)))
    assert len(cases) > 20_000
    _check_single(backend, cases)


@st.composite
def _case(draw):
    code = draw(st.sampled_from(OPERATORS))
    return code, tuple(draw(OPERAND[vt]) for vt in N.SIGNATURES[code][0])


@settings(PROFILE, max_examples=PROFILE.max_examples * 2)  # cheap: one module per backend
@given(cases=st.lists(_case(), min_size=100, max_size=200))
def test_random_operands(backend, cases):
    _check_single(backend, cases)


# --- expression trees -------------------------------------------------------------------------
class _OpenNaN:
    """A NaN result the spec leaves open: any NaN of the class, with a known sign or not."""

    def __init__(self, width: int, canonical: bool, sign: int | None = None):
        self.width, self.canonical, self.sign = width, canonical, sign

    def representative(self) -> int:
        nan = N.F32_CANONICAL_NAN if self.width == 32 else N.F64_CANONICAL_NAN
        return nan | (self.sign or 0) << (self.width - 1)

    def admits(self, bits: int) -> bool:
        member = N.is_canonical_nan if self.canonical else N.is_arithmetic_nan
        return member(bits, self.width) and self.sign in (None, bits >> (self.width - 1))


UNKNOWN = object()  # an open NaN's payload became visible: the tree is not compared


def _is_canonical(value, width) -> bool:
    return value.canonical if isinstance(value, _OpenNaN) else N.is_canonical_nan(value, width)


def _apply(code, values):
    """The reference result of `code` on values that may be open NaNs (or UNKNOWN)."""
    params, result = N.SIGNATURES[code]
    if UNKNOWN in values:
        return UNKNOWN
    opens = [v for v in values if isinstance(v, _OpenNaN)]
    width = WIDTH[result]
    if not opens:
        value = N.evaluate(code, *values)
        if code in N.NAN_OPEN and N.is_nan(value, width):
            return _OpenNaN(width, N.nan_class(code, *values) == "canonical")
        return value
    name = op.NAMES[code].split(".")[1]
    if code in N.NAN_OPEN:  # a NaN operand makes the result a NaN
        return _OpenNaN(width, all(_is_canonical(v, WIDTH[vt]) for v, vt in zip(values, params)
                                   if isinstance(v, _OpenNaN) or N.is_nan(v, WIDTH[vt])))
    if name == "abs":
        return _OpenNaN(width, values[0].canonical, 0)
    if name == "neg":
        a = values[0]
        return _OpenNaN(width, a.canonical, None if a.sign is None else 1 - a.sign)
    if name == "copysign":
        a, b = values
        sign = b.sign if isinstance(b, _OpenNaN) else b >> (width - 1)
        if isinstance(a, _OpenNaN):
            return _OpenNaN(width, a.canonical, sign)
        return UNKNOWN if sign is None else N.evaluate(code, a, sign << (width - 1))
    if name.startswith("reinterpret"):
        return UNKNOWN
    # comparisons and truncations: every NaN gives the same result
    return N.evaluate(code, *[v.representative() if isinstance(v, _OpenNaN) else v for v in values])


def _signalling(bits, width) -> bool:
    return not isinstance(bits, tuple) and N.is_nan(bits, width) and \
        not N.is_arithmetic_nan(bits, width)


@st.composite
def _tree(draw, vt, depth):
    """("param", vt, bits) | ("const", vt, bits) | (code, children)."""
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return (draw(st.sampled_from(["param", "const"])), vt, draw(OPERAND[vt]))
    code = draw(st.sampled_from(BY_RESULT[vt]))
    return code, [draw(_tree(p, depth - 1)) for p in N.SIGNATURES[code][0]]


def _compile_tree(tree, params: list):
    """(WAT of the tree, reference value or trap); params collects (type, bits) of parameters."""
    if tree[0] in ("param", "const"):
        kind, vt, bits = tree
        if kind == "const":
            return _const(vt, bits), bits
        params.append((vt, bits))
        return _param(vt, len(params) - 1), bits
    code, children = tree
    texts, values = [], []
    for child in children:
        text, value = _compile_tree(child, params)
        texts.append(text)
        values.append(value)
    trap = next((v for v in values if isinstance(v, tuple)), None)  # operands run in order
    if trap is None:
        try:
            trap = _apply(code, values)
        except wasmcore.Trap as error:
            trap = ("trap", error.trap_code, error.message)
    return f"({op.NAMES[code]} {' '.join(texts)})", trap


_TYPES = st.sampled_from(list(WIDTH))


@PROFILE
@given(trees=st.lists(_TYPES.flatmap(lambda vt: _tree(vt, 4)), min_size=6, max_size=12))
def test_random_expressions(backend, trees):
    functions, checks = [], []
    for k, tree in enumerate(trees):
        params: list = []
        text, want = _compile_tree(tree, params)
        result = tree[1] if tree[0] in ("param", "const") else N.SIGNATURES[tree[0]][1]
        functions.append(_function(f"t{k}", [vt for vt, _ in params], result, text))
        checks.append((f"t{k}", params, result, want, text))
    store, exports = _instantiate(backend, functions)
    failures = []
    for name, params, result, want, text in checks:
        got = _call(store, exports[name], [vt for vt, _ in params], result, [b for _, b in params])
        if want is UNKNOWN:
            event("not compared: an open NaN payload reached a reinterpret or copysign")
            continue
        if isinstance(want, _OpenNaN):
            ok = not isinstance(got, tuple) and want.admits(got)
            if not ok and backend == "llvm" and _signalling(got, want.width):
                event("llvm: known deviation, a signalling NaN stays signalling (see below)")
                continue
        else:
            ok = got == want
        if not ok:
            shown = want if isinstance(want, tuple) else (
                f"a {'canonical' if want.canonical else 'arithmetic'} NaN"
                if isinstance(want, _OpenNaN) else hex(want))
            failures.append(f"{text} with params {[hex(b) for _, b in params]}: "
                            f"got {got if isinstance(got, tuple) else hex(got)}, expected {shown}")
    assert not failures, f"{len(failures)} disagreements:\n" + "\n".join(failures[:10])


def test_float_constants_spell_their_bits():
    """The trees' float constants: the text parser reads back every edge's exact bits."""
    from wasmcore.text import parse_module

    for vt in FLOATS:
        values = _neighbours(EDGES[vt], WIDTH[vt])
        body = " ".join(f"{_const(vt, bits)} drop" for bits in values)
        module = parse_module(f"(module (func {body}))")
        constants = [ins[1] for ins in module.functions[0].body if ins[0] in (op.F32_CONST, op.F64_CONST)]
        assert constants == values


# x + -0.0, x - 0.0, x * 1.0, x / 1.0 (and x * -1.0) must still quiet a signalling NaN x. The
# llvm backend hides direct f32.const/f64.const identities from LLVM's optimizer, but not an
# identity it can only fold to: a local holding the constant, a reinterpreted integer
# constant, ceil/floor/neg/abs/sqrt/copysign of constants, an integer constant converted.
_FOLDED_IDENTITIES = [
    "(local.set 1 (f64.const 1)) (f64.mul (local.get 0) (local.get 1))",
    "(f64.mul (local.get 0) (f64.reinterpret_i64 (i64.const 0x3ff0000000000000)))",
    "(f64.add (local.get 0) (f64.ceil (f64.const -0x0p+0)))",
    "(f64.add (local.get 0) (f64.neg (f64.const 0x0p+0)))",
    "(f64.mul (local.get 0) (f64.abs (f64.const -0x1p+0)))",
    "(f64.add (local.get 0) (f64.sqrt (f64.const -0x0p+0)))",
    "(f64.mul (local.get 0) (f64.convert_i32_s (i32.const 1)))",
    "(f64.div (local.get 0) (f64.copysign (f64.const 0x1p+0) (f64.const 0x1p+0)))",
]


def test_signalling_nan_through_folded_identity(backend, request):
    if backend == "llvm":
        request.applymarker(pytest.mark.xfail(strict=True, reason=(
            "jit_llvm: LLVM folds x+-0 / x*1 / x/1 to x when the identity is a folded "
            "constant expression, so a signalling NaN is returned unquieted")))
    functions = [f'(func (export "f{k}") (param i64) (result i64) (local f64) (i64.reinterpret_f64 '
                 f'(block (result f64) {body.replace("(local.get 0)", "(f64.reinterpret_i64 (local.get 0))")})))'
                 for k, body in enumerate(_FOLDED_IDENTITIES)]
    store, exports = _instantiate(backend, functions)
    signalling = 0x7FF0000000000001
    results = {body: exports[f"f{k}"](store, signalling) & N.M64
               for k, body in enumerate(_FOLDED_IDENTITIES)}
    wrong = {body: hex(bits) for body, bits in results.items() if not N.is_arithmetic_nan(bits, 64)}
    assert not wrong, wrong
