# An async def handler with state on the module's event loop.
import asyncio

queue = None
seen = []


async def handler(req):
    global queue
    if queue is None:
        queue = asyncio.Queue()       # bound to the worker's one loop
    await queue.put(req["body"])
    seen.append(await queue.get())
    return {"statusCode": 202, "headers": {}, "body": seen}
