"""fd_* and path_*: files, directories and stdio. Paths are resolved, and preopen permissions
checked, by the core sandbox (`wasmcore.wasi.sandbox`); what is here is preview 1's: rights,
oflags / fdflags, and the witx layouts of fdstat, filestat, prestat and dirent."""

from __future__ import annotations

import fcntl
import os
import stat as _stat
import struct
import time

from wasmcore.wasi.descriptors import DIRECTORY, FILE, STDIO
from wasmcore.wasi.sandbox import (check_symlink_target, require_directory_write,
                                   require_file_write, resolve)

from ._context import (DIR_RIGHTS, FILE_RIGHTS, FT_CHAR, FT_DIR, R_FD_FILESTAT_SET_SIZE,
                       R_FD_READ, R_FD_SEEK, R_FD_TELL, R_FD_WRITE, R_PATH_CREATE_FILE,
                       R_PATH_FILESTAT_SET_SIZE, R_PATH_OPEN, Entry, filetype_of_mode,
                       stdio_filetype)
from ._errno import BADF, EXIST, INVAL, ISDIR, NAMETOOLONG, NOENT, NOTCAPABLE, NOTDIR, NOTSUP, \
    SPIPE, WasiError
from ._registry import s64, wasi

# oflags / fdflags / fstflags / lookupflags
O_CREAT, O_DIRECTORY, O_EXCL, O_TRUNC = 1, 2, 4, 8
FD_APPEND, FD_DSYNC, FD_NONBLOCK, FD_RSYNC, FD_SYNC = 1, 2, 4, 8, 16
ATIM, ATIM_NOW, MTIM, MTIM_NOW = 1, 2, 4, 8
SYMLINK_FOLLOW = 1

# witx layouts
_FILESTAT = struct.Struct("<QQBxxxxxxxQQQQQ")  # dev, ino, filetype, nlink, size, a/m/ctim
_FDSTAT = struct.Struct("<BxHxxxxQQ")  # filetype, fdflags, rights base, rights inheriting
_PRESTAT = struct.Struct("<BxxxI")  # tag (0: dir), name length
_DIRENT = struct.Struct("<QQIBxxx")  # next cookie, ino, name length, filetype


def _file(ctx, fd) -> Entry:
    entry = ctx.descriptors.get(fd)
    if entry.kind == DIRECTORY:
        raise WasiError(ISDIR)
    return entry


def _write_filestat(mem, ptr, st=None, filetype=None):
    if st is None:
        mem.pack(ptr, _FILESTAT, 0, 0, filetype or 0, 0, 0, 0, 0, 0)
        return
    mem.pack(ptr, _FILESTAT, st.st_dev, st.st_ino,
             filetype if filetype is not None else filetype_of_mode(st.st_mode),
             st.st_nlink, st.st_size, st.st_atime_ns, st.st_mtime_ns, st.st_ctime_ns)


def _times(st, atim, mtim, flags):
    if flags & ~0xF or (flags & ATIM and flags & ATIM_NOW) or (flags & MTIM and flags & MTIM_NOW):
        raise WasiError(INVAL)
    now = time.time_ns()
    a = atim if flags & ATIM else now if flags & ATIM_NOW else st.st_atime_ns
    m = mtim if flags & MTIM else now if flags & MTIM_NOW else st.st_mtime_ns
    return a, m


def _need(entry, rights):
    """The fd must hold at least one of `rights`, else NOTCAPABLE."""
    if not entry.rights_base & rights:
        raise WasiError(NOTCAPABLE)


# --- reading and writing ------------------------------------------------------------------

@wasi("fd_write", "iiii")
def fd_write(ctx, mem, fd, iovs, iovs_len, nwritten_ptr):
    entry = ctx.descriptors.get(fd)
    data = mem.gather(mem.ranges(iovs, iovs_len))
    mem.check(nwritten_ptr, 4)
    if entry.kind == STDIO:
        if not entry.writable:
            raise WasiError(BADF)
        n = entry.stream.write(data)
    elif entry.kind == DIRECTORY or not entry.writable:
        raise WasiError(BADF)
    else:
        _need(entry, R_FD_WRITE)
        n = os.write(entry.host_fd, data) if data else 0
    mem.store_u32(nwritten_ptr, n)


@wasi("fd_read", "iiii")
def fd_read(ctx, mem, fd, iovs, iovs_len, nread_ptr):
    entry = ctx.descriptors.get(fd)
    vecs = mem.ranges(iovs, iovs_len)
    mem.check(nread_ptr, 4)
    total = sum(n for _, n in vecs)
    if entry.kind == STDIO:
        if not entry.readable:
            raise WasiError(BADF)
        data = entry.stream.read(total) if total else b""
    elif entry.kind == DIRECTORY or not entry.readable:
        raise WasiError(BADF)
    else:
        _need(entry, R_FD_READ)
        data = os.read(entry.host_fd, total) if total else b""
    mem.store_u32(nread_ptr, mem.scatter(vecs, data))


@wasi("fd_pread", "iiiIi")
def fd_pread(ctx, mem, fd, iovs, iovs_len, offset, nread_ptr):
    entry = _file(ctx, fd)
    if entry.kind == STDIO:
        raise WasiError(SPIPE)
    if not entry.readable:
        raise WasiError(BADF)
    _need(entry, R_FD_READ)
    vecs = mem.ranges(iovs, iovs_len)
    mem.check(nread_ptr, 4)
    total = sum(n for _, n in vecs)
    if s64(offset) < 0:
        raise WasiError(INVAL)
    data = os.pread(entry.host_fd, total, offset) if total else b""
    mem.store_u32(nread_ptr, mem.scatter(vecs, data))


@wasi("fd_pwrite", "iiiIi")
def fd_pwrite(ctx, mem, fd, iovs, iovs_len, offset, nwritten_ptr):
    entry = _file(ctx, fd)
    if entry.kind == STDIO:
        raise WasiError(SPIPE)
    if not entry.writable:
        raise WasiError(BADF)
    _need(entry, R_FD_WRITE)
    if s64(offset) < 0:
        raise WasiError(INVAL)
    data = mem.gather(mem.ranges(iovs, iovs_len))
    mem.check(nwritten_ptr, 4)
    n = os.pwrite(entry.host_fd, data, offset) if data else 0
    mem.store_u32(nwritten_ptr, n)


@wasi("fd_seek", "iIii")
def fd_seek(ctx, mem, fd, offset, whence, newoffset_ptr):
    entry = ctx.descriptors.get(fd)
    if entry.kind == STDIO:
        raise WasiError(SPIPE)
    if entry.kind == DIRECTORY:
        raise WasiError(BADF)
    if whence not in (0, 1, 2):
        raise WasiError(INVAL)
    _need(entry, R_FD_SEEK | R_FD_TELL if whence == 1 and offset == 0 else R_FD_SEEK)
    mem.check(newoffset_ptr, 8)
    pos = os.lseek(entry.host_fd, s64(offset), (os.SEEK_SET, os.SEEK_CUR, os.SEEK_END)[whence])
    mem.store_u64(newoffset_ptr, pos)


@wasi("fd_tell", "ii")
def fd_tell(ctx, mem, fd, offset_ptr):
    entry = ctx.descriptors.get(fd)
    if entry.kind == STDIO:
        raise WasiError(SPIPE)
    if entry.kind == DIRECTORY:
        raise WasiError(BADF)
    _need(entry, R_FD_SEEK | R_FD_TELL)
    mem.store_u64(offset_ptr, os.lseek(entry.host_fd, 0, os.SEEK_CUR))


# --- fd metadata ------------------------------------------------------------------------------

@wasi("fd_close", "i", needs_memory=False)
def fd_close(ctx, mem, fd):
    ctx.descriptors.remove(fd).close()


@wasi("fd_renumber", "ii", needs_memory=False)
def fd_renumber(ctx, mem, fd, to):
    ctx.descriptors.renumber(fd, to)


@wasi("fd_fdstat_get", "ii")
def fd_fdstat_get(ctx, mem, fd, ptr):
    entry = ctx.descriptors.get(fd)
    if entry.kind == STDIO:
        filetype = stdio_filetype(entry.stream)
    elif entry.kind == DIRECTORY:
        filetype = FT_DIR
    else:
        filetype = filetype_of_mode(os.fstat(entry.host_fd).st_mode)
    mem.pack(ptr, _FDSTAT, filetype, entry.fdflags, entry.rights_base,
             entry.rights_inheriting)


@wasi("fd_fdstat_set_flags", "ii", needs_memory=False)
def fd_fdstat_set_flags(ctx, mem, fd, flags):
    entry = ctx.descriptors.get(fd)
    if flags & ~0x1F:
        raise WasiError(INVAL)
    if entry.kind != FILE:
        if entry.kind == STDIO:
            entry.fdflags = flags & (FD_APPEND | FD_NONBLOCK)
            return 0
        raise WasiError(BADF)
    cur = fcntl.fcntl(entry.host_fd, fcntl.F_GETFL)
    cur &= ~(os.O_APPEND | os.O_NONBLOCK)
    if flags & FD_APPEND:
        cur |= os.O_APPEND
    if flags & FD_NONBLOCK:
        cur |= os.O_NONBLOCK
    fcntl.fcntl(entry.host_fd, fcntl.F_SETFL, cur)
    entry.fdflags = (entry.fdflags & ~(FD_APPEND | FD_NONBLOCK)) | (flags & (FD_APPEND | FD_NONBLOCK))


@wasi("fd_fdstat_set_rights", "iII", needs_memory=False)
def fd_fdstat_set_rights(ctx, mem, fd, base, inheriting):
    entry = ctx.descriptors.get(fd)
    if base & ~entry.rights_base or inheriting & ~entry.rights_inheriting:
        raise WasiError(NOTCAPABLE)
    entry.rights_base, entry.rights_inheriting = base, inheriting


@wasi("fd_filestat_get", "ii")
def fd_filestat_get(ctx, mem, fd, ptr):
    entry = ctx.descriptors.get(fd)
    if entry.kind == STDIO:
        if entry.stream.host_fd is not None:
            _write_filestat(mem, ptr, os.fstat(entry.stream.host_fd))
        else:
            _write_filestat(mem, ptr, None, FT_CHAR)
        return 0
    _write_filestat(mem, ptr, os.fstat(entry.host_fd))


@wasi("fd_filestat_set_size", "iI", needs_memory=False)
def fd_filestat_set_size(ctx, mem, fd, size):
    entry = _file(ctx, fd)
    if entry.kind == STDIO or not entry.writable:
        raise WasiError(BADF if entry.kind != STDIO else INVAL)
    _need(entry, R_FD_FILESTAT_SET_SIZE)
    if s64(size) < 0:
        raise WasiError(INVAL)
    os.ftruncate(entry.host_fd, size)


@wasi("fd_filestat_set_times", "iIIi", needs_memory=False)
def fd_filestat_set_times(ctx, mem, fd, atim, mtim, flags):
    entry = ctx.descriptors.get(fd)
    if entry.kind == STDIO:
        raise WasiError(BADF if entry.stream.host_fd is None else NOTSUP)
    st = os.fstat(entry.host_fd)
    os.utime(entry.host_fd, ns=_times(st, atim, mtim, flags))


@wasi("fd_advise", "iIIi", needs_memory=False)
def fd_advise(ctx, mem, fd, offset, length, advice):
    entry = _file(ctx, fd)
    if advice > 5:
        raise WasiError(INVAL)
    if entry.kind == STDIO:
        raise WasiError(SPIPE)
    if s64(offset) < 0 or s64(length) < 0:
        raise WasiError(INVAL)
    advices = (os.POSIX_FADV_NORMAL, os.POSIX_FADV_SEQUENTIAL, os.POSIX_FADV_RANDOM,
               os.POSIX_FADV_WILLNEED, os.POSIX_FADV_DONTNEED, os.POSIX_FADV_NOREUSE)
    os.posix_fadvise(entry.host_fd, offset, length, advices[advice])


@wasi("fd_allocate", "iII", needs_memory=False)
def fd_allocate(ctx, mem, fd, offset, length):
    entry = _file(ctx, fd)
    if entry.kind == STDIO:
        raise WasiError(SPIPE)
    if not entry.writable:
        raise WasiError(BADF)
    if s64(offset) < 0 or s64(length) <= 0:
        raise WasiError(INVAL)
    size = os.fstat(entry.host_fd).st_size
    if offset + length > size:
        os.ftruncate(entry.host_fd, offset + length)


@wasi("fd_datasync", "i", needs_memory=False)
def fd_datasync(ctx, mem, fd):
    entry = ctx.descriptors.get(fd)
    if entry.kind == STDIO:
        raise WasiError(INVAL)
    os.fdatasync(entry.host_fd)


@wasi("fd_sync", "i", needs_memory=False)
def fd_sync(ctx, mem, fd):
    entry = ctx.descriptors.get(fd)
    if entry.kind == STDIO:
        raise WasiError(INVAL)
    os.fsync(entry.host_fd)


# --- preopens -------------------------------------------------------------------------------

@wasi("fd_prestat_get", "ii")
def fd_prestat_get(ctx, mem, fd, ptr):
    entry = ctx.descriptors.get(fd)
    if entry.preopen is None:
        raise WasiError(BADF)
    mem.pack(ptr, _PRESTAT, 0, len(entry.preopen.encode()))


@wasi("fd_prestat_dir_name", "iii")
def fd_prestat_dir_name(ctx, mem, fd, path, path_len):
    entry = ctx.descriptors.get(fd)
    if entry.preopen is None:
        raise WasiError(BADF)
    name = entry.preopen.encode()
    if path_len < len(name):
        raise WasiError(NAMETOOLONG)
    mem.write(path, name)


# --- directories ------------------------------------------------------------------------------

def _listing(entry: Entry) -> list:
    items = []
    st = os.fstat(entry.host_fd)
    items.append((b".", st.st_ino, FT_DIR))
    items.append((b"..", 0, FT_DIR))
    with os.scandir(entry.host_fd) as it:
        for de in it:
            try:
                dst = de.stat(follow_symlinks=False)
                ino, ft = dst.st_ino, filetype_of_mode(dst.st_mode)
            except OSError:
                ino, ft = de.inode(), 0
            items.append((os.fsencode(de.name), ino, ft))
    return items


@wasi("fd_readdir", "iiiIi")
def fd_readdir(ctx, mem, fd, buf, buf_len, cookie, bufused_ptr):
    entry = ctx.descriptors.get(fd)
    if entry.kind != DIRECTORY:
        raise WasiError(NOTDIR if entry.kind == FILE else BADF)
    mem.check(buf, buf_len)
    mem.check(bufused_ptr, 4)
    if cookie == 0 or entry.dir_cache is None:
        entry.dir_cache = _listing(entry)
    out = bytearray()
    for index in range(cookie, len(entry.dir_cache)):
        name, ino, ft = entry.dir_cache[index]
        out += _DIRENT.pack(index + 1, ino, len(name), ft) + name
        if len(out) >= buf_len:
            break
    out = bytes(out[:buf_len])
    mem.write(buf, out)
    mem.store_u32(bufused_ptr, len(out))


# --- paths ----------------------------------------------------------------------------------

def _resolve(ctx, mem, fd, path_ptr, path_len, follow):
    entry = ctx.descriptors.directory(fd)
    path = mem.read_string(path_ptr, path_len)
    return entry, resolve(entry.host_fd, path, follow)


@wasi("path_open", "iiiiiIIii")
def path_open(ctx, mem, fd, dirflags, path_ptr, path_len, oflags, rights_base, rights_inh,
              fdflags, fd_ptr):
    entry, res = _resolve(ctx, mem, fd, path_ptr, path_len, bool(dirflags & SYMLINK_FOLLOW))
    with res:
        mem.check(fd_ptr, 4)
        _need(entry, R_PATH_OPEN)
        if oflags & O_CREAT:
            _need(entry, R_PATH_CREATE_FILE)
        if oflags & O_TRUNC:
            _need(entry, R_PATH_FILESTAT_SET_SIZE)
        write = bool(rights_base & (R_FD_WRITE | (1 << 22))) or bool(fdflags & FD_APPEND) \
            or bool(oflags & O_TRUNC)
        read = bool(rights_base & (R_FD_READ | (1 << 14)))
        if write or oflags & O_TRUNC:
            require_file_write(entry)
        if write and not read:
            flags = os.O_WRONLY
        elif write:
            flags = os.O_RDWR
        else:
            flags = os.O_RDONLY
        if oflags & O_CREAT:
            require_directory_write(entry)
            flags |= os.O_CREAT
        if oflags & O_EXCL:
            flags |= os.O_EXCL
        if oflags & O_TRUNC:
            flags |= os.O_TRUNC
        if oflags & O_DIRECTORY or res.must_be_dir:
            flags |= os.O_DIRECTORY
        if fdflags & FD_APPEND:
            flags |= os.O_APPEND
        if fdflags & FD_NONBLOCK:
            flags |= os.O_NONBLOCK
        if fdflags & FD_DSYNC:
            flags |= getattr(os, "O_DSYNC", 0)
        if fdflags & (FD_SYNC | FD_RSYNC):
            flags |= os.O_SYNC
        flags |= os.O_NOFOLLOW | os.O_CLOEXEC
        name = res.name
        if name == "." and flags & os.O_CREAT and flags & os.O_EXCL:
            raise WasiError(EXIST)
        host_fd = os.open(name, flags, 0o666, dir_fd=res.parent)
        try:
            st = os.fstat(host_fd)
            is_dir = _stat.S_ISDIR(st.st_mode)
            new = Entry(DIRECTORY if is_dir else FILE, host_fd, dir_perms=entry.dir_perms,
                        file_perms=entry.file_perms, readable=read or not write, writable=write,
                        fdflags=fdflags & (FD_APPEND | FD_DSYNC | FD_NONBLOCK | FD_RSYNC | FD_SYNC),
                        rights_base=rights_base & entry.rights_inheriting
                        & (DIR_RIGHTS if is_dir else FILE_RIGHTS),
                        rights_inheriting=rights_inh & entry.rights_inheriting)
        except BaseException:
            os.close(host_fd)
            raise
        mem.store_u32(fd_ptr, ctx.descriptors.insert(new))


@wasi("path_create_directory", "iii")
def path_create_directory(ctx, mem, fd, path_ptr, path_len):
    entry, res = _resolve(ctx, mem, fd, path_ptr, path_len, False)
    with res:
        require_directory_write(entry)
        if res.name == ".":
            raise WasiError(EXIST)
        os.mkdir(res.name, 0o777, dir_fd=res.parent)


@wasi("path_filestat_get", "iiiii")
def path_filestat_get(ctx, mem, fd, flags, path_ptr, path_len, buf):
    entry, res = _resolve(ctx, mem, fd, path_ptr, path_len, bool(flags & SYMLINK_FOLLOW))
    with res:
        mem.check(buf, 64)
        st = os.stat(res.name, dir_fd=res.parent, follow_symlinks=False)
        if res.must_be_dir and not _stat.S_ISDIR(st.st_mode):
            raise WasiError(NOTDIR)
        _write_filestat(mem, buf, st)


@wasi("path_filestat_set_times", "iiiiIIi")
def path_filestat_set_times(ctx, mem, fd, flags, path_ptr, path_len, atim, mtim, fstflags):
    entry, res = _resolve(ctx, mem, fd, path_ptr, path_len, bool(flags & SYMLINK_FOLLOW))
    with res:
        st = os.stat(res.name, dir_fd=res.parent, follow_symlinks=False)
        os.utime(res.name, ns=_times(st, atim, mtim, fstflags), dir_fd=res.parent,
                 follow_symlinks=False)


@wasi("path_link", "iiiiiii")
def path_link(ctx, mem, old_fd, old_flags, old_ptr, old_len, new_fd, new_ptr, new_len):
    old_entry, old = _resolve(ctx, mem, old_fd, old_ptr, old_len, bool(old_flags & SYMLINK_FOLLOW))
    with old:
        new_entry, new = _resolve(ctx, mem, new_fd, new_ptr, new_len, False)
        with new:
            require_directory_write(new_entry)
            os.link(old.slashed_name, new.slashed_name, src_dir_fd=old.parent,
                    dst_dir_fd=new.parent, follow_symlinks=False)


@wasi("path_readlink", "iiiiii")
def path_readlink(ctx, mem, fd, path_ptr, path_len, buf, buf_len, bufused_ptr):
    entry, res = _resolve(ctx, mem, fd, path_ptr, path_len, False)
    with res:
        mem.check(buf, buf_len)
        mem.check(bufused_ptr, 4)
        target = os.fsencode(os.readlink(res.name, dir_fd=res.parent))[:buf_len]
        mem.write(buf, target)
        mem.store_u32(bufused_ptr, len(target))


@wasi("path_remove_directory", "iii")
def path_remove_directory(ctx, mem, fd, path_ptr, path_len):
    entry, res = _resolve(ctx, mem, fd, path_ptr, path_len, False)
    with res:
        require_directory_write(entry)
        if res.name == ".":
            raise WasiError(INVAL)
        os.rmdir(res.name, dir_fd=res.parent)


@wasi("path_rename", "iiiiii")
def path_rename(ctx, mem, fd, old_ptr, old_len, new_fd, new_ptr, new_len):
    old_entry, old = _resolve(ctx, mem, fd, old_ptr, old_len, False)
    with old:
        new_entry, new = _resolve(ctx, mem, new_fd, new_ptr, new_len, False)
        with new:
            require_directory_write(old_entry)
            require_directory_write(new_entry)
            if old.name == "." or new.name == ".":
                raise WasiError(INVAL)
            os.rename(old.slashed_name, new.slashed_name, src_dir_fd=old.parent,
                      dst_dir_fd=new.parent)


@wasi("path_symlink", "iiiii")
def path_symlink(ctx, mem, old_ptr, old_len, fd, new_ptr, new_len):
    target = mem.read_string(old_ptr, old_len)
    entry, res = _resolve(ctx, mem, fd, new_ptr, new_len, False)
    with res:
        require_directory_write(entry)
        check_symlink_target(target)
        if res.must_be_dir:
            raise WasiError(EXIST if res.exists() else NOENT)
        if res.name == ".":
            raise WasiError(EXIST)
        os.symlink(target, res.name, dir_fd=res.parent)


@wasi("path_unlink_file", "iii")
def path_unlink_file(ctx, mem, fd, path_ptr, path_len):
    entry, res = _resolve(ctx, mem, fd, path_ptr, path_len, False)
    with res:
        require_directory_write(entry)
        if res.must_be_dir:
            st = os.stat(res.name, dir_fd=res.parent, follow_symlinks=False)
            raise WasiError(ISDIR if _stat.S_ISDIR(st.st_mode) else NOTDIR)
        os.unlink(res.name, dir_fd=res.parent)

