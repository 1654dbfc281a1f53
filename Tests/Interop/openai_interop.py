"""Interop check: the official `openai` Python package against Tern's gateway.

Run by Tests/TernServerTests/InteropTests.swift with TERN_BASE_URL (…/v1), TERN_KEY and
TERN_LIMITED_KEY (a key allowing one request per minute). Prints one line per check and exits
non-zero on the first failure.
"""
import os
import sys

import openai

base_url = os.environ["TERN_BASE_URL"]
client = openai.OpenAI(base_url=base_url, api_key=os.environ["TERN_KEY"], max_retries=0)


def check(name, condition, detail=""):
    if not condition:
        print(f"FAIL {name} {detail}")
        sys.exit(1)
    print(f"ok {name}")


# Chat, non-streaming.
chat = client.chat.completions.create(model="support-bot", messages=[{"role": "user", "content": "Hi"}], temperature=0)
check("chat.content", chat.choices[0].message.content == "Hello from gpt-4o-mini", repr(chat.choices[0].message.content))
check("chat.usage", chat.usage.prompt_tokens == 10 and chat.usage.completion_tokens == 5, repr(chat.usage))
check("chat.finish_reason", chat.choices[0].finish_reason == "stop")
raw = client.chat.completions.with_raw_response.create(model="support-bot", messages=[{"role": "user", "content": "Hi"}])
check("chat.headers", raw.headers.get("x-tern-deployment") == "small" and raw.headers.get("x-tern-trace-id"), dict(raw.headers))

# Chat, streaming, with usage.
stream = client.chat.completions.create(
    model="support-bot", messages=[{"role": "user", "content": "Hi"}], stream=True, stream_options={"include_usage": True}
)
text, usage, finish = "", None, None
for chunk in stream:
    if chunk.choices:
        text += chunk.choices[0].delta.content or ""
        finish = chunk.choices[0].finish_reason or finish
    if chunk.usage:
        usage = chunk.usage
check("stream.content", text == "Hello from gpt-4o-mini", repr(text))
check("stream.finish_reason", finish == "stop", repr(finish))
check("stream.usage", usage is not None and usage.completion_tokens == 5, repr(usage))

# Streaming through an Anthropic deployment (translated).
stream = client.chat.completions.create(model="claude-direct", messages=[{"role": "user", "content": "Hi"}], stream=True, max_tokens=50)
text = "".join((chunk.choices[0].delta.content or "") for chunk in stream if chunk.choices)
check("stream.anthropic", text == "Hello from claude-3-5-haiku-latest", repr(text))

# Tools.
tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"location": {"type": "string"}}}}}]
for model in ["tools-openai", "tools-anthropic"]:
    reply = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Weather in Paris?"}], tools=tools, max_tokens=50)
    call = reply.choices[0].message.tool_calls[0]
    check(f"tools.{model}", call.function.name == "get_weather" and '"Paris"' in call.function.arguments, repr(call))
    check(f"tools.{model}.finish_reason", reply.choices[0].finish_reason == "tool_calls", reply.choices[0].finish_reason)

# Embeddings.
embeddings = client.embeddings.create(model="embedder", input=["a", "b"])
check("embeddings", len(embeddings.data) == 2 and len(embeddings.data[0].embedding) == 8, repr(embeddings)[:200])

# The built-in local embedding model, when installed (TERN_LOCAL_MODEL=1): the client asks for base64 by
# default; floats on request must decode to the same vectors.
if os.environ.get("TERN_LOCAL_MODEL") == "1":
    texts = ["The cat sits on the mat.", "A cat is sitting on a mat.", "Quarterly revenue grew by four percent."]
    local = client.embeddings.create(model="all-minilm-l6-v2", input=texts)
    vectors = [item.embedding for item in local.data]
    check("local.dimensions", [len(v) for v in vectors] == [384, 384, 384], repr([len(v) for v in vectors]))
    dot = lambda a, b: sum(x * y for x, y in zip(a, b))
    check("local.normalised", all(abs(dot(v, v) - 1) < 1e-4 for v in vectors))
    check("local.semantic", dot(vectors[0], vectors[1]) > dot(vectors[0], vectors[2]) + 0.3,
          repr((dot(vectors[0], vectors[1]), dot(vectors[0], vectors[2]))))
    check("local.usage", local.usage.prompt_tokens > 0 and local.model == "all-minilm-l6-v2", repr(local.usage))
    floats = client.embeddings.create(model="all-minilm-l6-v2", input=texts, encoding_format="float")
    check("local.float_equals_base64", all(abs(x - y) < 1e-6 for a, b in zip(vectors, (i.embedding for i in floats.data)) for x, y in zip(a, b)))

# Models.
ids = {model.id for model in client.models.list()}
check("models.list", {"support-bot", "claude-direct", "embedder"} <= ids, repr(ids))

# Errors raise the SDK's usual exceptions.
try:
    client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "Hi"}])
    check("error.not_found", False, "no exception")
except openai.NotFoundError as error:
    check("error.not_found", error.status_code == 404 and "no-such-model" in str(error))

try:
    openai.OpenAI(base_url=base_url, api_key="tern_" + "x" * 40, max_retries=0).chat.completions.create(
        model="support-bot", messages=[{"role": "user", "content": "Hi"}]
    )
    check("error.authentication", False, "no exception")
except openai.AuthenticationError as error:
    check("error.authentication", error.status_code == 401)

try:
    client.chat.completions.create(model="support-bot", messages=[])
    check("error.bad_request", False, "no exception")
except openai.BadRequestError as error:
    check("error.bad_request", error.status_code == 400)

limited = openai.OpenAI(base_url=base_url, api_key=os.environ["TERN_LIMITED_KEY"], max_retries=0)
limited.chat.completions.create(model="support-bot", messages=[{"role": "user", "content": "Hi"}])
try:
    limited.chat.completions.create(model="support-bot", messages=[{"role": "user", "content": "Hi"}])
    check("error.rate_limit", False, "no exception")
except openai.RateLimitError as error:
    check("error.rate_limit", error.status_code == 429 and error.code == "rpm_limit_exceeded", repr(error.body))

print("all checks passed")
