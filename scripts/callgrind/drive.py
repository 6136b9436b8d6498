# Sends N identical Codex-shaped requests over one keep-alive connection (for scripts/callgrind.sh).
import http.client, json, os, sys
port, n, stream = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "stream"
d = json.load(open('tests/fixtures/codex/request_turn1_gpt55.json'))
d['stream'] = stream
if len(sys.argv) > 4:
    d['model'] = sys.argv[4]
body = json.dumps(d).encode()
# VARY (comma-separated): `tools`, a new first tool description each request, so that nothing
# remembers the tools; `last`, a new text in the last input item, as a turn that adds to the
# conversation; `first`, the same in the first item, so that no item is remembered.
vary = set(filter(None, os.environ.get('VARY', '').split(',')))

def text_of(item):
    """The item's text holder and key: its last content part, or itself."""
    c = item.get('content')
    if isinstance(c, list) and c and 'text' in c[-1]:
        return c[-1], 'text'
    return item, 'content'

c = http.client.HTTPConnection('127.0.0.1', port)
ok = 0
for i in range(n):
    if vary:
        edits = []
        if 'tools' in vary:
            edits.append((d['tools'][0], 'description'))
        if 'last' in vary:
            edits.append(text_of(d['input'][-1]))
        if 'first' in vary:
            edits.append(text_of(d['input'][0]))
        for holder, key in edits:
            holder[key] = 'turn %06d %s' % (i, holder.get(key, ''))
        body = json.dumps(d).encode()
        for holder, key in edits:
            holder[key] = holder[key][12:]
    c.request('POST', '/v1/responses', body, {'content-type': 'application/json', 'authorization': 'Bearer team-key'})
    r = c.getresponse(); data = r.read()
    ok += r.status == 200
print("ok", ok, "of", n)
