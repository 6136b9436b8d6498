
use builtin;
use str;

set edit:completion:arg-completer[bifrost] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'bifrost'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'bifrost'= {
            cand --config 'Config file [default: $BIFROST_CONFIG, then $XDG_CONFIG_HOME/bifrost/config.toml]'
            cand --codex-bin 'The codex binary [default: $BIFROST_CODEX_BIN, then `codex` on PATH]'
            cand --summary 'What to print when the child exits'
            cand --mcp 'Only these MCP servers (comma-separated names from the config)'
            cand --gateway 'Remote mode: use the `bifrost serve` gateway at URL instead of starting one (codex only)'
            cand --key 'The key for --gateway; prefer the BIFROST_KEY variable (a flag shows in `ps`)'
            cand --log-format 'bifrost''s own log lines: plain text, or one JSON object per line'
            cand --no-mcp 'No MCP servers for this run'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand codex 'Run Codex through the gateway; every argument after `codex` goes to codex unchanged'
            cand run 'Run any OpenAI-compatible program with OPENAI_BASE_URL and OPENAI_API_KEY pointing at the gateway'
            cand serve 'Run the gateway as a long-lived server for other clients'
            cand logs 'Show logged requests'
            cand stats 'Tokens, cost, success rate and latency per model, provider, day or session'
            cand sessions 'One line per session: command, models, requests, tokens, cost, exit code'
            cand pricing 'Show the embedded price table, or import one as config overrides'
            cand ui 'Serve the logs dashboard on 127.0.0.1 (no providers needed) and print its one-time URL'
            cand models 'List each provider''s models with context windows and prices'
            cand config 'Write or check the config file'
            cand keys 'Create, list, revoke and rotate virtual keys for `bifrost serve`'
            cand mcp 'Inspect and call the configured MCP servers'
            cand completions 'Print a shell completion script'
            cand generate-assets 'Regenerate completions/ and man/ (for maintainers)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'bifrost;codex'= {
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bifrost;run'= {
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bifrost;serve'= {
            cand --host 'Address to bind [default: [server] host, or 127.0.0.1]'
            cand --port 'Port [default: [server] port, or 8787]; 0 picks a free one'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bifrost;logs'= {
            cand --session 'Only this session'
            cand --since 'Only requests since a span ago (30m, 2h, 7d) or an RFC 3339 time'
            cand --model 'Only this model: as requested, or as provider/upstream-model'
            cand --provider 'Only this provider'
            cand --limit 'At most N requests (the newest); 0 for all'
            cand -o 'Write to FILE instead of stdout, streaming rows, with progress on stderr'
            cand --output 'Write to FILE instead of stdout, streaming rows, with progress on stderr'
            cand --last 'Only the latest session'
            cand --errors 'Only failed requests'
            cand --json 'JSON array instead of a table (one object per line with --follow)'
            cand --csv 'CSV (RFC 4180) with the --json fields as columns'
            cand -f 'Keep printing requests as they are logged, by any bifrost, until Ctrl-C'
            cand --follow 'Keep printing requests as they are logged, by any bifrost, until Ctrl-C'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand show 'Print one request: metadata, headers (redacted), request and response'
            cand prune 'Delete old requests and their bodies'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'bifrost;logs;show'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bifrost;logs;prune'= {
            cand --older-than 'Delete requests older than this span (30m, 2h, 7d) or RFC 3339 time'
            cand --vacuum 'Then VACUUM the store to give the space back to the file system'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bifrost;logs;help'= {
            cand show 'Print one request: metadata, headers (redacted), request and response'
            cand prune 'Delete old requests and their bodies'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'bifrost;logs;help;show'= {
        }
        &'bifrost;logs;help;prune'= {
        }
        &'bifrost;logs;help;help'= {
        }
        &'bifrost;stats'= {
            cand --since 'Only requests since a span ago (30m, 2h, 7d) or an RFC 3339 time'
            cand --by 'Group rows by'
            cand --json 'JSON instead of a table'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bifrost;sessions'= {
            cand --limit 'At most N sessions (the newest)'
            cand --json 'JSON array instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bifrost;pricing'= {
            cand --json 'JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand import 'Convert a genai-prices data.json or a LiteLLM model_prices_and_context_window.json into a TOML file of [pricing."provider/model"] tables to paste into the config'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'bifrost;pricing;import'= {
            cand --out 'Where to write the TOML [default: pricing-overrides.toml next to the config]'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bifrost;pricing;help'= {
            cand import 'Convert a genai-prices data.json or a LiteLLM model_prices_and_context_window.json into a TOML file of [pricing."provider/model"] tables to paste into the config'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'bifrost;pricing;help;import'= {
        }
        &'bifrost;pricing;help;help'= {
        }
        &'bifrost;ui'= {
            cand --port 'Port on 127.0.0.1; 0 picks a free one'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bifrost;models'= {
            cand --json 'JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bifrost;config'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand init 'Write a commented template to the config path'
            cand check 'Report every problem in the config, with file, line and fix'
            cand path 'Print the config path in use'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'bifrost;config;init'= {
            cand --force 'Overwrite an existing file'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bifrost;config;check'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bifrost;config;path'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bifrost;config;help'= {
            cand init 'Write a commented template to the config path'
            cand check 'Report every problem in the config, with file, line and fix'
            cand path 'Print the config path in use'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'bifrost;config;help;init'= {
        }
        &'bifrost;config;help;check'= {
        }
        &'bifrost;config;help;path'= {
        }
        &'bifrost;config;help;help'= {
        }
        &'bifrost;keys'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand create 'Make a key and print it once (only its hash is stored)'
            cand list 'Every key: name, id, prefix, limits, spend this period, state'
            cand revoke 'Stop a key working on every gateway (within a second)'
            cand rotate 'Give a key a new secret (limits and spend stay); the old one stops working'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'bifrost;keys;create'= {
            cand --name 'A unique name, shown in logs (e.g. alice)'
            cand --budget-usd 'Spend limit in USD per UTC day or month: 50/month, 5/day'
            cand --rpm 'Requests per minute'
            cand --tpm 'Tokens (input + output) per minute'
            cand --models 'Allowed models, comma-separated globs: "anthropic/*,openai/gpt-5.5" [default: all]'
            cand --expires 'Expiry: a span (30d, 12h) or an RFC 3339 time [default: never]'
            cand --json 'Print the key and its settings as JSON'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bifrost;keys;list'= {
            cand --json 'JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bifrost;keys;revoke'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bifrost;keys;rotate'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bifrost;keys;help'= {
            cand create 'Make a key and print it once (only its hash is stored)'
            cand list 'Every key: name, id, prefix, limits, spend this period, state'
            cand revoke 'Stop a key working on every gateway (within a second)'
            cand rotate 'Give a key a new secret (limits and spend stay); the old one stops working'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'bifrost;keys;help;create'= {
        }
        &'bifrost;keys;help;list'= {
        }
        &'bifrost;keys;help;revoke'= {
        }
        &'bifrost;keys;help;rotate'= {
        }
        &'bifrost;keys;help;help'= {
        }
        &'bifrost;mcp'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand list 'Start every configured server and list its state and tools'
            cand call 'Call one tool once and print its result'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'bifrost;mcp;list'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bifrost;mcp;call'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bifrost;mcp;help'= {
            cand list 'Start every configured server and list its state and tools'
            cand call 'Call one tool once and print its result'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'bifrost;mcp;help;list'= {
        }
        &'bifrost;mcp;help;call'= {
        }
        &'bifrost;mcp;help;help'= {
        }
        &'bifrost;completions'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bifrost;generate-assets'= {
            cand --dir 'The repository root'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bifrost;help'= {
            cand codex 'Run Codex through the gateway; every argument after `codex` goes to codex unchanged'
            cand run 'Run any OpenAI-compatible program with OPENAI_BASE_URL and OPENAI_API_KEY pointing at the gateway'
            cand serve 'Run the gateway as a long-lived server for other clients'
            cand logs 'Show logged requests'
            cand stats 'Tokens, cost, success rate and latency per model, provider, day or session'
            cand sessions 'One line per session: command, models, requests, tokens, cost, exit code'
            cand pricing 'Show the embedded price table, or import one as config overrides'
            cand ui 'Serve the logs dashboard on 127.0.0.1 (no providers needed) and print its one-time URL'
            cand models 'List each provider''s models with context windows and prices'
            cand config 'Write or check the config file'
            cand keys 'Create, list, revoke and rotate virtual keys for `bifrost serve`'
            cand mcp 'Inspect and call the configured MCP servers'
            cand completions 'Print a shell completion script'
            cand generate-assets 'Regenerate completions/ and man/ (for maintainers)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'bifrost;help;codex'= {
        }
        &'bifrost;help;run'= {
        }
        &'bifrost;help;serve'= {
        }
        &'bifrost;help;logs'= {
            cand show 'Print one request: metadata, headers (redacted), request and response'
            cand prune 'Delete old requests and their bodies'
        }
        &'bifrost;help;logs;show'= {
        }
        &'bifrost;help;logs;prune'= {
        }
        &'bifrost;help;stats'= {
        }
        &'bifrost;help;sessions'= {
        }
        &'bifrost;help;pricing'= {
            cand import 'Convert a genai-prices data.json or a LiteLLM model_prices_and_context_window.json into a TOML file of [pricing."provider/model"] tables to paste into the config'
        }
        &'bifrost;help;pricing;import'= {
        }
        &'bifrost;help;ui'= {
        }
        &'bifrost;help;models'= {
        }
        &'bifrost;help;config'= {
            cand init 'Write a commented template to the config path'
            cand check 'Report every problem in the config, with file, line and fix'
            cand path 'Print the config path in use'
        }
        &'bifrost;help;config;init'= {
        }
        &'bifrost;help;config;check'= {
        }
        &'bifrost;help;config;path'= {
        }
        &'bifrost;help;keys'= {
            cand create 'Make a key and print it once (only its hash is stored)'
            cand list 'Every key: name, id, prefix, limits, spend this period, state'
            cand revoke 'Stop a key working on every gateway (within a second)'
            cand rotate 'Give a key a new secret (limits and spend stay); the old one stops working'
        }
        &'bifrost;help;keys;create'= {
        }
        &'bifrost;help;keys;list'= {
        }
        &'bifrost;help;keys;revoke'= {
        }
        &'bifrost;help;keys;rotate'= {
        }
        &'bifrost;help;mcp'= {
            cand list 'Start every configured server and list its state and tools'
            cand call 'Call one tool once and print its result'
        }
        &'bifrost;help;mcp;list'= {
        }
        &'bifrost;help;mcp;call'= {
        }
        &'bifrost;help;completions'= {
        }
        &'bifrost;help;generate-assets'= {
        }
        &'bifrost;help;help'= {
        }
    ]
    $completions[$command]
}
