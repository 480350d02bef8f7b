"""The core WASI sandbox (wasmcore.wasi): path resolution inside a directory descriptor, the
preopen permissions, the descriptor table and the per-store context, and how preview 1 maps
the core's errors to its errnos."""

from __future__ import annotations

import os

import pytest

from wasmcore.errors import WasmcoreError
from wasmcore.wasi import (WASI_CONTEXT, DirPerms, ErrorKind, FilePerms, SandboxError,
                           WasiConfig, WasiContext, context_of_store)
from wasmcore.wasi.descriptors import DIRECTORY, FILE, STDIO, Descriptor, DescriptorTable
from wasmcore.wasi.sandbox import (MAX_NAME_LENGTH, MAX_PATH_LENGTH, MAX_SYMLINKS,
                                   check_symlink_target, require_directory_write,
                                   require_file_write, resolve)
from wasmcore_wasi_p1 import _errno as E
from wasmcore_wasi_p1._errno import from_kind

from ._fake import Guest


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def tree(tmp_path):
    """root/{hello.txt, sub/inner.txt} with secret.txt beside root; yields root's host fd."""
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "hello.txt").write_bytes(b"hello")
    (root / "sub" / "inner.txt").write_bytes(b"inner")
    (tmp_path / "secret.txt").write_bytes(b"secret")
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    yield root, fd
    os.close(fd)


def refused(root_fd: int, path: str, follow: bool = True) -> ErrorKind:
    before = _open_fds()
    with pytest.raises(SandboxError) as info:
        resolve(root_fd, path, follow)
    assert _open_fds() == before, "a failed resolution leaked directory fds"
    return info.value.kind


def name_in(resolved) -> tuple[bytes, str]:
    """What `resolved` points at: the contents of (parent, name) and the name."""
    fd = os.open(resolved.name, os.O_RDONLY, dir_fd=resolved.parent)
    try:
        return os.read(fd, 100), resolved.name
    finally:
        os.close(fd)


# --- escape attempts ----------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["../x", "..", "../secret.txt", "sub/../../secret.txt",
                                  "sub/../..", "./../root/hello.txt", "sub/./../../root"])
def test_dot_dot_above_the_directory_is_not_capable(tree, path):
    _, fd = tree
    assert refused(fd, path) == ErrorKind.NOT_CAPABLE


@pytest.mark.parametrize("path", ["/etc/passwd", "/", "//hello.txt"])
def test_absolute_paths_are_not_capable(tree, path):
    _, fd = tree
    assert refused(fd, path) == ErrorKind.NOT_CAPABLE


def test_the_starting_directory_is_the_root_not_the_preopen(tree):
    root, fd = tree
    sub_fd = os.open(root / "sub", os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert refused(sub_fd, "../hello.txt") == ErrorKind.NOT_CAPABLE
        with resolve(sub_fd, "inner.txt", True) as res:
            assert name_in(res) == (b"inner", "inner.txt")
    finally:
        os.close(sub_fd)


def test_a_symlink_to_the_host_root(tree):
    root, fd = tree
    os.symlink("/", root / "to_root")
    assert refused(fd, "to_root/etc/passwd") == ErrorKind.NOT_CAPABLE
    assert refused(fd, "to_root") == ErrorKind.NOT_CAPABLE
    assert refused(fd, "to_root/", follow=False) == ErrorKind.NOT_CAPABLE
    # not followed, the final symlink is the link itself (readlink, unlink may act on it)
    with resolve(fd, "to_root", False) as res:
        assert (res.parent, res.name) == (fd, "to_root")


def test_symlinks_pointing_out(tree):
    root, fd = tree
    os.symlink("../secret.txt", root / "escape")
    os.symlink(str(root.parent / "secret.txt"), root / "absolute")
    os.symlink("../../", root / "sub" / "up_two")
    os.symlink("sub/up_two", root / "indirect")
    for path in ("escape", "absolute", "sub/up_two/secret.txt", "indirect/secret.txt"):
        assert refused(fd, path) == ErrorKind.NOT_CAPABLE, path


def test_symlinks_that_stay_inside_are_followed(tree):
    root, fd = tree
    os.symlink("..", root / "sub" / "up")
    os.symlink("sub", root / "sub_link")
    os.symlink("hello.txt", root / "hello_link")
    with resolve(fd, "sub/up/hello.txt", True) as res:
        assert name_in(res) == (b"hello", "hello.txt")
    with resolve(fd, "sub_link/inner.txt", True) as res:
        assert name_in(res) == (b"inner", "inner.txt")
    with resolve(fd, "hello_link", True) as res:
        assert name_in(res) == (b"hello", "hello.txt")


def test_a_symlink_loop(tree):
    root, fd = tree
    os.symlink("loop2", root / "loop1")
    os.symlink("loop1", root / "loop2")
    os.symlink("self/x", root / "self")
    assert refused(fd, "loop1") == ErrorKind.LOOP
    assert refused(fd, "self") == ErrorKind.LOOP
    assert refused(fd, "loop1/x", follow=False) == ErrorKind.LOOP


def test_the_symlink_depth_limit(tree):
    root, fd = tree
    for length, name in ((MAX_SYMLINKS, "a"), (MAX_SYMLINKS + 1, "b")):
        for i in range(length):
            target = f"{name}{i + 1}" if i + 1 < length else "hello.txt"
            os.symlink(target, root / f"{name}{i}")
    with resolve(fd, "a0", True) as res:
        assert name_in(res) == (b"hello", "hello.txt")
    assert refused(fd, "b0") == ErrorKind.LOOP


def test_a_path_through_a_file(tree):
    root, fd = tree
    os.symlink("hello.txt", root / "file_link")
    assert refused(fd, "hello.txt/x") == ErrorKind.NOT_DIRECTORY
    assert refused(fd, "file_link/x") == ErrorKind.NOT_DIRECTORY
    # a trailing slash is left to the caller, as a demand for a directory
    with resolve(fd, "hello.txt/", False) as res:
        assert res.must_be_dir and res.name == "hello.txt"


def test_long_names(tree):
    _, fd = tree
    assert refused(fd, "a" * (MAX_NAME_LENGTH + 1)) == ErrorKind.NAME_TOO_LONG
    assert refused(fd, "sub/" + "b" * (MAX_NAME_LENGTH + 1) + "/x") == ErrorKind.NAME_TOO_LONG
    # the limit counts UTF-8 bytes: 128 two-byte characters are 256 bytes
    assert refused(fd, "é" * 128) == ErrorKind.NAME_TOO_LONG
    assert refused(fd, "a/" * (MAX_PATH_LENGTH // 2) + "a") == ErrorKind.NAME_TOO_LONG
    with resolve(fd, "c" * MAX_NAME_LENGTH, True) as res:  # missing, but a legal name
        assert res.name == "c" * MAX_NAME_LENGTH


def test_malformed_and_missing_paths(tree):
    _, fd = tree
    assert refused(fd, "hello\0.txt") == ErrorKind.INVALID
    assert refused(fd, "") == ErrorKind.NO_ENTRY
    assert refused(fd, "nope/x") == ErrorKind.NO_ENTRY
    with resolve(fd, "nope", True) as res:  # a final component may be created
        assert (res.parent, res.name, res.exists()) == (fd, "nope", False)


def test_resolution_results(tree):
    _, fd = tree
    for path in (".", "sub/..", "./sub/./..", "sub/../"):
        with resolve(fd, path, True) as res:
            assert (res.parent, res.name) == (fd, "."), path
    with resolve(fd, "sub/inner.txt", True) as res:
        assert res.parent != fd and res.owned == [res.parent]
        assert name_in(res) == (b"inner", "inner.txt") and res.exists()
    assert res.owned == []
    with resolve(fd, "sub/", True) as res:
        assert res.must_be_dir and res.slashed_name == "sub/"
    with resolve(fd, "sub", True) as res:
        assert not res.must_be_dir and res.slashed_name == "sub"


def test_guest_symlink_targets():
    with pytest.raises(SandboxError) as info:
        check_symlink_target("/etc/passwd")
    assert info.value.kind == ErrorKind.NOT_CAPABLE
    with pytest.raises(SandboxError) as info:
        check_symlink_target("a\0b")
    assert info.value.kind == ErrorKind.INVALID
    check_symlink_target("../anywhere")  # following it is what gets checked


# --- permissions --------------------------------------------------------------------------------

def test_preopen_permissions():
    read_only = Descriptor(DIRECTORY, dir_perms=DirPerms.READ_ONLY,
                           file_perms=FilePerms.READ_ONLY)
    for check in (require_directory_write, require_file_write):
        with pytest.raises(SandboxError) as info:
            check(read_only)
        assert info.value.kind == ErrorKind.NOT_PERMITTED
    writable = Descriptor(DIRECTORY, dir_perms=DirPerms.WRITE_ONLY,
                          file_perms=FilePerms.READ_WRITE)
    require_directory_write(writable)
    require_file_write(writable)


# --- descriptors and the per-store context --------------------------------------------------------

def test_descriptor_table(tmp_path):
    table = DescriptorTable(first_free=3)
    with pytest.raises(SandboxError) as info:
        table.get(0)
    assert info.value.kind == ErrorKind.BAD_DESCRIPTOR
    fds = [os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY) for _ in range(3)]
    first, second, third = (Descriptor(DIRECTORY, fd) for fd in fds)
    assert table.insert(first) == 3 and table.insert(second) == 4
    assert table.directory(3) is first
    table.place(7, Descriptor(FILE, None))
    with pytest.raises(SandboxError) as info:
        table.directory(7)
    assert info.value.kind == ErrorKind.NOT_DIRECTORY
    assert table.remove(3) is first and 3 not in table
    assert table.insert(third) == 3  # the lowest free number
    table.renumber(4, 3)  # closes what 3 held
    assert table.get(3) is second and 4 not in table and third.host_fd is None
    with pytest.raises(os.error):
        os.fstat(fds[2])
    with pytest.raises(SandboxError):
        table.renumber(4, 3)
    first.close()
    table.close_all()
    assert len(table) == 0 and second.host_fd is None


def test_context_stdio_and_preopens(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    config = WasiConfig()
    config.preopen_dir(tmp_path / "a", "/a")
    config.preopen_dir(tmp_path / "b", "/b", DirPerms.READ_ONLY, FilePerms.READ_ONLY)
    context = WasiContext(config)
    table = context.descriptors
    assert [table.get(n).kind for n in range(3)] == [STDIO] * 3
    assert table.get(0).readable and not table.get(0).writable and table.get(1).writable
    a, b = table.directory(3), table.directory(4)
    assert (a.preopen, a.dir_perms, a.file_perms) == ("/a", 3, 3)
    assert (b.preopen, b.dir_perms, b.file_perms) == ("/b", 1, 1)
    context.close_all()
    assert a.host_fd is None and len(table) == 0


def test_a_missing_preopen_is_a_host_error_without_leaks(tmp_path):
    config = WasiConfig()
    config.preopen_dir(tmp_path, "/ok")
    config.preopen_dir(tmp_path / "missing", "/missing")
    before = _open_fds()
    with pytest.raises(FileNotFoundError):
        WasiContext(config)
    assert _open_fds() == before


def test_the_store_keeps_one_context_under_the_typed_key():
    from wasmcore import Engine, Store
    store = Store(Engine())
    store.set_wasi(WasiConfig())
    context = context_of_store(store)
    assert store.stash[WASI_CONTEXT] is context and context_of_store(store) is context

    class OtherAbi(WasiContext):
        pass

    with pytest.raises(WasmcoreError, match="one WASI ABI"):
        context_of_store(store, OtherAbi)
    store.set_wasi(WasiConfig())  # a new configuration drops the stale context
    assert WASI_CONTEXT not in store.stash
    assert isinstance(context_of_store(store, OtherAbi), OtherAbi)


# --- preview 1's mapping of the core's errors -----------------------------------------------------

def test_every_error_kind_has_a_preview1_errno():
    assert {kind: from_kind(kind) for kind in ErrorKind} == {
        ErrorKind.NOT_CAPABLE: E.NOTCAPABLE, ErrorKind.NOT_PERMITTED: E.PERM,
        ErrorKind.NO_ENTRY: E.NOENT, ErrorKind.BAD_DESCRIPTOR: E.BADF,
        ErrorKind.NOT_DIRECTORY: E.NOTDIR, ErrorKind.LOOP: E.LOOP,
        ErrorKind.NAME_TOO_LONG: E.NAMETOOLONG, ErrorKind.INVALID: E.INVAL}


def test_preview1_maps_guest_memory_errors(tmp_path):
    config = WasiConfig()
    config.preopen_dir(tmp_path, "/")
    guest = Guest(config)
    bad, n = guest.put(b"caf\xe9")  # Latin-1, not UTF-8
    assert guest.call("path_create_directory", 3, bad, n) == E.ILSEQ
    assert guest.call("path_create_directory", 3, 65536 - 2, 4) == E.FAULT
    assert guest.call("path_create_directory", 3, 0xFFFF_FFF0, 0x20) == E.FAULT
    assert guest.path_call("path_create_directory", 3, "a" * 256) == E.NAMETOOLONG
    assert guest.path_call("path_create_directory", 9, "x") == E.BADF
    assert not any(tmp_path.iterdir())
