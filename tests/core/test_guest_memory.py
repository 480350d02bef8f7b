"""wasmcore.runtime.guest_memory: checked host access to a linear memory."""

from __future__ import annotations

import struct

import pytest

from wasmcore.errors import WasmcoreError
from wasmcore.runtime import PAGE_SIZE, MemoryInstance
from wasmcore.runtime.guest_memory import (GuestMemory, GuestMemoryError, InvalidStringError,
                                           OutOfBoundsError)
from wasmcore.syntax.types import Limits, MemoryType


@pytest.fixture
def memory():
    return MemoryInstance(MemoryType(Limits(1, 2)))


@pytest.fixture
def guest(memory):
    return GuestMemory(memory)


def test_bytes_round_trip_and_the_bytes_land_in_the_memory(guest, memory):
    guest.write(100, b"hello")
    assert guest.read(100, 5) == b"hello"
    assert bytes(memory.data[100:105]) == b"hello"
    assert type(guest.read(100, 5)) is bytes
    assert guest.read(100, 0) == b""


def test_scalars_are_little_endian_and_stores_keep_the_low_bits(guest, memory):
    guest.store_u64(8, 0x0102030405060708)
    assert bytes(memory.data[8:16]) == bytes([8, 7, 6, 5, 4, 3, 2, 1])
    assert guest.load_u8(8) == 0x08
    assert guest.load_u16(8) == 0x0708
    assert guest.load_u32(8) == 0x05060708
    assert guest.load_u64(8) == 0x0102030405060708
    guest.store_u32(0, -1)
    assert guest.load_u32(0) == 0xFFFF_FFFF
    guest.store_u16(0, 0x1_2345)
    assert guest.load_u16(0) == 0x2345
    guest.store_u8(0, 0x1FF)
    assert guest.load_u8(0) == 0xFF
    guest.store_u64(16, 1 << 64 | 7)
    assert guest.load_u64(16) == 7


def test_struct_pack_and_unpack(guest):
    layout = struct.Struct("<BxHI")
    guest.pack(40, layout, 1, 2, 3)
    assert guest.unpack(40, layout) == (1, 2, 3)
    assert guest.read(40, 8) == b"\x01\x00\x02\x00\x03\x00\x00\x00"


@pytest.mark.parametrize("access", [
    lambda g, size: g.read(size - 3, 4),
    lambda g, size: g.write(size - 3, b"abcd"),
    lambda g, size: g.load_u32(size - 3),
    lambda g, size: g.store_u32(size - 3, 0),
    lambda g, size: g.load_u64(size - 7),
    lambda g, size: g.load_u8(size),
    lambda g, size: g.store_u8(size, 0),
    lambda g, size: g.read(size + 1, 0),
    lambda g, size: g.read(-1, 1),
    lambda g, size: g.load_u16(-1),
    lambda g, size: g.read(0, -1),
    lambda g, size: g.unpack(size - 2, struct.Struct("<I")),
])
def test_out_of_bounds_at_the_edge(guest, access):
    with pytest.raises(OutOfBoundsError):
        access(guest, PAGE_SIZE)


def test_accesses_ending_exactly_at_the_edge_are_fine(guest):
    size = PAGE_SIZE
    guest.write(size - 4, b"abcd")
    assert guest.read(size - 4, 4) == b"abcd"
    assert guest.load_u32(size - 4) == int.from_bytes(b"abcd", "little")
    guest.store_u64(size - 8, 1)
    assert guest.load_u8(size - 1) == 0
    assert guest.read(size, 0) == b""
    guest.check(0, size)


def test_the_error_says_where_and_is_a_wasmcore_error(guest):
    with pytest.raises(OutOfBoundsError) as info:
        guest.read(PAGE_SIZE - 1, 2)
    error = info.value
    assert (error.pointer, error.length, error.size) == (PAGE_SIZE - 1, 2, PAGE_SIZE)
    assert isinstance(error, GuestMemoryError) and isinstance(error, WasmcoreError)
    assert "out of bounds" in str(error) and hex(PAGE_SIZE - 1) in str(error)


@pytest.mark.parametrize("pointer, length", [
    (0xFFFF_FFFF, 0xFFFF_FFFF),  # as u32 the end wraps to 0xFFFF_FFFE
    (0xFFFF_FFF0, 0x20),  # as u32 the end wraps to 0x10, inside the memory
    (1, 0xFFFF_FFFF_FFFF_FFFF),  # as u64 the end wraps to 0
])
def test_a_length_that_overflows_is_out_of_bounds(guest, pointer, length):
    with pytest.raises(OutOfBoundsError):
        guest.read(pointer, length)
    with pytest.raises(OutOfBoundsError):
        guest.read_string(pointer, length)


def test_a_range_in_a_list_that_overflows_is_out_of_bounds(guest):
    guest.pack(0, struct.Struct("<IIII"), 64, 4, 0xFFFF_FFF0, 0x20)
    with pytest.raises(OutOfBoundsError) as info:
        guest.ranges(0, 2)
    assert info.value.pointer == 0xFFFF_FFF0
    # a count whose byte size wraps in u32 arithmetic (0x2000_0001 * 8 = 2**32 + 8)
    with pytest.raises(OutOfBoundsError):
        guest.ranges(0, 0x2000_0001)


def test_growing_the_memory_extends_an_existing_view(guest, memory):
    with pytest.raises(OutOfBoundsError):
        guest.store_u32(PAGE_SIZE, 5)
    assert memory.grow(1) == 1
    guest.store_u32(PAGE_SIZE, 5)
    assert guest.load_u32(PAGE_SIZE) == 5 and guest.size == 2 * PAGE_SIZE


def test_strings_decode_utf8(guest):
    text = "héllo, wörld €𝄞"
    raw = text.encode()
    guest.write(200, raw)
    assert guest.read_string(200, len(raw)) == text
    assert guest.read_string(200, 0) == ""


@pytest.mark.parametrize("raw", [
    b"\xff",  # never valid
    b"ab\xe2\x82",  # truncated three-byte sequence
    b"\xc0\xaf",  # overlong "/"
    b"\xed\xa0\x80",  # an encoded surrogate
    b"\x80abc",  # a stray continuation byte
])
def test_invalid_utf8_is_refused(guest, raw):
    guest.write(300, raw)
    with pytest.raises(InvalidStringError) as info:
        guest.read_string(300, len(raw))
    assert (info.value.pointer, info.value.length) == (300, len(raw))
    assert isinstance(info.value, GuestMemoryError)


def test_ranges_gather_and_scatter(guest):
    guest.write(1000, b"abc")
    guest.write(2000, b"defg")
    guest.pack(0, struct.Struct("<IIIIII"), 1000, 3, 3000, 0, 2000, 4)
    ranges = guest.ranges(0, 3)
    assert ranges == [(1000, 3), (3000, 0), (2000, 4)]
    assert guest.gather(ranges) == b"abcdefg"
    assert guest.gather(ranges[:1]) == b"abc"
    assert guest.gather([]) == b""
    # a payload shorter than the ranges fills them in order
    assert guest.scatter(ranges, b"XYZUV") == 5
    assert guest.read(1000, 3) == b"XYZ" and guest.read(2000, 4) == b"UVfg"
    # a longer one is cut at the ranges' total
    assert guest.scatter(ranges, b"0123456789") == 7
    assert guest.read(1000, 3) == b"012" and guest.read(2000, 4) == b"3456"
    assert guest.scatter(ranges, b"") == 0
    assert guest.ranges(0, 0) == []


def test_a_range_list_at_the_edge(guest):
    guest.pack(PAGE_SIZE - 8, struct.Struct("<II"), 0, 1)
    assert guest.ranges(PAGE_SIZE - 8, 1) == [(0, 1)]
    with pytest.raises(OutOfBoundsError):
        guest.ranges(PAGE_SIZE - 8, 2)
    guest.pack(PAGE_SIZE - 8, struct.Struct("<II"), PAGE_SIZE - 1, 2)
    with pytest.raises(OutOfBoundsError):
        guest.ranges(PAGE_SIZE - 8, 1)
