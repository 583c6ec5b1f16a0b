def main(req):
    return {"named": "main"}
