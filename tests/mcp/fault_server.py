"""A tiny MCP server (stdio, newline-delimited JSON-RPC) that misbehaves on purpose, for the
gateway's fault tests: `hang` never answers, `crash` exits mid-call, `garbage` writes
non-JSON, `sleep` answers after `secs` seconds, `ok` answers at once."""
import json
import sys
import threading
import time

LOCK = threading.Lock()

TOOLS = [
    {"name": n, "description": f"fault tool {n}", "inputSchema": {"type": "object", "properties": {"secs": {"type": "number"}}}}
    for n in ["hang", "crash", "garbage", "sleep", "ok"]
]


def send(msg):
    with LOCK:
        sys.stdout.write(json.dumps(msg) + "\n")
        sys.stdout.flush()


def sleep_then_answer(rid, secs):
    time.sleep(secs)
    send({"jsonrpc": "2.0", "id": rid, "result": {"content": [{"type": "text", "text": "sleep done"}], "isError": False}})


for line in sys.stdin:
    try:
        req = json.loads(line)
    except ValueError:
        continue
    method, rid = req.get("method"), req.get("id")
    if method == "initialize":
        send({"jsonrpc": "2.0", "id": rid, "result": {
            "protocolVersion": req["params"].get("protocolVersion", "2025-06-18"),
            "capabilities": {"tools": {}}, "serverInfo": {"name": "faults", "version": "1"}}})
    elif method == "tools/list":
        send({"jsonrpc": "2.0", "id": rid, "result": {"tools": TOOLS}})
    elif method == "tools/call":
        name = req["params"]["name"]
        args = req["params"].get("arguments") or {}
        if name == "hang":
            continue
        if name == "crash":
            sys.exit(3)
        if name == "garbage":
            sys.stdout.write("this is {not json\n")
            sys.stdout.flush()
            continue
        if name == "sleep":
            threading.Thread(target=sleep_then_answer, args=(rid, float(args.get("secs", 1))), daemon=True).start()
            continue
        send({"jsonrpc": "2.0", "id": rid, "result": {"content": [{"type": "text", "text": f"{name} done"}], "isError": False}})
    elif rid is not None:
        send({"jsonrpc": "2.0", "id": rid, "result": {}})
