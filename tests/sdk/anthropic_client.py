"""The official `anthropic` SDK as a real client of the gateway (run under `bifrost run`).

Usage: python3 anthropic_client.py MODEL
Reads ANTHROPIC_BASE_URL and ANTHROPIC_AUTH_TOKEN (set by bifrost). Prints one JSON object
with what each call returned, for the Rust test to check.
"""
import json
import sys

import anthropic

model = sys.argv[1]
client = anthropic.Anthropic(max_retries=0, timeout=60)
out = {}

r = client.messages.create(model=model, max_tokens=256, messages=[{"role": "user", "content": "messages please"}])
out["text"] = "".join(b.text for b in r.content if b.type == "text")
out["usage"] = [r.usage.input_tokens, r.usage.output_tokens]
out["stop_reason"] = r.stop_reason

with client.messages.stream(model=model, max_tokens=256, messages=[{"role": "user", "content": "stream please"}]) as s:
    deltas = [t for t in s.text_stream]
    final = s.get_final_message()
out["stream_text"] = "".join(deltas)
out["stream_deltas"] = len(deltas)
out["stream_usage"] = [final.usage.input_tokens, final.usage.output_tokens]

tools = [{"name": "get_weather", "description": "Weather for a city",
          "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]
r = client.messages.create(model=model, max_tokens=256, tools=tools,
                           messages=[{"role": "user", "content": "weather in Oslo?"}])
use = next(b for b in r.content if b.type == "tool_use")
out["tool_use"] = [use.name, use.input]
r = client.messages.create(model=model, max_tokens=256, tools=tools, messages=[
    {"role": "user", "content": "weather in Oslo?"},
    {"role": "assistant", "content": [b.model_dump() for b in r.content]},
    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny, 21C"}]}])
out["after_tool"] = "".join(b.text for b in r.content if b.type == "text")

print(json.dumps(out))
