#!/usr/bin/python3
"""dshield_worker.py: the warm worker of a Python function.

Speaks the function protocol (docs/PROTOCOL-FN.md, proto/fn_frame.h) on
fd 3: imports the function's module once, sends HELLO (or LOAD_ERROR and
exits), then answers each INVOKE with RESULT or ERROR, one at a time, for
as long as the host keeps it. Only the standard library.

    dshield_worker.py [--code /code/function.py] [--handler handler]

The function's own stdout and stderr are the worker's, which the sandbox
connects to the function's log stream; fd 3 is close-on-exec, so programs
the function starts never hold the protocol.
"""

import asyncio
import importlib.util
import inspect
import json
import os
import platform
import struct
import sys
import traceback

PROTO_FD = 3
FRAME_MAX = 8 << 20            # FN_FRAME_MAX
HELLO, LOAD_ERROR, INVOKE, RESULT, ERROR, PING, PONG = range(1, 8)
PROTOCOL_VERSION = 1

# Exit statuses: the host logs them with the worker's stderr.
EXIT_PROTOCOL = 70             # the host sent something out of protocol
EXIT_FD_LOST = 71              # the function closed or replaced fd 3


def log(msg):
    print("dshield-worker: " + msg, file=sys.stderr, flush=True)


class Channel:
    """Frames on the protocol descriptor. os.read/os.write on the raw fd:
    no Python buffering can mix a frame with anything else."""

    def __init__(self, fd):
        self.fd = fd
        st = os.fstat(fd)
        self.identity = (st.st_dev, st.st_ino)

    def intact(self):
        """fd 3 is still the socket we were given: the function may have
        closed it, or closed it and opened something else on it."""
        try:
            st = os.fstat(self.fd)
        except OSError:
            return False
        return (st.st_dev, st.st_ino) == self.identity

    def _read_exact(self, n):
        parts, got = [], 0
        while got < n:
            b = os.read(self.fd, min(n - got, 1 << 20))
            if not b:
                if got:
                    log("the host closed fd 3 inside a frame")
                    sys.exit(EXIT_PROTOCOL)
                return None
            parts.append(b)
            got += len(b)
        return b"".join(parts)

    def read(self):
        """(type, payload), or None at EOF between frames."""
        hdr = self._read_exact(5)
        if hdr is None:
            return None
        length, ftype = struct.unpack(">IB", hdr)
        if length > FRAME_MAX or ftype not in (INVOKE, PING):
            log("out of protocol: frame type %d, length %d" % (ftype, length))
            sys.exit(EXIT_PROTOCOL)
        payload = self._read_exact(length) if length else b""
        if payload is None:
            log("the host closed fd 3 inside a frame")
            sys.exit(EXIT_PROTOCOL)
        return ftype, payload

    def write(self, ftype, payload=b""):
        view = memoryview(struct.pack(">IB", len(payload), ftype) + payload)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]


def message(text):
    """A message as UTF-8 can carry it: an exception's text may hold lone
    surrogates (from bytes decoded with surrogateescape)."""
    return {"message": text.encode("utf-8", "backslashreplace").decode("utf-8")}


def encode(obj):
    return json.dumps(obj, ensure_ascii=False, allow_nan=False,
                      separators=(",", ":")).encode("utf-8")


def header_value(name, v):
    """A header value as Express's res.set() took it: strings as they
    are, numbers and booleans as their text; anything else is refused."""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return json.dumps(v, allow_nan=False)
    raise ValueError("header %r: the value must be a string, number or boolean, not %s"
                     % (name, type(v).__name__))


def normalise(result):
    """The handler's return value as {statusCode, headers[, body]}: a dict
    with statusCode is a response, anything else a 200 with that value as
    its body (the seed service's rule)."""
    if not (isinstance(result, dict) and "statusCode" in result):
        return {"statusCode": 200, "headers": {}, "body": result}
    status = result["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError("statusCode must be an integer from 100 to 599, not %r" % (status,))
    headers = result.get("headers")
    if headers is None:
        headers = {}
    if not isinstance(headers, dict):
        raise ValueError("headers must be a dict, not %s" % type(headers).__name__)
    out = {"statusCode": status,
           "headers": {str(k): header_value(k, v) for k, v in headers.items()}}
    if "body" in result:
        out["body"] = result["body"]
    return out


def load(path, name):
    """The handler, or raises with the reason for LOAD_ERROR."""
    spec = importlib.util.spec_from_file_location("function", path)
    if spec is None:
        raise ImportError("cannot load %s as a Python module" % path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["function"] = module
    spec.loader.exec_module(module)
    handler = getattr(module, name, None)
    if handler is None:
        raise AttributeError("the module has no attribute %r" % name)
    if not callable(handler):
        raise TypeError("%r is not callable" % name)
    return handler


def invoke(handler, loop, payload):
    """One invocation: (RESULT or ERROR, payload)."""
    try:
        request = json.loads(payload)
        result = handler(request)
        if inspect.isawaitable(result):
            result = loop.run_until_complete(result)
    except (Exception, SystemExit) as e:
        traceback.print_exc()
        return ERROR, encode(message(str(e) or type(e).__name__))
    try:
        response = normalise(result)
    except ValueError as e:
        log("the result is invalid: %s" % e)
        return ERROR, encode(message("the result is invalid: %s" % e))
    try:
        out = encode(response)
    except (TypeError, ValueError, UnicodeError, RecursionError) as e:
        log("the result is not JSON: %s" % e)
        return ERROR, encode(message("the result is not JSON: %s" % e))
    if len(out) > FRAME_MAX:
        return ERROR, encode(message("the result is larger than %d bytes" % FRAME_MAX))
    return RESULT, out


def parse_args(argv):
    code, name = "/code/function.py", "handler"
    i = 1
    while i < len(argv):
        if argv[i] in ("--code", "--handler") and i + 1 < len(argv):
            if argv[i] == "--code":
                code = argv[i + 1]
            else:
                name = argv[i + 1]
            i += 2
        else:
            log("usage: dshield_worker.py [--code PATH] [--handler NAME]")
            sys.exit(2)
    return code, name


def main():
    code, name = parse_args(sys.argv)
    try:
        chan = Channel(PROTO_FD)
    except OSError as e:
        log("no protocol on fd 3: %s" % e)
        return EXIT_PROTOCOL
    os.set_inheritable(PROTO_FD, False)
    # Logs reach the stream line by line even through a pipe.
    if sys.stdout is not None:
        sys.stdout.reconfigure(line_buffering=True)
    # /code is read-only: no __pycache__ attempts.
    sys.dont_write_bytecode = True
    sys.path.insert(0, os.path.dirname(os.path.abspath(code)))
    # One loop for the worker's life: module-level asyncio objects and
    # tasks a handler leaves behind live on it across invocations.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    try:
        handler = load(code, name)
    except BaseException as e:    # SyntaxError, SystemExit at import, ...
        traceback.print_exc()
        if isinstance(e, SyntaxError):
            msg = "%s: %s (line %s)" % (type(e).__name__, e.msg, e.lineno)
        else:
            msg = "%s: %s" % (type(e).__name__, e)
        chan.write(LOAD_ERROR, encode(message(msg)))
        return 1
    chan.write(HELLO, encode({"runtime": "python", "version": platform.python_version(),
                              "protocol": PROTOCOL_VERSION}))

    while True:
        frame = chan.read()
        if frame is None:
            return 0                # the host is done with this worker
        ftype, payload = frame
        if ftype == PING:
            chan.write(PONG)
            continue
        rtype, out = invoke(handler, loop, payload)
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
        if not chan.intact():
            log("the function closed or replaced fd 3; the worker ends")
            return EXIT_FD_LOST
        try:
            chan.write(rtype, out)
        except OSError as e:
            log("cannot send the answer: %s" % e)
            return EXIT_FD_LOST


if __name__ == "__main__":
    sys.exit(main())
