# examples/functions/hello.py: a Python function in the seed service's
# style (docs/FUNCTIONS.md). Deploy it with runtime "python" and handler
# "handler"; POST /invoke/<id> with a JSON body gets it back.
def handler(request):
    return {"message": "hello", "input": request["body"]}
