"""The official `openai` SDK as a real client of the gateway (run under `bifrost run`).

Usage: python3 openai_client.py MODEL
Reads OPENAI_BASE_URL and OPENAI_API_KEY (set by bifrost). Prints one JSON object with what
each API call returned, for the Rust test to check.
"""
import json
import sys

from openai import OpenAI

model = sys.argv[1]
client = OpenAI(max_retries=0, timeout=60)
out = {}

r = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "chat please"}])
out["chat"] = r.choices[0].message.content
out["chat_usage"] = [r.usage.prompt_tokens, r.usage.completion_tokens]

text, usage = "", None
stream = client.chat.completions.create(
    model=model, messages=[{"role": "user", "content": "chat stream please"}],
    stream=True, stream_options={"include_usage": True})
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        text += chunk.choices[0].delta.content
    if chunk.usage:
        usage = [chunk.usage.prompt_tokens, chunk.usage.completion_tokens]
out["chat_stream"], out["chat_stream_usage"] = text, usage

r = client.responses.create(model=model, input="responses please")
out["responses"] = r.output_text
out["responses_usage"] = [r.usage.input_tokens, r.usage.output_tokens]

with client.responses.stream(model=model, input="responses stream please") as s:
    deltas = [e.delta for e in s if e.type == "response.output_text.delta"]
    final = s.get_final_response()
out["responses_stream"] = final.output_text
out["responses_stream_deltas"] = len(deltas)
out["responses_stream_usage"] = [final.usage.input_tokens, final.usage.output_tokens]

if "--tools" not in sys.argv:
    print(json.dumps(out))
    sys.exit(0)

tools = [{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
r = client.chat.completions.create(model=model, tools=tools, messages=[{"role": "user", "content": "weather in Oslo?"}])
call = r.choices[0].message.tool_calls[0]
out["tool_call"] = [call.function.name, json.loads(call.function.arguments)]
r = client.chat.completions.create(model=model, tools=tools, messages=[
    {"role": "user", "content": "weather in Oslo?"},
    {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
    {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21C"}])
out["after_tool"] = r.choices[0].message.content

print(json.dumps(out))
