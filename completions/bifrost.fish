# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_bifrost_global_optspecs
    string join \n config= codex-bin= summary= mcp= no-mcp gateway= key= log-format= h/help V/version
end

function __fish_bifrost_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_bifrost_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_bifrost_using_subcommand
    set -l cmd (__fish_bifrost_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c bifrost -n "__fish_bifrost_needs_command" -l config -d 'Config file [default: $BIFROST_CONFIG, then $XDG_CONFIG_HOME/bifrost/config.toml]' -r -F
complete -c bifrost -n "__fish_bifrost_needs_command" -l codex-bin -d 'The codex binary [default: $BIFROST_CODEX_BIN, then `codex` on PATH]' -r -F
complete -c bifrost -n "__fish_bifrost_needs_command" -l summary -d 'What to print when the child exits' -r -f -a "table\t'A table on stderr'
json\t'One JSON object on stderr'
none\t'Nothing'"
complete -c bifrost -n "__fish_bifrost_needs_command" -l mcp -d 'Only these MCP servers (comma-separated names from the config)' -r
complete -c bifrost -n "__fish_bifrost_needs_command" -l gateway -d 'Remote mode: use the `bifrost serve` gateway at URL instead of starting one (codex only)' -r
complete -c bifrost -n "__fish_bifrost_needs_command" -l key -d 'The key for --gateway; prefer the BIFROST_KEY variable (a flag shows in `ps`)' -r
complete -c bifrost -n "__fish_bifrost_needs_command" -l log-format -d 'bifrost\'s own log lines: plain text, or one JSON object per line' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line (for log collectors)'"
complete -c bifrost -n "__fish_bifrost_needs_command" -l no-mcp -d 'No MCP servers for this run'
complete -c bifrost -n "__fish_bifrost_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bifrost -n "__fish_bifrost_needs_command" -s V -l version -d 'Print version'
complete -c bifrost -n "__fish_bifrost_needs_command" -f -a "codex" -d 'Run Codex through the gateway; every argument after `codex` goes to codex unchanged'
complete -c bifrost -n "__fish_bifrost_needs_command" -f -a "run" -d 'Run any OpenAI-compatible program with OPENAI_BASE_URL and OPENAI_API_KEY pointing at the gateway'
complete -c bifrost -n "__fish_bifrost_needs_command" -f -a "serve" -d 'Run the gateway as a long-lived server for other clients'
complete -c bifrost -n "__fish_bifrost_needs_command" -f -a "logs" -d 'Show logged requests'
complete -c bifrost -n "__fish_bifrost_needs_command" -f -a "stats" -d 'Tokens, cost, success rate and latency per model, provider, day or session'
complete -c bifrost -n "__fish_bifrost_needs_command" -f -a "sessions" -d 'One line per session: command, models, requests, tokens, cost, exit code'
complete -c bifrost -n "__fish_bifrost_needs_command" -f -a "pricing" -d 'Show the embedded price table, or import one as config overrides'
complete -c bifrost -n "__fish_bifrost_needs_command" -f -a "ui" -d 'Serve the logs dashboard on 127.0.0.1 (no providers needed) and print its one-time URL'
complete -c bifrost -n "__fish_bifrost_needs_command" -f -a "models" -d 'List each provider\'s models with context windows and prices'
complete -c bifrost -n "__fish_bifrost_needs_command" -f -a "config" -d 'Write or check the config file'
complete -c bifrost -n "__fish_bifrost_needs_command" -f -a "keys" -d 'Create, list, revoke and rotate virtual keys for `bifrost serve`'
complete -c bifrost -n "__fish_bifrost_needs_command" -f -a "mcp" -d 'Inspect and call the configured MCP servers'
complete -c bifrost -n "__fish_bifrost_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c bifrost -n "__fish_bifrost_needs_command" -f -a "generate-assets" -d 'Regenerate completions/ and man/ (for maintainers)'
complete -c bifrost -n "__fish_bifrost_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bifrost -n "__fish_bifrost_using_subcommand codex" -s V -l version -d 'Print version'
complete -c bifrost -n "__fish_bifrost_using_subcommand run" -s V -l version -d 'Print version'
complete -c bifrost -n "__fish_bifrost_using_subcommand serve" -l host -d 'Address to bind [default: [server] host, or 127.0.0.1]' -r
complete -c bifrost -n "__fish_bifrost_using_subcommand serve" -l port -d 'Port [default: [server] port, or 8787]; 0 picks a free one' -r
complete -c bifrost -n "__fish_bifrost_using_subcommand serve" -s h -l help -d 'Print help'
complete -c bifrost -n "__fish_bifrost_using_subcommand serve" -s V -l version -d 'Print version'
complete -c bifrost -n "__fish_bifrost_using_subcommand logs; and not __fish_seen_subcommand_from show prune help" -l session -d 'Only this session' -r
complete -c bifrost -n "__fish_bifrost_using_subcommand logs; and not __fish_seen_subcommand_from show prune help" -l since -d 'Only requests since a span ago (30m, 2h, 7d) or an RFC 3339 time' -r
complete -c bifrost -n "__fish_bifrost_using_subcommand logs; and not __fish_seen_subcommand_from show prune help" -l model -d 'Only this model: as requested, or as provider/upstream-model' -r
complete -c bifrost -n "__fish_bifrost_using_subcommand logs; and not __fish_seen_subcommand_from show prune help" -l provider -d 'Only this provider' -r
complete -c bifrost -n "__fish_bifrost_using_subcommand logs; and not __fish_seen_subcommand_from show prune help" -l limit -d 'At most N requests (the newest); 0 for all' -r
complete -c bifrost -n "__fish_bifrost_using_subcommand logs; and not __fish_seen_subcommand_from show prune help" -s o -l output -d 'Write to FILE instead of stdout, streaming rows, with progress on stderr' -r -F
complete -c bifrost -n "__fish_bifrost_using_subcommand logs; and not __fish_seen_subcommand_from show prune help" -l last -d 'Only the latest session'
complete -c bifrost -n "__fish_bifrost_using_subcommand logs; and not __fish_seen_subcommand_from show prune help" -l errors -d 'Only failed requests'
complete -c bifrost -n "__fish_bifrost_using_subcommand logs; and not __fish_seen_subcommand_from show prune help" -l json -d 'JSON array instead of a table (one object per line with --follow)'
complete -c bifrost -n "__fish_bifrost_using_subcommand logs; and not __fish_seen_subcommand_from show prune help" -l csv -d 'CSV (RFC 4180) with the --json fields as columns'
complete -c bifrost -n "__fish_bifrost_using_subcommand logs; and not __fish_seen_subcommand_from show prune help" -s f -l follow -d 'Keep printing requests as they are logged, by any bifrost, until Ctrl-C'
complete -c bifrost -n "__fish_bifrost_using_subcommand logs; and not __fish_seen_subcommand_from show prune help" -s h -l help -d 'Print help'
complete -c bifrost -n "__fish_bifrost_using_subcommand logs; and not __fish_seen_subcommand_from show prune help" -s V -l version -d 'Print version'
complete -c bifrost -n "__fish_bifrost_using_subcommand logs; and not __fish_seen_subcommand_from show prune help" -f -a "show" -d 'Print one request: metadata, headers (redacted), request and response'
complete -c bifrost -n "__fish_bifrost_using_subcommand logs; and not __fish_seen_subcommand_from show prune help" -f -a "prune" -d 'Delete old requests and their bodies'
complete -c bifrost -n "__fish_bifrost_using_subcommand logs; and not __fish_seen_subcommand_from show prune help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bifrost -n "__fish_bifrost_using_subcommand logs; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c bifrost -n "__fish_bifrost_using_subcommand logs; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c bifrost -n "__fish_bifrost_using_subcommand logs; and __fish_seen_subcommand_from prune" -l older-than -d 'Delete requests older than this span (30m, 2h, 7d) or RFC 3339 time' -r
complete -c bifrost -n "__fish_bifrost_using_subcommand logs; and __fish_seen_subcommand_from prune" -l vacuum -d 'Then VACUUM the store to give the space back to the file system'
complete -c bifrost -n "__fish_bifrost_using_subcommand logs; and __fish_seen_subcommand_from prune" -s h -l help -d 'Print help'
complete -c bifrost -n "__fish_bifrost_using_subcommand logs; and __fish_seen_subcommand_from prune" -s V -l version -d 'Print version'
complete -c bifrost -n "__fish_bifrost_using_subcommand logs; and __fish_seen_subcommand_from help" -f -a "show" -d 'Print one request: metadata, headers (redacted), request and response'
complete -c bifrost -n "__fish_bifrost_using_subcommand logs; and __fish_seen_subcommand_from help" -f -a "prune" -d 'Delete old requests and their bodies'
complete -c bifrost -n "__fish_bifrost_using_subcommand logs; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bifrost -n "__fish_bifrost_using_subcommand stats" -l since -d 'Only requests since a span ago (30m, 2h, 7d) or an RFC 3339 time' -r
complete -c bifrost -n "__fish_bifrost_using_subcommand stats" -l by -d 'Group rows by' -r -f -a "model\t'provider/model'
provider\t'Provider name'
day\t'UTC calendar day'
session\t'Session id'"
complete -c bifrost -n "__fish_bifrost_using_subcommand stats" -l json -d 'JSON instead of a table'
complete -c bifrost -n "__fish_bifrost_using_subcommand stats" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bifrost -n "__fish_bifrost_using_subcommand stats" -s V -l version -d 'Print version'
complete -c bifrost -n "__fish_bifrost_using_subcommand sessions" -l limit -d 'At most N sessions (the newest)' -r
complete -c bifrost -n "__fish_bifrost_using_subcommand sessions" -l json -d 'JSON array instead of a table'
complete -c bifrost -n "__fish_bifrost_using_subcommand sessions" -s h -l help -d 'Print help'
complete -c bifrost -n "__fish_bifrost_using_subcommand sessions" -s V -l version -d 'Print version'
complete -c bifrost -n "__fish_bifrost_using_subcommand pricing; and not __fish_seen_subcommand_from import help" -l json -d 'JSON instead of a table'
complete -c bifrost -n "__fish_bifrost_using_subcommand pricing; and not __fish_seen_subcommand_from import help" -s h -l help -d 'Print help'
complete -c bifrost -n "__fish_bifrost_using_subcommand pricing; and not __fish_seen_subcommand_from import help" -s V -l version -d 'Print version'
complete -c bifrost -n "__fish_bifrost_using_subcommand pricing; and not __fish_seen_subcommand_from import help" -a "import" -d 'Convert a genai-prices data.json or a LiteLLM model_prices_and_context_window.json into a TOML file of [pricing."provider/model"] tables to paste into the config'
complete -c bifrost -n "__fish_bifrost_using_subcommand pricing; and not __fish_seen_subcommand_from import help" -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bifrost -n "__fish_bifrost_using_subcommand pricing; and __fish_seen_subcommand_from import" -l out -d 'Where to write the TOML [default: pricing-overrides.toml next to the config]' -r -F
complete -c bifrost -n "__fish_bifrost_using_subcommand pricing; and __fish_seen_subcommand_from import" -s h -l help -d 'Print help'
complete -c bifrost -n "__fish_bifrost_using_subcommand pricing; and __fish_seen_subcommand_from import" -s V -l version -d 'Print version'
complete -c bifrost -n "__fish_bifrost_using_subcommand pricing; and __fish_seen_subcommand_from help" -f -a "import" -d 'Convert a genai-prices data.json or a LiteLLM model_prices_and_context_window.json into a TOML file of [pricing."provider/model"] tables to paste into the config'
complete -c bifrost -n "__fish_bifrost_using_subcommand pricing; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bifrost -n "__fish_bifrost_using_subcommand ui" -l port -d 'Port on 127.0.0.1; 0 picks a free one' -r
complete -c bifrost -n "__fish_bifrost_using_subcommand ui" -s h -l help -d 'Print help'
complete -c bifrost -n "__fish_bifrost_using_subcommand ui" -s V -l version -d 'Print version'
complete -c bifrost -n "__fish_bifrost_using_subcommand models" -l json -d 'JSON instead of a table'
complete -c bifrost -n "__fish_bifrost_using_subcommand models" -s h -l help -d 'Print help'
complete -c bifrost -n "__fish_bifrost_using_subcommand models" -s V -l version -d 'Print version'
complete -c bifrost -n "__fish_bifrost_using_subcommand config; and not __fish_seen_subcommand_from init check path help" -s h -l help -d 'Print help'
complete -c bifrost -n "__fish_bifrost_using_subcommand config; and not __fish_seen_subcommand_from init check path help" -s V -l version -d 'Print version'
complete -c bifrost -n "__fish_bifrost_using_subcommand config; and not __fish_seen_subcommand_from init check path help" -f -a "init" -d 'Write a commented template to the config path'
complete -c bifrost -n "__fish_bifrost_using_subcommand config; and not __fish_seen_subcommand_from init check path help" -f -a "check" -d 'Report every problem in the config, with file, line and fix'
complete -c bifrost -n "__fish_bifrost_using_subcommand config; and not __fish_seen_subcommand_from init check path help" -f -a "path" -d 'Print the config path in use'
complete -c bifrost -n "__fish_bifrost_using_subcommand config; and not __fish_seen_subcommand_from init check path help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bifrost -n "__fish_bifrost_using_subcommand config; and __fish_seen_subcommand_from init" -l force -d 'Overwrite an existing file'
complete -c bifrost -n "__fish_bifrost_using_subcommand config; and __fish_seen_subcommand_from init" -s h -l help -d 'Print help'
complete -c bifrost -n "__fish_bifrost_using_subcommand config; and __fish_seen_subcommand_from init" -s V -l version -d 'Print version'
complete -c bifrost -n "__fish_bifrost_using_subcommand config; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help'
complete -c bifrost -n "__fish_bifrost_using_subcommand config; and __fish_seen_subcommand_from check" -s V -l version -d 'Print version'
complete -c bifrost -n "__fish_bifrost_using_subcommand config; and __fish_seen_subcommand_from path" -s h -l help -d 'Print help'
complete -c bifrost -n "__fish_bifrost_using_subcommand config; and __fish_seen_subcommand_from path" -s V -l version -d 'Print version'
complete -c bifrost -n "__fish_bifrost_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "init" -d 'Write a commented template to the config path'
complete -c bifrost -n "__fish_bifrost_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "check" -d 'Report every problem in the config, with file, line and fix'
complete -c bifrost -n "__fish_bifrost_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "path" -d 'Print the config path in use'
complete -c bifrost -n "__fish_bifrost_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bifrost -n "__fish_bifrost_using_subcommand keys; and not __fish_seen_subcommand_from create list revoke rotate help" -s h -l help -d 'Print help'
complete -c bifrost -n "__fish_bifrost_using_subcommand keys; and not __fish_seen_subcommand_from create list revoke rotate help" -s V -l version -d 'Print version'
complete -c bifrost -n "__fish_bifrost_using_subcommand keys; and not __fish_seen_subcommand_from create list revoke rotate help" -f -a "create" -d 'Make a key and print it once (only its hash is stored)'
complete -c bifrost -n "__fish_bifrost_using_subcommand keys; and not __fish_seen_subcommand_from create list revoke rotate help" -f -a "list" -d 'Every key: name, id, prefix, limits, spend this period, state'
complete -c bifrost -n "__fish_bifrost_using_subcommand keys; and not __fish_seen_subcommand_from create list revoke rotate help" -f -a "revoke" -d 'Stop a key working on every gateway (within a second)'
complete -c bifrost -n "__fish_bifrost_using_subcommand keys; and not __fish_seen_subcommand_from create list revoke rotate help" -f -a "rotate" -d 'Give a key a new secret (limits and spend stay); the old one stops working'
complete -c bifrost -n "__fish_bifrost_using_subcommand keys; and not __fish_seen_subcommand_from create list revoke rotate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bifrost -n "__fish_bifrost_using_subcommand keys; and __fish_seen_subcommand_from create" -l name -d 'A unique name, shown in logs (e.g. alice)' -r
complete -c bifrost -n "__fish_bifrost_using_subcommand keys; and __fish_seen_subcommand_from create" -l budget-usd -d 'Spend limit in USD per UTC day or month: 50/month, 5/day' -r
complete -c bifrost -n "__fish_bifrost_using_subcommand keys; and __fish_seen_subcommand_from create" -l rpm -d 'Requests per minute' -r
complete -c bifrost -n "__fish_bifrost_using_subcommand keys; and __fish_seen_subcommand_from create" -l tpm -d 'Tokens (input + output) per minute' -r
complete -c bifrost -n "__fish_bifrost_using_subcommand keys; and __fish_seen_subcommand_from create" -l models -d 'Allowed models, comma-separated globs: "anthropic/*,openai/gpt-5.5" [default: all]' -r
complete -c bifrost -n "__fish_bifrost_using_subcommand keys; and __fish_seen_subcommand_from create" -l expires -d 'Expiry: a span (30d, 12h) or an RFC 3339 time [default: never]' -r
complete -c bifrost -n "__fish_bifrost_using_subcommand keys; and __fish_seen_subcommand_from create" -l json -d 'Print the key and its settings as JSON'
complete -c bifrost -n "__fish_bifrost_using_subcommand keys; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c bifrost -n "__fish_bifrost_using_subcommand keys; and __fish_seen_subcommand_from create" -s V -l version -d 'Print version'
complete -c bifrost -n "__fish_bifrost_using_subcommand keys; and __fish_seen_subcommand_from list" -l json -d 'JSON instead of a table'
complete -c bifrost -n "__fish_bifrost_using_subcommand keys; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c bifrost -n "__fish_bifrost_using_subcommand keys; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c bifrost -n "__fish_bifrost_using_subcommand keys; and __fish_seen_subcommand_from revoke" -s h -l help -d 'Print help'
complete -c bifrost -n "__fish_bifrost_using_subcommand keys; and __fish_seen_subcommand_from revoke" -s V -l version -d 'Print version'
complete -c bifrost -n "__fish_bifrost_using_subcommand keys; and __fish_seen_subcommand_from rotate" -s h -l help -d 'Print help'
complete -c bifrost -n "__fish_bifrost_using_subcommand keys; and __fish_seen_subcommand_from rotate" -s V -l version -d 'Print version'
complete -c bifrost -n "__fish_bifrost_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "create" -d 'Make a key and print it once (only its hash is stored)'
complete -c bifrost -n "__fish_bifrost_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "list" -d 'Every key: name, id, prefix, limits, spend this period, state'
complete -c bifrost -n "__fish_bifrost_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "revoke" -d 'Stop a key working on every gateway (within a second)'
complete -c bifrost -n "__fish_bifrost_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "rotate" -d 'Give a key a new secret (limits and spend stay); the old one stops working'
complete -c bifrost -n "__fish_bifrost_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bifrost -n "__fish_bifrost_using_subcommand mcp; and not __fish_seen_subcommand_from list call help" -s h -l help -d 'Print help'
complete -c bifrost -n "__fish_bifrost_using_subcommand mcp; and not __fish_seen_subcommand_from list call help" -s V -l version -d 'Print version'
complete -c bifrost -n "__fish_bifrost_using_subcommand mcp; and not __fish_seen_subcommand_from list call help" -f -a "list" -d 'Start every configured server and list its state and tools'
complete -c bifrost -n "__fish_bifrost_using_subcommand mcp; and not __fish_seen_subcommand_from list call help" -f -a "call" -d 'Call one tool once and print its result'
complete -c bifrost -n "__fish_bifrost_using_subcommand mcp; and not __fish_seen_subcommand_from list call help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bifrost -n "__fish_bifrost_using_subcommand mcp; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c bifrost -n "__fish_bifrost_using_subcommand mcp; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c bifrost -n "__fish_bifrost_using_subcommand mcp; and __fish_seen_subcommand_from call" -s h -l help -d 'Print help'
complete -c bifrost -n "__fish_bifrost_using_subcommand mcp; and __fish_seen_subcommand_from call" -s V -l version -d 'Print version'
complete -c bifrost -n "__fish_bifrost_using_subcommand mcp; and __fish_seen_subcommand_from help" -f -a "list" -d 'Start every configured server and list its state and tools'
complete -c bifrost -n "__fish_bifrost_using_subcommand mcp; and __fish_seen_subcommand_from help" -f -a "call" -d 'Call one tool once and print its result'
complete -c bifrost -n "__fish_bifrost_using_subcommand mcp; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bifrost -n "__fish_bifrost_using_subcommand completions" -s h -l help -d 'Print help'
complete -c bifrost -n "__fish_bifrost_using_subcommand completions" -s V -l version -d 'Print version'
complete -c bifrost -n "__fish_bifrost_using_subcommand generate-assets" -l dir -d 'The repository root' -r -F
complete -c bifrost -n "__fish_bifrost_using_subcommand generate-assets" -s h -l help -d 'Print help'
complete -c bifrost -n "__fish_bifrost_using_subcommand generate-assets" -s V -l version -d 'Print version'
complete -c bifrost -n "__fish_bifrost_using_subcommand help; and not __fish_seen_subcommand_from codex run serve logs stats sessions pricing ui models config keys mcp completions generate-assets help" -f -a "codex" -d 'Run Codex through the gateway; every argument after `codex` goes to codex unchanged'
complete -c bifrost -n "__fish_bifrost_using_subcommand help; and not __fish_seen_subcommand_from codex run serve logs stats sessions pricing ui models config keys mcp completions generate-assets help" -f -a "run" -d 'Run any OpenAI-compatible program with OPENAI_BASE_URL and OPENAI_API_KEY pointing at the gateway'
complete -c bifrost -n "__fish_bifrost_using_subcommand help; and not __fish_seen_subcommand_from codex run serve logs stats sessions pricing ui models config keys mcp completions generate-assets help" -f -a "serve" -d 'Run the gateway as a long-lived server for other clients'
complete -c bifrost -n "__fish_bifrost_using_subcommand help; and not __fish_seen_subcommand_from codex run serve logs stats sessions pricing ui models config keys mcp completions generate-assets help" -f -a "logs" -d 'Show logged requests'
complete -c bifrost -n "__fish_bifrost_using_subcommand help; and not __fish_seen_subcommand_from codex run serve logs stats sessions pricing ui models config keys mcp completions generate-assets help" -f -a "stats" -d 'Tokens, cost, success rate and latency per model, provider, day or session'
complete -c bifrost -n "__fish_bifrost_using_subcommand help; and not __fish_seen_subcommand_from codex run serve logs stats sessions pricing ui models config keys mcp completions generate-assets help" -f -a "sessions" -d 'One line per session: command, models, requests, tokens, cost, exit code'
complete -c bifrost -n "__fish_bifrost_using_subcommand help; and not __fish_seen_subcommand_from codex run serve logs stats sessions pricing ui models config keys mcp completions generate-assets help" -f -a "pricing" -d 'Show the embedded price table, or import one as config overrides'
complete -c bifrost -n "__fish_bifrost_using_subcommand help; and not __fish_seen_subcommand_from codex run serve logs stats sessions pricing ui models config keys mcp completions generate-assets help" -f -a "ui" -d 'Serve the logs dashboard on 127.0.0.1 (no providers needed) and print its one-time URL'
complete -c bifrost -n "__fish_bifrost_using_subcommand help; and not __fish_seen_subcommand_from codex run serve logs stats sessions pricing ui models config keys mcp completions generate-assets help" -f -a "models" -d 'List each provider\'s models with context windows and prices'
complete -c bifrost -n "__fish_bifrost_using_subcommand help; and not __fish_seen_subcommand_from codex run serve logs stats sessions pricing ui models config keys mcp completions generate-assets help" -f -a "config" -d 'Write or check the config file'
complete -c bifrost -n "__fish_bifrost_using_subcommand help; and not __fish_seen_subcommand_from codex run serve logs stats sessions pricing ui models config keys mcp completions generate-assets help" -f -a "keys" -d 'Create, list, revoke and rotate virtual keys for `bifrost serve`'
complete -c bifrost -n "__fish_bifrost_using_subcommand help; and not __fish_seen_subcommand_from codex run serve logs stats sessions pricing ui models config keys mcp completions generate-assets help" -f -a "mcp" -d 'Inspect and call the configured MCP servers'
complete -c bifrost -n "__fish_bifrost_using_subcommand help; and not __fish_seen_subcommand_from codex run serve logs stats sessions pricing ui models config keys mcp completions generate-assets help" -f -a "completions" -d 'Print a shell completion script'
complete -c bifrost -n "__fish_bifrost_using_subcommand help; and not __fish_seen_subcommand_from codex run serve logs stats sessions pricing ui models config keys mcp completions generate-assets help" -f -a "generate-assets" -d 'Regenerate completions/ and man/ (for maintainers)'
complete -c bifrost -n "__fish_bifrost_using_subcommand help; and not __fish_seen_subcommand_from codex run serve logs stats sessions pricing ui models config keys mcp completions generate-assets help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bifrost -n "__fish_bifrost_using_subcommand help; and __fish_seen_subcommand_from logs" -f -a "show" -d 'Print one request: metadata, headers (redacted), request and response'
complete -c bifrost -n "__fish_bifrost_using_subcommand help; and __fish_seen_subcommand_from logs" -f -a "prune" -d 'Delete old requests and their bodies'
complete -c bifrost -n "__fish_bifrost_using_subcommand help; and __fish_seen_subcommand_from pricing" -f -a "import" -d 'Convert a genai-prices data.json or a LiteLLM model_prices_and_context_window.json into a TOML file of [pricing."provider/model"] tables to paste into the config'
complete -c bifrost -n "__fish_bifrost_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "init" -d 'Write a commented template to the config path'
complete -c bifrost -n "__fish_bifrost_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "check" -d 'Report every problem in the config, with file, line and fix'
complete -c bifrost -n "__fish_bifrost_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "path" -d 'Print the config path in use'
complete -c bifrost -n "__fish_bifrost_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "create" -d 'Make a key and print it once (only its hash is stored)'
complete -c bifrost -n "__fish_bifrost_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "list" -d 'Every key: name, id, prefix, limits, spend this period, state'
complete -c bifrost -n "__fish_bifrost_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "revoke" -d 'Stop a key working on every gateway (within a second)'
complete -c bifrost -n "__fish_bifrost_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "rotate" -d 'Give a key a new secret (limits and spend stay); the old one stops working'
complete -c bifrost -n "__fish_bifrost_using_subcommand help; and __fish_seen_subcommand_from mcp" -f -a "list" -d 'Start every configured server and list its state and tools'
complete -c bifrost -n "__fish_bifrost_using_subcommand help; and __fish_seen_subcommand_from mcp" -f -a "call" -d 'Call one tool once and print its result'
