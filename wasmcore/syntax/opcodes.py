"""Every instruction's opcode, text name and immediate layout: the one table the decoder,
encoder, text parser, validator and backends share.

Opcode numbering: single-byte opcodes are their byte; prefixed ones are `prefix << 16 | sub`
(0xFC "misc" and 0xFD "SIMD"), so e.g. `memory.copy` is 0xFC000A and `v128.load` is 0xFD0000.
https://webassembly.github.io/spec/core/binary/instructions.html

Immediate kinds and the instruction tuple they produce (after the opcode):
  none          ()
  blocktype     (blocktype,)               s33 as in types.BLOCKTYPE_EMPTY
  label         (labelidx,)
  br_table      (tuple[labelidx], default)
  func          (funcidx,)
  call_indirect (typeidx, tableidx)
  local         (localidx,)
  global        (globalidx,)
  table         (tableidx,)
  memarg        (align_log2, offset, memidx)
  memory        (memidx,)
  i32 / i64     (signed value,)
  f32 / f64     (raw bits,)
  reftype       (ValueType,)
  select_t      (tuple[ValueType],)
  memory_init   (dataidx, memidx)
  data          (dataidx,)
  memory_copy   (dst memidx, src memidx)
  table_init    (elemidx, tableidx)
  elem          (elemidx,)
  table_copy    (dst tableidx, src tableidx)
  v128          (unsigned 128-bit little-endian value,)
  shuffle       (tuple of 16 lane indices,)
  lane          (lane index,)
  memarg_lane   (align_log2, offset, memidx, lane)
"""

from __future__ import annotations

MISC_PREFIX = 0xFC
SIMD_PREFIX = 0xFD


def misc(sub: int) -> int:
    return MISC_PREFIX << 16 | sub


def simd(sub: int) -> int:
    return SIMD_PREFIX << 16 | sub


_PLAIN = """
00 unreachable
01 nop
02 block blocktype
03 loop blocktype
04 if blocktype
05 else
0b end
0c br label
0d br_if label
0e br_table br_table
0f return
10 call func
11 call_indirect call_indirect
12 return_call func
13 return_call_indirect call_indirect
1a drop
1b select
1c select select_t
20 local.get local
21 local.set local
22 local.tee local
23 global.get global
24 global.set global
25 table.get table
26 table.set table
28 i32.load memarg
29 i64.load memarg
2a f32.load memarg
2b f64.load memarg
2c i32.load8_s memarg
2d i32.load8_u memarg
2e i32.load16_s memarg
2f i32.load16_u memarg
30 i64.load8_s memarg
31 i64.load8_u memarg
32 i64.load16_s memarg
33 i64.load16_u memarg
34 i64.load32_s memarg
35 i64.load32_u memarg
36 i32.store memarg
37 i64.store memarg
38 f32.store memarg
39 f64.store memarg
3a i32.store8 memarg
3b i32.store16 memarg
3c i64.store8 memarg
3d i64.store16 memarg
3e i64.store32 memarg
3f memory.size memory
40 memory.grow memory
41 i32.const i32
42 i64.const i64
43 f32.const f32
44 f64.const f64
45 i32.eqz
46 i32.eq
47 i32.ne
48 i32.lt_s
49 i32.lt_u
4a i32.gt_s
4b i32.gt_u
4c i32.le_s
4d i32.le_u
4e i32.ge_s
4f i32.ge_u
50 i64.eqz
51 i64.eq
52 i64.ne
53 i64.lt_s
54 i64.lt_u
55 i64.gt_s
56 i64.gt_u
57 i64.le_s
58 i64.le_u
59 i64.ge_s
5a i64.ge_u
5b f32.eq
5c f32.ne
5d f32.lt
5e f32.gt
5f f32.le
60 f32.ge
61 f64.eq
62 f64.ne
63 f64.lt
64 f64.gt
65 f64.le
66 f64.ge
67 i32.clz
68 i32.ctz
69 i32.popcnt
6a i32.add
6b i32.sub
6c i32.mul
6d i32.div_s
6e i32.div_u
6f i32.rem_s
70 i32.rem_u
71 i32.and
72 i32.or
73 i32.xor
74 i32.shl
75 i32.shr_s
76 i32.shr_u
77 i32.rotl
78 i32.rotr
79 i64.clz
7a i64.ctz
7b i64.popcnt
7c i64.add
7d i64.sub
7e i64.mul
7f i64.div_s
80 i64.div_u
81 i64.rem_s
82 i64.rem_u
83 i64.and
84 i64.or
85 i64.xor
86 i64.shl
87 i64.shr_s
88 i64.shr_u
89 i64.rotl
8a i64.rotr
8b f32.abs
8c f32.neg
8d f32.ceil
8e f32.floor
8f f32.trunc
90 f32.nearest
91 f32.sqrt
92 f32.add
93 f32.sub
94 f32.mul
95 f32.div
96 f32.min
97 f32.max
98 f32.copysign
99 f64.abs
9a f64.neg
9b f64.ceil
9c f64.floor
9d f64.trunc
9e f64.nearest
9f f64.sqrt
a0 f64.add
a1 f64.sub
a2 f64.mul
a3 f64.div
a4 f64.min
a5 f64.max
a6 f64.copysign
a7 i32.wrap_i64
a8 i32.trunc_f32_s
a9 i32.trunc_f32_u
aa i32.trunc_f64_s
ab i32.trunc_f64_u
ac i64.extend_i32_s
ad i64.extend_i32_u
ae i64.trunc_f32_s
af i64.trunc_f32_u
b0 i64.trunc_f64_s
b1 i64.trunc_f64_u
b2 f32.convert_i32_s
b3 f32.convert_i32_u
b4 f32.convert_i64_s
b5 f32.convert_i64_u
b6 f32.demote_f64
b7 f64.convert_i32_s
b8 f64.convert_i32_u
b9 f64.convert_i64_s
ba f64.convert_i64_u
bb f64.promote_f32
bc i32.reinterpret_f32
bd i64.reinterpret_f64
be f32.reinterpret_i32
bf f64.reinterpret_i64
c0 i32.extend8_s
c1 i32.extend16_s
c2 i64.extend8_s
c3 i64.extend16_s
c4 i64.extend32_s
d0 ref.null reftype
d1 ref.is_null
d2 ref.func func
"""

_MISC = """
00 i32.trunc_sat_f32_s
01 i32.trunc_sat_f32_u
02 i32.trunc_sat_f64_s
03 i32.trunc_sat_f64_u
04 i64.trunc_sat_f32_s
05 i64.trunc_sat_f32_u
06 i64.trunc_sat_f64_s
07 i64.trunc_sat_f64_u
08 memory.init memory_init
09 data.drop data
0a memory.copy memory_copy
0b memory.fill memory
0c table.init table_init
0d elem.drop elem
0e table.copy table_copy
0f table.grow table
10 table.size table
11 table.fill table
"""

_SIMD = """
00 v128.load memarg
01 v128.load8x8_s memarg
02 v128.load8x8_u memarg
03 v128.load16x4_s memarg
04 v128.load16x4_u memarg
05 v128.load32x2_s memarg
06 v128.load32x2_u memarg
07 v128.load8_splat memarg
08 v128.load16_splat memarg
09 v128.load32_splat memarg
0a v128.load64_splat memarg
0b v128.store memarg
0c v128.const v128
0d i8x16.shuffle shuffle
0e i8x16.swizzle
0f i8x16.splat
10 i16x8.splat
11 i32x4.splat
12 i64x2.splat
13 f32x4.splat
14 f64x2.splat
15 i8x16.extract_lane_s lane
16 i8x16.extract_lane_u lane
17 i8x16.replace_lane lane
18 i16x8.extract_lane_s lane
19 i16x8.extract_lane_u lane
1a i16x8.replace_lane lane
1b i32x4.extract_lane lane
1c i32x4.replace_lane lane
1d i64x2.extract_lane lane
1e i64x2.replace_lane lane
1f f32x4.extract_lane lane
20 f32x4.replace_lane lane
21 f64x2.extract_lane lane
22 f64x2.replace_lane lane
23 i8x16.eq
24 i8x16.ne
25 i8x16.lt_s
26 i8x16.lt_u
27 i8x16.gt_s
28 i8x16.gt_u
29 i8x16.le_s
2a i8x16.le_u
2b i8x16.ge_s
2c i8x16.ge_u
2d i16x8.eq
2e i16x8.ne
2f i16x8.lt_s
30 i16x8.lt_u
31 i16x8.gt_s
32 i16x8.gt_u
33 i16x8.le_s
34 i16x8.le_u
35 i16x8.ge_s
36 i16x8.ge_u
37 i32x4.eq
38 i32x4.ne
39 i32x4.lt_s
3a i32x4.lt_u
3b i32x4.gt_s
3c i32x4.gt_u
3d i32x4.le_s
3e i32x4.le_u
3f i32x4.ge_s
40 i32x4.ge_u
41 f32x4.eq
42 f32x4.ne
43 f32x4.lt
44 f32x4.gt
45 f32x4.le
46 f32x4.ge
47 f64x2.eq
48 f64x2.ne
49 f64x2.lt
4a f64x2.gt
4b f64x2.le
4c f64x2.ge
4d v128.not
4e v128.and
4f v128.andnot
50 v128.or
51 v128.xor
52 v128.bitselect
53 v128.any_true
54 v128.load8_lane memarg_lane
55 v128.load16_lane memarg_lane
56 v128.load32_lane memarg_lane
57 v128.load64_lane memarg_lane
58 v128.store8_lane memarg_lane
59 v128.store16_lane memarg_lane
5a v128.store32_lane memarg_lane
5b v128.store64_lane memarg_lane
5c v128.load32_zero memarg
5d v128.load64_zero memarg
5e f32x4.demote_f64x2_zero
5f f64x2.promote_low_f32x4
60 i8x16.abs
61 i8x16.neg
62 i8x16.popcnt
63 i8x16.all_true
64 i8x16.bitmask
65 i8x16.narrow_i16x8_s
66 i8x16.narrow_i16x8_u
67 f32x4.ceil
68 f32x4.floor
69 f32x4.trunc
6a f32x4.nearest
6b i8x16.shl
6c i8x16.shr_s
6d i8x16.shr_u
6e i8x16.add
6f i8x16.add_sat_s
70 i8x16.add_sat_u
71 i8x16.sub
72 i8x16.sub_sat_s
73 i8x16.sub_sat_u
74 f64x2.ceil
75 f64x2.floor
76 i8x16.min_s
77 i8x16.min_u
78 i8x16.max_s
79 i8x16.max_u
7a f64x2.trunc
7b i8x16.avgr_u
7c i16x8.extadd_pairwise_i8x16_s
7d i16x8.extadd_pairwise_i8x16_u
7e i32x4.extadd_pairwise_i16x8_s
7f i32x4.extadd_pairwise_i16x8_u
80 i16x8.abs
81 i16x8.neg
82 i16x8.q15mulr_sat_s
83 i16x8.all_true
84 i16x8.bitmask
85 i16x8.narrow_i32x4_s
86 i16x8.narrow_i32x4_u
87 i16x8.extend_low_i8x16_s
88 i16x8.extend_high_i8x16_s
89 i16x8.extend_low_i8x16_u
8a i16x8.extend_high_i8x16_u
8b i16x8.shl
8c i16x8.shr_s
8d i16x8.shr_u
8e i16x8.add
8f i16x8.add_sat_s
90 i16x8.add_sat_u
91 i16x8.sub
92 i16x8.sub_sat_s
93 i16x8.sub_sat_u
94 f64x2.nearest
95 i16x8.mul
96 i16x8.min_s
97 i16x8.min_u
98 i16x8.max_s
99 i16x8.max_u
9b i16x8.avgr_u
9c i16x8.extmul_low_i8x16_s
9d i16x8.extmul_high_i8x16_s
9e i16x8.extmul_low_i8x16_u
9f i16x8.extmul_high_i8x16_u
a0 i32x4.abs
a1 i32x4.neg
a3 i32x4.all_true
a4 i32x4.bitmask
a7 i32x4.extend_low_i16x8_s
a8 i32x4.extend_high_i16x8_s
a9 i32x4.extend_low_i16x8_u
aa i32x4.extend_high_i16x8_u
ab i32x4.shl
ac i32x4.shr_s
ad i32x4.shr_u
ae i32x4.add
b1 i32x4.sub
b5 i32x4.mul
b6 i32x4.min_s
b7 i32x4.min_u
b8 i32x4.max_s
b9 i32x4.max_u
ba i32x4.dot_i16x8_s
bc i32x4.extmul_low_i16x8_s
bd i32x4.extmul_high_i16x8_s
be i32x4.extmul_low_i16x8_u
bf i32x4.extmul_high_i16x8_u
c0 i64x2.abs
c1 i64x2.neg
c3 i64x2.all_true
c4 i64x2.bitmask
c7 i64x2.extend_low_i32x4_s
c8 i64x2.extend_high_i32x4_s
c9 i64x2.extend_low_i32x4_u
ca i64x2.extend_high_i32x4_u
cb i64x2.shl
cc i64x2.shr_s
cd i64x2.shr_u
ce i64x2.add
d1 i64x2.sub
d5 i64x2.mul
d6 i64x2.eq
d7 i64x2.ne
d8 i64x2.lt_s
d9 i64x2.gt_s
da i64x2.le_s
db i64x2.ge_s
dc i64x2.extmul_low_i32x4_s
dd i64x2.extmul_high_i32x4_s
de i64x2.extmul_low_i32x4_u
df i64x2.extmul_high_i32x4_u
e0 f32x4.abs
e1 f32x4.neg
e3 f32x4.sqrt
e4 f32x4.add
e5 f32x4.sub
e6 f32x4.mul
e7 f32x4.div
e8 f32x4.min
e9 f32x4.max
ea f32x4.pmin
eb f32x4.pmax
ec f64x2.abs
ed f64x2.neg
ef f64x2.sqrt
f0 f64x2.add
f1 f64x2.sub
f2 f64x2.mul
f3 f64x2.div
f4 f64x2.min
f5 f64x2.max
f6 f64x2.pmin
f7 f64x2.pmax
f8 i32x4.trunc_sat_f32x4_s
f9 i32x4.trunc_sat_f32x4_u
fa f32x4.convert_i32x4_s
fb f32x4.convert_i32x4_u
fc i32x4.trunc_sat_f64x2_s_zero
fd i32x4.trunc_sat_f64x2_u_zero
fe f64x2.convert_low_i32x4_s
ff f64x2.convert_low_i32x4_u
"""


def _parse(table: str, make_opcode) -> list[tuple[int, str, str]]:
    rows = []
    for line in table.strip().splitlines():
        code, name, *kind = line.split()
        rows.append((make_opcode(int(code, 16)), name, kind[0] if kind else "none"))
    return rows


_ROWS = (
    _parse(_PLAIN, lambda c: c)
    + _parse(_MISC, misc)
    + _parse(_SIMD, simd)
)

#: opcode -> text name, e.g. 0x6A -> "i32.add". The typed `select` (0x1C) is also "select".
NAMES: dict[int, str] = {code: name for code, name, _ in _ROWS}
#: opcode -> immediate kind (see the module docstring).
IMMEDIATES: dict[int, str] = {code: kind for code, _, kind in _ROWS}
#: text name -> opcode. "select" maps to the untyped 0x1B; the text parser picks 0x1C when a
#: result type follows.
BY_NAME: dict[str, int] = {}
for _code, _name, _ in _ROWS:
    BY_NAME.setdefault(_name, _code)
del _code, _name

#: Opcodes that exist only with a Wasm 3.0 proposal enabled (the validator gates them).
TAIL_CALL = frozenset({0x12, 0x13})


def _define_constants() -> dict[str, int]:
    """UPPER_SNAKE constants for every opcode: I32_ADD, MEMORY_COPY, V128_LOAD, SELECT_T..."""
    constants = {}
    for code, name, _ in _ROWS:
        constant = name.upper().replace(".", "_")
        if code == 0x1C:
            constant = "SELECT_T"
        constants[constant] = code
    return constants


globals().update(_define_constants())
