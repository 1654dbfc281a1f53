"""Streaming time to first token: sequential streamed chat requests over one keep-alive connection.
Prints one line per request: milliseconds from sending the request to the first content chunk."""
import http.client
import json
import sys
import time
from urllib.parse import urlparse

base, key, model, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
url = urlparse(base)
body = json.dumps({"model": model, "stream": True, "messages": [{"role": "user", "content": "Say hello"}], "max_tokens": 32})
headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
connection = http.client.HTTPConnection(url.hostname, url.port)
for index in range(count + 20):
    start = time.perf_counter()
    connection.request("POST", url.path + "/chat/completions", body=body, headers=headers)
    response = connection.getresponse()
    first = None
    buffer = b""
    while True:
        line = response.readline()
        if not line:
            break
        if first is None and line.startswith(b"data: {") and b'"content":"' in line and b'"content":""' not in line:
            first = time.perf_counter()
        if line.strip() == b"data: [DONE]":
            # Drain the chunked terminator so the connection can be reused.
            response.read()
            break
    if index >= 20 and first is not None:  # the first 20 warm up
        print(f"{(first - start) * 1000:.3f}")
