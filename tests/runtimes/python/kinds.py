# tests/runtimes/python/kinds.py: a function for tests/runtimes.t; the
# request's query "kind" says what this invocation does.
import asyncio
import os
import subprocess
import sys

count = 0
first_loop = None


async def later(v):
    await asyncio.sleep(0.01)
    return v


def handler(req):
    global count
    count += 1
    kind = req["query"].get("kind")
    print("stdout line of invocation %d\n\x00\x00\x00\x05\x04{}{}" % count)
    print("stderr line of invocation %d" % count, file=sys.stderr)
    if kind == "echo":
        return {"statusCode": 201,
                "headers": {"X-Count": count, "X-Flag": True, "Content-Type": "application/json"},
                "body": {"count": count, "request": req}}
    if kind == "bodytype":
        return {"present": "body" in req, "type": type(req.get("body")).__name__,
                "body": req.get("body")}
    if kind == "async":
        return async_kind()
    if kind == "string":
        return "hello <b>world</b>"
    if kind == "none":
        return None
    if kind == "list":
        return [1, "a", None]
    if kind == "big":
        return {"statusCode": 200, "headers": {"Content-Type": "text/plain"}, "body": req["body"]}
    if kind == "raise":
        raise ValueError("boom from the handler")
    if kind == "surrogate":
        raise ValueError("bytes \udcff from surrogateescape")
    if kind == "surrogatebody":
        return "a lone \ud800 in the body"
    if kind == "exit":
        sys.exit(3)
    if kind == "nonjson":
        return {"statusCode": 200, "headers": {}, "body": object()}
    if kind == "nan":
        return float("nan")
    if kind == "badstatus":
        return {"statusCode": "200", "body": "x"}
    if kind == "badheader":
        return {"statusCode": 200, "headers": {"X-A": ["list"]}}
    if kind == "inject":
        return {"statusCode": 200, "headers": {"X-A": "a\r\nSet-Cookie: x=1"}, "body": "x"}
    if kind == "fds":
        # A program the function starts: which sockets does it hold?
        out = subprocess.run(["sh", "-c", "for f in /proc/$$/fd/*; do readlink $f; done"],
                             capture_output=True, text=True, close_fds=False)
        return {"fds": out.stdout.split(), "proto": "socket:[%d]" % os.fstat(3).st_ino}
    if kind == "closefd":
        os.close(3)
        return "closed"
    if kind == "reopen":
        os.close(3)
        global keep
        keep = open("/dev/null", "rb")      # takes fd 3
        return "reopened %d" % keep.fileno()
    if kind == "garbage":
        os.write(3, b"\xff\xff\xff\xffgarbage")
        return "garbage sent"
    if kind == "badtype":
        os.write(3, b"\x00\x00\x00\x00\x09")
        return "bad type sent"
    return {"statusCode": 400, "headers": {}, "body": {"unknown kind": kind}}


async def async_kind():
    global first_loop
    loop = asyncio.get_running_loop()
    if first_loop is None:
        first_loop = loop
    v = await later(count)
    return {"count": v, "same_loop": loop is first_loop}
