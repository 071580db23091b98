"""HARs in object storage, named by URL (``s3://attachments/2023/``): fsspec underneath.

Needs the optional extra ``harscrub[cloud]``. fsspec is imported only once a URL is used, so a
local run and ``--version`` never load it. An object is downloaded once into a local temp file
(harscrub reads its input twice) and its sanitized copy is uploaded from one (output.py): the
store sees nothing before the whole sanitized HAR exists. Both temp files are anonymous (no
name on disk), so a process killed outright leaves no copy of a HAR behind.

Messages name the URL and the kind of failure, or the store's own short reason (an OSError's
strerror); never the text of another exception, which for some stores holds request details.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePath, PurePosixPath
from typing import TYPE_CHECKING, BinaryIO, Literal

from harscrub.errors import InputError, OutputError, UsageError

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]+)://")
# Stores harscrub writes to: those where it knows an upload appears only once complete (one
# PUT, or a multipart upload completed or aborted as a whole), so that a failed or interrupted
# file leaves no object. "Nothing half-written" rests on this; other stores are read only.
WHOLE_OBJECT_STORES = frozenset({"s3", "s3a"})
_BLOCK = 8 << 20  # bytes per ranged GET while downloading, per part while uploading
_ONE_PUT = 32 << 20  # outputs up to this size go up in one PUT, read into memory for it
_CLOUD_EXTRA = "pip install 'harscrub[cloud]'"
_PACKAGES = {"s3": "s3fs", "s3a": "s3fs", "gs": "gcsfs", "gcs": "gcsfs", "az": "adlfs"}
_ALIASES = {"s3a": "s3", "gcs": "gs", "abfs": "az"}  # one store, two names in fsspec
_WEB = frozenset({"http", "https"})  # where a host may have a port, and a query is a query
# A query string with a parameter: a presigned URL's signature. (A key may hold a bare '?'.)
_QUERY = re.compile(r"\?[^/]*=")


@dataclass(frozen=True, slots=True)
class Url:
    """An object, or a prefix of objects, in a store: the few things batch asks of a Path.

    text has its protocol in lower case and no trailing '/': ``S3://b/in/`` and ``s3://b/in``
    name one prefix, and ``s3a://b/in`` too (same_as). A key is kept exactly otherwise.
    """

    text: str

    @classmethod
    def parse(cls, text: str) -> Url:
        protocol = _protocol_of(text)
        rest = text[len(protocol) + len("://") :]
        bucket = rest.partition("/")[0]
        web = protocol in _WEB
        # A bucket name holds no ':' or '@': there, they are user:secret@, whose secret may
        # hold a '/' and so run past the bucket part. A query string may be a signature.
        if (
            "@" in bucket
            or (":" in bucket and not web)
            or ("?" in rest if web else _QUERY.search(rest))
        ):
            # Not echoed: a URL is printed in every message and report about its file.
            raise UsageError(
                f"{protocol}://...: the URL holds credentials (user@ or a query string); give "
                "them in the environment instead (AWS_PROFILE, AWS_ACCESS_KEY_ID, ...)"
            )
        if protocol == "file":
            raise UsageError(f"{text}: give a local file as a path, without file://")
        if not bucket:
            raise UsageError(f"{text}: names no bucket")
        key = rest.rstrip("/")
        if "//" in key:
            # AWS keeps a//b apart from a/b, SeaweedFS and MinIO merge them: which object it
            # names depends on the store, so harscrub asks for the plain name.
            raise UsageError(
                f"{text}: a key with an empty part ('//') names different objects "
                "in different stores; write it without"
            )
        return cls(f"{protocol}://{key}")

    def same_as(self) -> Url:
        """The one name of this object or prefix, whichever alias of the protocol was used."""
        protocol = _ALIASES.get(self.protocol, self.protocol)
        return Url(protocol + self.text[len(self.protocol) :])

    def __str__(self) -> str:
        return self.text

    @property
    def protocol(self) -> str:
        return _protocol_of(self.text)

    @property
    def name(self) -> str:
        return self.text.rpartition("/")[2]

    @property
    def stem(self) -> str:
        return PurePosixPath(self.name).stem

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.name).suffix

    def with_name(self, name: str) -> Url:
        return Url(f"{self.text.rpartition('/')[0]}/{name}")

    def relative_to(self, root: Url) -> str:
        """The key below root, as written: ``s3://b/in/x.har`` below ``s3://b/in`` is ``x.har``."""
        if not self.text.startswith(root.text + "/"):
            raise ValueError(f"{self} is not under {root}")
        return self.text[len(root.text) + 1 :]

    def __truediv__(self, relative: str | PurePath) -> Url:
        tail = relative.as_posix() if isinstance(relative, PurePath) else relative
        return Url(f"{self.text}/{tail}")


def is_url(text: object) -> bool:
    """Whether a command-line path is a URL (``s3://...``) rather than a local path."""
    return isinstance(text, str) and _SCHEME.match(text) is not None


def place(path: str | Path | Url) -> Path | Url:
    """What a path given as a string names: an object or prefix, or a local path."""
    if isinstance(path, Path | Url):
        return path
    return Url.parse(path) if is_url(path) else Path(path)


def is_plain_key(relative: str) -> bool:
    """Whether a key below a prefix is a safe local path: no '..', '.' or empty part. A key
    such as ``../../etc/x.har`` must never be mirrored out of the output folder."""
    return all(part not in ("", ".", "..") for part in relative.split("/"))


def kind(url: Url, *, output: bool = False) -> Literal["object", "prefix"] | None:
    """Whether url names an object, a prefix holding objects, or nothing."""
    fs, path = _filesystem(url)
    try:
        info = fs.info(path)
    except FileNotFoundError:
        return None
    except Exception as e:  # noqa: BLE001 -- any failure of a store is the input's, not a bug
        if output:
            raise OutputError(f"{url}: cannot write ({_reason(e)}); nothing was written") from None
        raise InputError(f"{url}: cannot read ({_reason(e)})") from None
    return "prefix" if info.get("type") == "directory" else "object"


def find(root: Url, *, exclude: Url | None = None) -> list[Url]:
    """Every object below the prefix root, in key order, but those below exclude (the output
    prefix, left out as batch leaves out an output folder)."""
    fs, path = _filesystem(root)
    try:
        names = sorted(fs.find(path))
    except FileNotFoundError:
        return []
    except Exception as e:  # noqa: BLE001 -- any failure of a store is the input's, not a bug
        raise InputError(f"{root}: cannot list the objects ({_reason(e)})") from None
    finally:
        # s3fs keeps every object's details listed, about 1 KB each, for the life of the run.
        fs.invalidate_cache(path)
    start = len(path.rstrip("/")) + 1
    found = [root / name[start:] for name in names]
    if exclude is None:
        return found
    below = exclude.same_as().text + "/"
    return [url for url in found if not url.same_as().text.startswith(below)]


@contextlib.contextmanager
def downloaded(url: Url) -> Iterator[BinaryIO]:
    """The object at url, copied into an anonymous local temp file."""
    fs, path = _filesystem(url)
    with tempfile.TemporaryFile() as copy:
        try:
            # No read-ahead cache: each read is one ranged GET of _BLOCK bytes, copied on.
            with fs.open(path, "rb", block_size=_BLOCK, cache_type="none") as fin:
                shutil.copyfileobj(fin, copy, _BLOCK)
        except FileNotFoundError:
            raise InputError(f"{url}: no such object") from None
        except IsADirectoryError:
            raise InputError(f"{url}: is a prefix of objects, not a HAR") from None
        except Exception as e:  # noqa: BLE001 -- any failure of a store is the input's, not a bug
            raise InputError(f"{url}: cannot read ({_reason(e)})") from None
        copy.seek(0)
        yield copy  # type: ignore[misc]


def upload(local: BinaryIO, url: Url) -> None:
    """Put the complete file local (read from its start) to url in one step: a PUT, or for a
    large one a multipart upload that is completed only at the end and aborted on any error
    (see WHOLE_OBJECT_STORES)."""
    fs, path = writable(url)
    size = local.seek(0, 2)
    local.seek(0)
    try:
        if size <= _ONE_PUT:
            fs.pipe_file(path, local.read())
            return
        out = fs.open(path, "wb", block_size=_BLOCK, autocommit=False)
        try:
            shutil.copyfileobj(local, out, _BLOCK)
            out.close()  # the last part; the object appears only with commit()
            out.commit()
        except BaseException:
            with contextlib.suppress(Exception):
                out.discard()  # abort the multipart upload: its parts are not left to pay for
            raise
    except Exception as e:  # noqa: BLE001 -- any failure of a store is the output's, not a bug
        raise OutputError(f"{url}: cannot write ({_reason(e)}); nothing was written") from None


def writable(url: Url) -> tuple[AbstractFileSystem, str]:
    """url's filesystem, refusing a store where a failed upload could leave part of a file."""
    if url.protocol not in WHOLE_OBJECT_STORES:
        stores = ", ".join(sorted(f"{p}://" for p in WHOLE_OBJECT_STORES))
        raise UsageError(
            f"{url}: harscrub writes only to object stores, where an object appears whole "
            f"({stores})"
        )
    return _filesystem(url)


def _filesystem(url: Url) -> tuple[AbstractFileSystem, str]:
    try:
        from fsspec.core import url_to_fs
    except ImportError:
        raise UsageError(f"{url}: URLs need fsspec: {_CLOUD_EXTRA}") from None
    try:
        return url_to_fs(url.text)  # type: ignore[no-any-return]
    except ImportError:  # the store's own package (s3fs, gcsfs, adlfs) is missing
        package = _PACKAGES.get(url.protocol, "the fsspec package for it")
        hint = _CLOUD_EXTRA if package == "s3fs" else f"pip install {package}"
        raise UsageError(f"{url}: {url.protocol}:// needs a missing package: {hint}") from None
    except ValueError:
        raise UsageError(f"{url}: unknown protocol {url.protocol}://") from None


def _protocol_of(text: str) -> str:
    m = _SCHEME.match(text)
    return m.group(1).lower() if m else ""


def _reason(e: BaseException) -> str:
    """What went wrong, in words that cannot quote a request: the kind of error only."""
    if isinstance(e, PermissionError):
        return "access denied; check the credentials"
    if isinstance(e, FileNotFoundError):
        return "no such bucket or object"
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    return type(e).__name__
