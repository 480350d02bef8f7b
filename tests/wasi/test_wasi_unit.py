"""WASI preview 1 host functions called directly with a fake caller."""

from __future__ import annotations

import os
import struct

import pytest

from wasmcore.wasi import WASI_CONTEXT, DirPerms, FilePerms, WasiConfig
from wasmcore.errors import ExitTrap
from wasmcore_wasi_p1 import _errno as E
from wasmcore_wasi_p1 import host_module

from ._fake import Guest

READ, WRITE = (1 << 1) | (1 << 2) | (1 << 5) | (1 << 21), 1 << 6
CREAT, DIRECTORY, EXCL, TRUNC = 1, 2, 4, 8


@pytest.fixture
def sandbox(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "hello.txt").write_bytes(b"hello world")
    (root / "sub").mkdir()
    (root / "sub" / "inner.txt").write_bytes(b"inner")
    (tmp_path / "secret.txt").write_bytes(b"secret")
    cfg = WasiConfig()
    cfg.preopen_dir(str(root), "/sandbox")
    return Guest(cfg), root, tmp_path


def test_errno_numbers():
    assert (E.SUCCESS, E.TOOBIG, E.BADF, E.FAULT, E.INVAL, E.NOENT, E.NOSYS, E.NOTDIR,
            E.PERM, E.SPIPE, E.NOTCAPABLE) == (0, 1, 8, 21, 28, 44, 52, 54, 63, 70, 76)


def test_every_function_registered():
    names = set(host_module().functions())
    assert len(names) == 46
    assert {"path_open", "fd_write", "poll_oneoff", "sock_shutdown", "proc_exit"} <= names
    for host in host_module().functions().values():
        assert host.convention == "bits" and host.access_caller


def test_args_and_environ():
    cfg = WasiConfig()
    cfg.argv = ["prog", "a b", "é"]
    cfg.env = [("A", "1"), ("B", "x=y")]
    g = Guest(cfg)
    count, size = g.alloc(4), g.alloc(4)
    assert g.call("args_sizes_get", count, size) == 0
    argc, argv_size = g.u32(count), g.u32(size)
    assert argc == 3 and argv_size == len(b"prog\0a b\0\xc3\xa9\0")
    ptrs, buf = g.alloc(4 * argc), g.alloc(argv_size)
    assert g.call("args_get", ptrs, buf) == 0
    assert [g.u32(ptrs + 4 * i) for i in range(3)] == [buf, buf + 5, buf + 9]
    assert g.get(buf, argv_size) == b"prog\0a b\0\xc3\xa9\0"
    assert g.call("environ_sizes_get", count, size) == 0
    assert (g.u32(count), g.u32(size)) == (2, len(b"A=1\0B=x=y\0"))
    assert g.call("environ_get", ptrs, buf) == 0
    assert g.get(buf, 10) == b"A=1\0B=x=y\0"


def test_out_of_bounds_pointers_fault():
    g = Guest()
    assert g.call("args_sizes_get", 65536 - 2, 0) == E.FAULT
    assert g.call("random_get", 65530, 100) == E.FAULT
    assert g.call("clock_time_get", 0, 0, 0xFFFFFFFF) == E.FAULT
    iovs, n = g.iov((65000, 1000))
    assert g.call("fd_write", 1, iovs, n, g.alloc(4)) == E.FAULT


def test_fd_write_capture_and_discard():
    cfg = WasiConfig()
    cfg.capture_stdout()
    cfg.capture_stderr()
    g = Guest(cfg)
    assert g.write(1, b"out\n") == (0, 4)
    assert g.write(2, b"err") == (0, 3)
    a, b = g.put(b"ab"), g.put(b"cd")
    iovs, n = g.iov(a, b)
    out = g.alloc(4)
    assert g.call("fd_write", 1, iovs, n, out) == 0 and g.u32(out) == 4
    assert cfg.stdout_captured == b"out\nabcd"
    assert cfg.stderr_captured == b"err"
    assert g.write(9, b"x")[0] == E.BADF
    assert g.write(0, b"x")[0] == E.BADF
    # default: discarded, stdin empty
    d = Guest()
    assert d.write(1, b"gone") == (0, 4)
    assert d.read(0, 10) == (0, b"")


def test_stdin_bytes():
    cfg = WasiConfig()
    cfg.stdin_bytes = b"input data"
    g = Guest(cfg)
    assert g.read(0, 5) == (0, b"input")
    assert g.read(0, 100) == (0, b" data")
    assert g.read(0, 100) == (0, b"")


def test_stdio_seek_is_spipe_and_fdstat():
    g = Guest()
    assert g.call("fd_seek", 1, 0, 0, g.alloc(8)) == E.SPIPE
    st = g.alloc(24)
    assert g.call("fd_fdstat_get", 1, st) == 0
    assert g.get(st, 1) == bytes([2])  # character device


def test_prestat(sandbox):
    g, root, _ = sandbox
    pre = g.alloc(8)
    assert g.call("fd_prestat_get", 3, pre) == 0
    assert struct.unpack_from("<BxxxI", g.mem.data, pre) == (0, len("/sandbox"))
    name = g.alloc(16)
    assert g.call("fd_prestat_dir_name", 3, name, 8) == 0
    assert g.get(name, 8) == b"/sandbox"
    assert g.call("fd_prestat_dir_name", 3, name, 3) == E.NAMETOOLONG
    assert g.call("fd_prestat_get", 4, pre) == E.BADF
    assert g.call("fd_prestat_get", 1, pre) == E.BADF


def test_path_open_read_seek_filestat(sandbox):
    g, root, _ = sandbox
    err, fd = g.open(3, "hello.txt")
    assert err == 0 and fd == 4
    assert g.read(fd, 5) == (0, b"hello")
    off = g.alloc(8)
    assert g.call("fd_seek", fd, (-5) & (2**64 - 1), 2, off) == 0 and g.u64(off) == 6
    assert g.read(fd, 100) == (0, b"world")
    assert g.call("fd_tell", fd, off) == 0 and g.u64(off) == 11
    st = g.alloc(64)
    assert g.call("fd_filestat_get", fd, st) == 0
    filetype = g.get(st + 16, 1)[0]
    assert filetype == 4 and g.u64(st + 32) == 11
    assert g.write(fd, b"nope")[0] == E.BADF  # opened read-only
    assert g.call("fd_close", fd) == 0
    assert g.call("fd_close", fd) == E.BADF
    assert g.open(3, "sub/inner.txt")[0] == 0
    assert g.open(3, "missing")[0] == E.NOENT
    assert g.open(3, "hello.txt", oflags=DIRECTORY)[0] == E.NOTDIR
    assert g.open(3, "sub/./../hello.txt")[0] == 0


def test_create_write_and_readdir(sandbox):
    g, root, _ = sandbox
    err, fd = g.open(3, "new.txt", oflags=CREAT | EXCL, rights=READ | WRITE)
    assert err == 0
    assert g.write(fd, b"abc") == (0, 3)
    assert (root / "new.txt").read_bytes() == b"abc"
    assert g.open(3, "new.txt", oflags=CREAT | EXCL, rights=WRITE)[0] == E.EXIST
    assert g.path_call("path_create_directory", 3, "d") == 0
    assert (root / "d").is_dir()
    err, dfd = g.open(3, ".", oflags=DIRECTORY)
    assert err == 0
    buf, used = g.alloc(4096), g.alloc(4)
    assert g.call("fd_readdir", dfd, buf, 4096, 0, used) == 0
    raw, names, pos = g.get(buf, g.u32(used)), set(), 0
    while pos + 24 <= len(raw):
        _, _, namlen, _ = struct.unpack_from("<QQIB", raw, pos)
        names.add(raw[pos + 24:pos + 24 + namlen].decode())
        pos += 24 + namlen
    assert {"hello.txt", "sub", "new.txt", "d", ".", ".."} <= names
    assert g.path_call("path_unlink_file", 3, "new.txt") == 0
    assert g.path_call("path_remove_directory", 3, "d") == 0
    assert not (root / "d").exists() and not (root / "new.txt").exists()


@pytest.mark.parametrize("path", ["../secret.txt", "/etc/passwd", "sub/../../secret.txt",
                                  "..", "sub/../..", "/"])
def test_hostile_paths_rejected(sandbox, path):
    g, _, _ = sandbox
    assert g.open(3, path)[0] == E.NOTCAPABLE
    st = g.alloc(64)
    p, n = g.put(path.encode())
    assert g.call("path_filestat_get", 3, 1, p, n, st) == E.NOTCAPABLE


def test_host_symlinks_out_of_sandbox(sandbox):
    g, root, tmp = sandbox
    os.symlink("/", root / "to_root")
    os.symlink("../secret.txt", root / "escape")
    os.symlink(str(tmp / "secret.txt"), root / "abs_escape")
    os.symlink("hello.txt", root / "ok_link")
    os.symlink("sub", root / "sub_link")
    assert g.open(3, "to_root/etc/passwd")[0] == E.NOTCAPABLE
    assert g.open(3, "to_root", oflags=DIRECTORY)[0] == E.NOTCAPABLE
    assert g.open(3, "escape")[0] == E.NOTCAPABLE
    assert g.open(3, "abs_escape")[0] == E.NOTCAPABLE
    err, fd = g.open(3, "ok_link")
    assert err == 0 and g.read(fd, 5) == (0, b"hello")
    err, fd = g.open(3, "sub_link/inner.txt")
    assert err == 0 and g.read(fd, 5) == (0, b"inner")
    # without symlink_follow the final symlink is not opened
    assert g.open(3, "escape", lookup=0)[0] == E.LOOP
    # readlink just reports the text
    buf, used = g.alloc(64), g.alloc(4)
    p, n = g.put(b"escape")
    assert g.call("path_readlink", 3, p, n, buf, 64, used) == 0
    assert g.get(buf, g.u32(used)) == b"../secret.txt"


def test_symlink_loop(sandbox):
    g, root, _ = sandbox
    os.symlink("loop2", root / "loop1")
    os.symlink("loop1", root / "loop2")
    assert g.open(3, "loop1")[0] == E.LOOP


def test_guest_created_symlinks(sandbox):
    g, root, tmp = sandbox
    t, tn = g.put(b"/etc/passwd")
    p, n = g.put(b"abs")
    assert g.call("path_symlink", t, tn, 3, p, n) == E.NOTCAPABLE
    t, tn = g.put(b"../secret.txt")
    p, n = g.put(b"rel_escape")
    assert g.call("path_symlink", t, tn, 3, p, n) == 0
    assert os.readlink(root / "rel_escape") == "../secret.txt"
    assert g.open(3, "rel_escape")[0] == E.NOTCAPABLE
    t, tn = g.put(b"sub/../../../")
    p, n = g.put(b"dir_escape")
    assert g.call("path_symlink", t, tn, 3, p, n) == 0
    assert g.open(3, "dir_escape/secret.txt")[0] == E.NOTCAPABLE
    t, tn = g.put(b"hello.txt")
    p, n = g.put(b"good")
    assert g.call("path_symlink", t, tn, 3, p, n) == 0
    err, fd = g.open(3, "good")
    assert err == 0 and g.read(fd, 11) == (0, b"hello world")


def test_rename_link_escape(sandbox):
    g, root, tmp = sandbox
    a, an = g.put(b"hello.txt")
    b, bn = g.put(b"../stolen.txt")
    assert g.call("path_rename", 3, a, an, 3, b, bn) == E.NOTCAPABLE
    assert g.call("path_link", 3, 0, a, an, 3, b, bn) == E.NOTCAPABLE
    assert not (tmp / "stolen.txt").exists()
    c, cn = g.put(b"moved.txt")
    assert g.call("path_rename", 3, a, an, 3, c, cn) == 0
    assert (root / "moved.txt").read_bytes() == b"hello world"


def test_read_only_preopen(tmp_path):
    (tmp_path / "f").write_bytes(b"data")
    cfg = WasiConfig()
    cfg.preopen_dir(str(tmp_path), ".", DirPerms.READ_ONLY, FilePerms.READ_ONLY)
    g = Guest(cfg)
    assert g.open(3, "f")[0] == 0
    assert g.open(3, "f", rights=WRITE)[0] == E.PERM
    assert g.open(3, "g", oflags=CREAT, rights=READ)[0] == E.PERM
    assert g.path_call("path_create_directory", 3, "d") == E.PERM
    assert g.path_call("path_unlink_file", 3, "f") == E.PERM
    assert (tmp_path / "f").exists()


def test_proc_exit_clock_random_poll():
    g = Guest()
    with pytest.raises(ExitTrap) as info:
        g.call("proc_exit", 7)
    assert info.value.code == 7
    t = g.alloc(8)
    assert g.call("clock_time_get", 1, 0, t) == 0 and g.u64(t) > 0
    assert g.call("clock_res_get", 0, t) == 0 and g.u64(t) > 0
    assert g.call("clock_time_get", 9, 0, t) == E.INVAL
    buf = g.alloc(32)
    assert g.call("random_get", buf, 32) == 0
    assert g.call("sched_yield") == 0
    # poll_oneoff: one relative clock subscription of 1ms
    sub, ev, nev = g.alloc(48), g.alloc(32), g.alloc(4)
    struct.pack_into("<QB7xIxxxxQQH6x", g.mem.data, sub, 42, 0, 1, 1_000_000, 0, 0)
    assert g.call("poll_oneoff", sub, ev, 1, nev) == 0
    assert g.u32(nev) == 1 and g.u64(ev) == 42


def test_sockets_and_renumber():
    g = Guest()
    assert g.call("sock_shutdown", 1, 0) == E.NOTSOCK
    assert g.call("sock_shutdown", 99, 0) == E.BADF
    assert g.call("fd_renumber", 1, 2) == 0
    assert g.call("fd_renumber", 1, 2) == E.BADF


def test_context_is_per_store_and_reset_by_set_wasi():
    from wasmcore import Engine, Store
    store = Store(Engine())
    cfg = WasiConfig()
    store.set_wasi(cfg)
    store.stash[WASI_CONTEXT] = object()
    store.set_wasi(WasiConfig())
    assert WASI_CONTEXT not in store.stash
    with pytest.raises(TypeError):
        store.set_wasi(object())
