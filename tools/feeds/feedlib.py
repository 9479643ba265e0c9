"""Shared parts of the member feeders (tools/feeds/README.md): reading a cloud CLI's JSON output
with every shape checked, the members and their states, and writing Meridian's member feed.

A feeder turns provider data into `Member`s, then calls `finish()`, which keeps the asked address
family, merges an address listed more than once, refuses an empty member list unless
--allow-empty, and writes the document (version 1) to --output atomically, or to stdout.

Errors are one line on stderr, never a traceback; `run()` maps them to the exit status:
  0  the feed was written (or --output already held the same document, left untouched)
  1  the input is unreadable or malformed (not JSON, a missing key, a wrong type), or the output
     could not be written
  2  bad command-line usage (argparse)
  3  no member left: refused without --allow-empty, so a failed CLI call cannot empty a region
  70 an internal error (a bug in the feeder), still reported as one line
Standard library only: Debian 12's /usr/bin/python3.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import sys
import tempfile
from dataclasses import dataclass

FEED_VERSION = 1
MAX_ID_BYTES = 128

# Member states, best first: when an address is listed more than once, the best state wins.
STATES = ("up", "drain", "down")
_RANK = {state: rank for rank, state in enumerate(STATES)}

# Which address of an instance a feeder publishes (--address, repeatable; see the README).
ADDRESS_KINDS = ("private", "public", "ipv6")

EXIT_INPUT = 1
EXIT_EMPTY = 3
EXIT_BUG = 70

_prog = "feeder"


class FeedError(Exception):
    """Unreadable or malformed input, or an unwritable output: one line, exit status 1."""

    exit_status = EXIT_INPUT


class EmptyFeed(FeedError):
    """No member left and no --allow-empty: exit status 3, the output is left as it was."""

    exit_status = EXIT_EMPTY


def warn(message: str) -> None:
    print(f"{_prog}: warning: {message}", file=sys.stderr)


# --- reading input ----------------------------------------------------------------------------


def load_json(path: str) -> tuple[object, str]:
    """The JSON document at `path` ("-" is standard input) and the label that names it in
    messages."""
    label = "<stdin>" if path == "-" else path
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path, encoding="utf-8") as f:
                text = f.read()
    except OSError as e:
        raise FeedError(f"{label}: cannot read: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise FeedError(f"{label}: not UTF-8 text") from None
    if not text.strip():
        raise FeedError(f"{label}: empty (did the CLI call fail?)")
    try:
        return json.loads(text), label
    except json.JSONDecodeError as e:
        raise FeedError(f"{label}: not JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except RecursionError:
        raise FeedError(f"{label}: not JSON this feeder can read: nested too deeply") from None


def _kind_name(value: object) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


# A value's place in messages: "FILE:" for a whole document, then "FILE: Key[2].Other".
def _join(where: str, key: str) -> str:
    return f"{where} {key}" if where.endswith(":") else f"{where}.{key}"


def _at(where: str) -> str:
    return where.rstrip(":")


def expect(value: object, kind: type, where: str) -> object:
    """`value` itself, checked to be of `kind` (dict, list, str, bool, int)."""
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    wanted, found = _kind_name(kind()), _kind_name(value)
    if where.endswith(":"):
        raise FeedError(f"{_at(where)}: expected the document to be {wanted}, found {found}")
    raise FeedError(f"{where}: expected {wanted}, found {found}")


def field(obj: dict, key: str, kind: type, where: str, required: bool = True):
    """obj[key], checked to be of `kind`; None when it is absent or null and not required.
    `where` names `obj` in messages ("groups.json:" for a document, "groups.json:
    AutoScalingGroups[0]" inside one)."""
    if key not in obj or obj[key] is None:
        if required:
            raise FeedError(f"{_at(where)}: missing key {key!r}")
        return None
    return expect(obj[key], kind, _join(where, key))


def objects(obj: dict, key: str, where: str, required: bool = True) -> list[tuple[str, dict]]:
    """The objects of the array obj[key], each with the path that names it."""
    items = field(obj, key, list, where, required) or []
    paths = [f"{_join(where, key)}[{i}]" for i in range(len(items))]
    return [(path, expect(item, dict, path)) for path, item in zip(paths, items)]


def root_objects(doc: object, label: str) -> list[tuple[str, dict]]:
    """The objects of a document that is a JSON array (gcloud and az list output)."""
    expect(doc, list, f"{label}:")
    return [(f"{label}: [{i}]", expect(item, dict, f"{label}: [{i}]")) for i, item in enumerate(doc)]


def root_object(doc: object, label: str) -> dict:
    """A document that is a JSON object (aws output)."""
    return expect(doc, dict, f"{label}:")


# --- members ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    address: str  # as the provider wrote it; merge() checks and normalises it
    state: str  # one of STATES
    id: str | None = None  # the instance's name, for status pages

    def __post_init__(self):
        if self.state not in _RANK:
            raise ValueError(f"bad member state {self.state!r}")


def parse_address(text: str, who: str):
    """The ipaddress object for `text`, or None (with a warning naming `who`) when it is not a
    plain IPv4 or IPv6 address: a scope id (fe80::1%eth0), the unspecified address or a
    multicast address is never a DNS answer."""
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        warn(f"{who}: {text!r} is not an IP address; left out")
        return None
    if getattr(ip, "scope_id", None) or ip.is_unspecified or ip.is_multicast:
        warn(f"{who}: {text!r} cannot be answered in DNS; left out")
        return None
    return ip


def _clip_id(member_id: str | None) -> str | None:
    if member_id is None or len(member_id.encode("utf-8")) <= MAX_ID_BYTES:
        return member_id
    clipped = member_id.encode("utf-8")[:MAX_ID_BYTES].decode("utf-8", "ignore")
    warn(f"id {member_id[:40]!r}... is longer than {MAX_ID_BYTES} bytes; shortened")
    return clipped


def merge(members) -> list[Member]:
    """One member per address, sorted by address (IPv4 first, then numerically). An address
    listed more than once keeps its best state (up, then drain, then down) and that entry's id;
    a tie goes to the smallest id, so the output never depends on the input's order."""
    best: dict = {}
    for m in members:
        ip = parse_address(m.address, m.id or m.address)
        if ip is None:
            continue
        m = Member(str(ip), m.state, _clip_id(m.id))
        key = (_RANK[m.state], m.id is None, m.id or "")
        if ip not in best or key < best[ip][0]:
            best[ip] = (key, m)
    return [best[ip][1] for ip in sorted(best, key=lambda ip: (ip.version, int(ip)))]


def in_family(member: Member, family: str) -> bool:
    """Whether a (merged, so valid) member's address is of --family v4, v6 or any."""
    if family == "any":
        return True
    return ipaddress.ip_address(member.address).version == (4 if family == "v4" else 6)


def render(members: list[Member]) -> str:
    """The feed document, one member a line (small diffs), keys in a stable order (address, id,
    state), a trailing newline."""
    lines = []
    for m in members:
        entry = {"address": m.address}
        if m.id is not None:
            entry["id"] = m.id
        entry["state"] = m.state
        lines.append("    " + json.dumps(entry, ensure_ascii=False))
    body = "[\n" + ",\n".join(lines) + "\n  ]" if lines else "[]"
    return f'{{\n  "version": {FEED_VERSION},\n  "members": {body}\n}}\n'


# --- writing ----------------------------------------------------------------------------------


def _new_file_mode(path: str) -> int:
    try:
        return os.stat(path).st_mode & 0o7777  # replacing a file keeps its mode
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o644 & ~umask  # readable by the meridian user, like any file it reads


def write_atomically(path: str, text: str) -> bool:
    """Replace `path` with `text` so that a reader sees the old document or the new one, never
    a part: written to a temporary file in the same directory, flushed to disk, then renamed
    over `path`. An unchanged document is left as it is (its mtime too); returns whether the
    file was written."""
    data = text.encode("utf-8")
    try:
        with open(path, "rb") as f:
            if f.read() == data:
                return False
    except FileNotFoundError:
        pass
    except OSError as e:
        raise FeedError(f"{path}: cannot read the current feed: {e.strerror or e}") from None
    directory = os.path.dirname(os.path.abspath(path))
    tmp = None
    try:
        mode = _new_file_mode(path)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
        tmp = None
        _fsync_directory(directory)
    except OSError as e:
        raise FeedError(f"{path}: cannot write: {e.strerror or e}") from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return True


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable; best effort (not every file system allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --- the command line -------------------------------------------------------------------------


def parser(prog: str, description: str) -> argparse.ArgumentParser:
    """An argument parser with the options every feeder shares."""
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("--address", action="append", choices=ADDRESS_KINDS, metavar="KIND",
                   help="which address of each instance: private (default), public or ipv6; "
                        "repeat for several (e.g. public and ipv6 for a dual-stack region)")
    p.add_argument("--family", choices=("v4", "v6", "any"), default="any",
                   help="keep only IPv4 (v4) or IPv6 (v6) addresses (default: any)")
    p.add_argument("--output", metavar="FILE",
                   help="write the feed here atomically (temporary file + rename); "
                        "default: standard output")
    p.add_argument("--allow-empty", action="store_true",
                   help="write a feed with no member (refused by default: exit status 3)")
    return p


def address_kinds(args) -> list[str]:
    """The --address kinds asked for, in order, each once; private when none is given."""
    return list(dict.fromkeys(args.address or ["private"]))


def finish(members, args) -> int:
    """Merge, keep --family, refuse an empty list without --allow-empty, write the feed."""
    kept = [m for m in merge(members) if in_family(m, args.family)]
    if not kept and not args.allow_empty:
        raise EmptyFeed("no member to publish; refusing to write an empty feed (a failed or "
                        "mistaken CLI call must not empty a region): pass --allow-empty to "
                        "write one")
    text = render(kept)
    if args.output:
        write_atomically(args.output, text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    return 0


def run(main, prog: str, argv: list[str] | None = None) -> int:
    """Call main(argv) and turn every way it can end into an exit status with at most one line
    on stderr: a feeder never shows a Python traceback."""
    global _prog
    _prog = prog
    try:
        return main(argv)
    except FeedError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return e.exit_status
    except SystemExit as e:  # argparse: usage errors (2) and --help (0)
        return e.code if isinstance(e.code, int) else EXIT_INPUT
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_INPUT
    except Exception as e:  # a bug in the feeder; still one line, never a traceback
        print(f"{prog}: internal error: {type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_BUG
