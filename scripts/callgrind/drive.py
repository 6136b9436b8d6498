# Sends N identical Codex-shaped requests over one keep-alive connection (for scripts/callgrind.sh).
import http.client, json, os, re, sys
port, n, stream = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "stream"
d = json.load(open('tests/fixtures/codex/request_turn1_gpt55.json'))
if os.environ.get('BODY') == 'session':
    # The ~41 KB body of scripts/bench.sh (`codex_body` in examples/bench.rs): earlier turns
    # written from the fixture's own words in a fixed pseudo-random order, then a last message.
    text = json.dumps(d['input'], separators=(',', ':'), ensure_ascii=False)
    words = [w for w in re.split(r'[^0-9A-Za-z]+', text) if w]
    seed, turn = 0x2545F4914F6CDD1D, 0
    def xorshift():
        global seed
        seed ^= (seed << 13) & 0xFFFFFFFFFFFFFFFF
        seed ^= seed >> 7
        seed ^= (seed << 17) & 0xFFFFFFFFFFFFFFFF
        return seed
    while sum(len(json.dumps(i, separators=(',', ':'))) for i in d['input']) < 30 * 1024:
        turn += 1
        role, kind = ('user', 'input_text') if turn % 2 == 0 else ('assistant', 'output_text')
        said = 'Earlier turn %d of the session:' % turn
        for _ in range(90):
            said += ' ' + words[xorshift() % len(words)]
        d['input'].append({'type': 'message', 'role': role, 'content': [{'type': kind, 'text': said}]})
    d['input'].append({'type': 'message', 'role': 'user', 'content': [{'type': 'input_text', 'text': 'Go on. mock_events=50'}]})
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
