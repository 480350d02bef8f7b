"""WASI preview 1 errno values (typenames.witx order), and the mappings of host errnos and of
the core sandbox's error kinds to them."""

from __future__ import annotations

import errno as _os_errno

from wasmcore.wasi.errors import ErrorKind

NAMES = (
    "success 2big acces addrinuse addrnotavail afnosupport again already badf badmsg busy "
    "canceled child connaborted connrefused connreset deadlk destaddrreq dom dquot exist fault "
    "fbig hostunreach idrm ilseq inprogress intr inval io isconn isdir loop mfile mlink msgsize "
    "multihop nametoolong netdown netreset netunreach nfile nobufs nodev noent noexec nolck "
    "nolink nomem nomsg noprotoopt nospc nosys notconn notdir notempty notrecoverable notsock "
    "notsup notty nxio overflow ownerdead perm pipe proto protonosupport prototype range rofs "
    "spipe srch stale timedout txtbsy xdev notcapable"
).split()

for _i, _n in enumerate(NAMES):
    globals()[_n.upper() if _n != "2big" else "TOOBIG"] = _i

_HOST: dict[int, int] = {}
for _i, _n in enumerate(NAMES):
    _h = getattr(_os_errno, "E" + ("2BIG" if _n == "2big" else _n.upper()), None)
    if _h is not None:
        _HOST.setdefault(_h, _i)
if hasattr(_os_errno, "EOPNOTSUPP"):
    _HOST.setdefault(_os_errno.EOPNOTSUPP, NAMES.index("notsup"))
if hasattr(_os_errno, "EWOULDBLOCK"):
    _HOST.setdefault(_os_errno.EWOULDBLOCK, NAMES.index("again"))


class WasiError(Exception):
    """Raised inside implementations; the dispatcher returns `errno`."""

    def __init__(self, errno: int):
        super().__init__(NAMES[errno] if 0 <= errno < len(NAMES) else errno)
        self.errno = errno


def from_oserror(exc: OSError) -> int:
    return _HOST.get(exc.errno or 0, NAMES.index("io"))


_KIND: dict[ErrorKind, int] = {kind: NAMES.index(name) for kind, name in (
    (ErrorKind.NOT_CAPABLE, "notcapable"), (ErrorKind.NOT_PERMITTED, "perm"),
    (ErrorKind.NO_ENTRY, "noent"), (ErrorKind.BAD_DESCRIPTOR, "badf"),
    (ErrorKind.NOT_DIRECTORY, "notdir"), (ErrorKind.LOOP, "loop"),
    (ErrorKind.NAME_TOO_LONG, "nametoolong"), (ErrorKind.INVALID, "inval"))}


def from_kind(kind: ErrorKind) -> int:
    """The errno of a `wasmcore.wasi.SandboxError`."""
    return _KIND[kind]
