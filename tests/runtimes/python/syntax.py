def handler(req:
    return 1
