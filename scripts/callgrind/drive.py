# Sends N identical Codex-shaped requests over one keep-alive connection (for scripts/callgrind.sh).
import http.client, json, os, sys
port, n, stream = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "stream"
d = json.load(open('tests/fixtures/codex/request_turn1_gpt55.json'))
d['stream'] = stream
if len(sys.argv) > 4:
    d['model'] = sys.argv[4]
body = json.dumps(d).encode()
# VARY=tools: a new first tool description each request, so that nothing remembers the tools.
vary = os.environ.get('VARY') == 'tools'
c = http.client.HTTPConnection('127.0.0.1', port)
ok = 0
for i in range(n):
    if vary:
        d['tools'][0]['description'] = 'turn %06d %s' % (i, d['tools'][0].get('description', ''))
        body = json.dumps(d).encode()
        d['tools'][0]['description'] = d['tools'][0]['description'][12:]
    c.request('POST', '/v1/responses', body, {'content-type': 'application/json', 'authorization': 'Bearer team-key'})
    r = c.getresponse(); data = r.read()
    ok += r.status == 200
print("ok", ok, "of", n)
