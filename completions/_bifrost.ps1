
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'bifrost' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'bifrost'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'bifrost' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: $BIFROST_CONFIG, then $XDG_CONFIG_HOME/bifrost/config.toml]')
            [CompletionResult]::new('--codex-bin', '--codex-bin', [CompletionResultType]::ParameterName, 'The codex binary [default: $BIFROST_CODEX_BIN, then `codex` on PATH]')
            [CompletionResult]::new('--summary', '--summary', [CompletionResultType]::ParameterName, 'What to print when the child exits')
            [CompletionResult]::new('--mcp', '--mcp', [CompletionResultType]::ParameterName, 'Only these MCP servers (comma-separated names from the config)')
            [CompletionResult]::new('--gateway', '--gateway', [CompletionResultType]::ParameterName, 'Remote mode: use the `bifrost serve` gateway at URL instead of starting one (codex only)')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The key for --gateway; prefer the BIFROST_KEY variable (a flag shows in `ps`)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'bifrost''s own log lines: plain text, or one JSON object per line')
            [CompletionResult]::new('--no-mcp', '--no-mcp', [CompletionResultType]::ParameterName, 'No MCP servers for this run')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('codex', 'codex', [CompletionResultType]::ParameterValue, 'Run Codex through the gateway; every argument after `codex` goes to codex unchanged')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run any OpenAI-compatible program with OPENAI_BASE_URL and OPENAI_API_KEY pointing at the gateway')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the gateway as a long-lived server for other clients')
            [CompletionResult]::new('logs', 'logs', [CompletionResultType]::ParameterValue, 'Show logged requests')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Tokens, cost, success rate and latency per model, provider, day or session')
            [CompletionResult]::new('sessions', 'sessions', [CompletionResultType]::ParameterValue, 'One line per session: command, models, requests, tokens, cost, exit code')
            [CompletionResult]::new('pricing', 'pricing', [CompletionResultType]::ParameterValue, 'Show the embedded price table, or import one as config overrides')
            [CompletionResult]::new('ui', 'ui', [CompletionResultType]::ParameterValue, 'Serve the logs dashboard on 127.0.0.1 (no providers needed) and print its one-time URL')
            [CompletionResult]::new('models', 'models', [CompletionResultType]::ParameterValue, 'List each provider''s models with context windows and prices')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Write or check the config file')
            [CompletionResult]::new('keys', 'keys', [CompletionResultType]::ParameterValue, 'Create, list, revoke and rotate virtual keys for `bifrost serve`')
            [CompletionResult]::new('mcp', 'mcp', [CompletionResultType]::ParameterValue, 'Inspect and call the configured MCP servers')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('generate-assets', 'generate-assets', [CompletionResultType]::ParameterValue, 'Regenerate completions/ and man/ (for maintainers)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'bifrost;codex' {
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bifrost;run' {
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bifrost;serve' {
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Address to bind [default: [server] host, or 127.0.0.1]')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Port [default: [server] port, or 8787]; 0 picks a free one')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bifrost;logs' {
            [CompletionResult]::new('--session', '--session', [CompletionResultType]::ParameterName, 'Only this session')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only requests since a span ago (30m, 2h, 7d) or an RFC 3339 time')
            [CompletionResult]::new('--model', '--model', [CompletionResultType]::ParameterName, 'Only this model: as requested, or as provider/upstream-model')
            [CompletionResult]::new('--provider', '--provider', [CompletionResultType]::ParameterName, 'Only this provider')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'At most N requests (the newest); 0 for all')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write to FILE instead of stdout, streaming rows, with progress on stderr')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write to FILE instead of stdout, streaming rows, with progress on stderr')
            [CompletionResult]::new('--last', '--last', [CompletionResultType]::ParameterName, 'Only the latest session')
            [CompletionResult]::new('--errors', '--errors', [CompletionResultType]::ParameterName, 'Only failed requests')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'JSON array instead of a table (one object per line with --follow)')
            [CompletionResult]::new('--csv', '--csv', [CompletionResultType]::ParameterName, 'CSV (RFC 4180) with the --json fields as columns')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Keep printing requests as they are logged, by any bifrost, until Ctrl-C')
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Keep printing requests as they are logged, by any bifrost, until Ctrl-C')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print one request: metadata, headers (redacted), request and response')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Delete old requests and their bodies')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'bifrost;logs;show' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bifrost;logs;prune' {
            [CompletionResult]::new('--older-than', '--older-than', [CompletionResultType]::ParameterName, 'Delete requests older than this span (30m, 2h, 7d) or RFC 3339 time')
            [CompletionResult]::new('--vacuum', '--vacuum', [CompletionResultType]::ParameterName, 'Then VACUUM the store to give the space back to the file system')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bifrost;logs;help' {
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print one request: metadata, headers (redacted), request and response')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Delete old requests and their bodies')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'bifrost;logs;help;show' {
            break
        }
        'bifrost;logs;help;prune' {
            break
        }
        'bifrost;logs;help;help' {
            break
        }
        'bifrost;stats' {
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only requests since a span ago (30m, 2h, 7d) or an RFC 3339 time')
            [CompletionResult]::new('--by', '--by', [CompletionResultType]::ParameterName, 'Group rows by')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bifrost;sessions' {
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'At most N sessions (the newest)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'JSON array instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bifrost;pricing' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Convert a genai-prices data.json or a LiteLLM model_prices_and_context_window.json into a TOML file of [pricing."provider/model"] tables to paste into the config')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'bifrost;pricing;import' {
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Where to write the TOML [default: pricing-overrides.toml next to the config]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bifrost;pricing;help' {
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Convert a genai-prices data.json or a LiteLLM model_prices_and_context_window.json into a TOML file of [pricing."provider/model"] tables to paste into the config')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'bifrost;pricing;help;import' {
            break
        }
        'bifrost;pricing;help;help' {
            break
        }
        'bifrost;ui' {
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Port on 127.0.0.1; 0 picks a free one')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bifrost;models' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bifrost;config' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Write a commented template to the config path')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Report every problem in the config, with file, line and fix')
            [CompletionResult]::new('path', 'path', [CompletionResultType]::ParameterValue, 'Print the config path in use')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'bifrost;config;init' {
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Overwrite an existing file')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bifrost;config;check' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bifrost;config;path' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bifrost;config;help' {
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Write a commented template to the config path')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Report every problem in the config, with file, line and fix')
            [CompletionResult]::new('path', 'path', [CompletionResultType]::ParameterValue, 'Print the config path in use')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'bifrost;config;help;init' {
            break
        }
        'bifrost;config;help;check' {
            break
        }
        'bifrost;config;help;path' {
            break
        }
        'bifrost;config;help;help' {
            break
        }
        'bifrost;keys' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Make a key and print it once (only its hash is stored)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'Every key: name, id, prefix, limits, spend this period, state')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Stop a key working on every gateway (within a second)')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Give a key a new secret (limits and spend stay); the old one stops working')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'bifrost;keys;create' {
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'A unique name, shown in logs (e.g. alice)')
            [CompletionResult]::new('--budget-usd', '--budget-usd', [CompletionResultType]::ParameterName, 'Spend limit in USD per UTC day or month: 50/month, 5/day')
            [CompletionResult]::new('--rpm', '--rpm', [CompletionResultType]::ParameterName, 'Requests per minute')
            [CompletionResult]::new('--tpm', '--tpm', [CompletionResultType]::ParameterName, 'Tokens (input + output) per minute')
            [CompletionResult]::new('--models', '--models', [CompletionResultType]::ParameterName, 'Allowed models, comma-separated globs: "anthropic/*,openai/gpt-5.5" [default: all]')
            [CompletionResult]::new('--expires', '--expires', [CompletionResultType]::ParameterName, 'Expiry: a span (30d, 12h) or an RFC 3339 time [default: never]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the key and its settings as JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bifrost;keys;list' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bifrost;keys;revoke' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bifrost;keys;rotate' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bifrost;keys;help' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Make a key and print it once (only its hash is stored)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'Every key: name, id, prefix, limits, spend this period, state')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Stop a key working on every gateway (within a second)')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Give a key a new secret (limits and spend stay); the old one stops working')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'bifrost;keys;help;create' {
            break
        }
        'bifrost;keys;help;list' {
            break
        }
        'bifrost;keys;help;revoke' {
            break
        }
        'bifrost;keys;help;rotate' {
            break
        }
        'bifrost;keys;help;help' {
            break
        }
        'bifrost;mcp' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'Start every configured server and list its state and tools')
            [CompletionResult]::new('call', 'call', [CompletionResultType]::ParameterValue, 'Call one tool once and print its result')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'bifrost;mcp;list' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bifrost;mcp;call' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bifrost;mcp;help' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'Start every configured server and list its state and tools')
            [CompletionResult]::new('call', 'call', [CompletionResultType]::ParameterValue, 'Call one tool once and print its result')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'bifrost;mcp;help;list' {
            break
        }
        'bifrost;mcp;help;call' {
            break
        }
        'bifrost;mcp;help;help' {
            break
        }
        'bifrost;completions' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bifrost;generate-assets' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The repository root')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bifrost;help' {
            [CompletionResult]::new('codex', 'codex', [CompletionResultType]::ParameterValue, 'Run Codex through the gateway; every argument after `codex` goes to codex unchanged')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run any OpenAI-compatible program with OPENAI_BASE_URL and OPENAI_API_KEY pointing at the gateway')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the gateway as a long-lived server for other clients')
            [CompletionResult]::new('logs', 'logs', [CompletionResultType]::ParameterValue, 'Show logged requests')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Tokens, cost, success rate and latency per model, provider, day or session')
            [CompletionResult]::new('sessions', 'sessions', [CompletionResultType]::ParameterValue, 'One line per session: command, models, requests, tokens, cost, exit code')
            [CompletionResult]::new('pricing', 'pricing', [CompletionResultType]::ParameterValue, 'Show the embedded price table, or import one as config overrides')
            [CompletionResult]::new('ui', 'ui', [CompletionResultType]::ParameterValue, 'Serve the logs dashboard on 127.0.0.1 (no providers needed) and print its one-time URL')
            [CompletionResult]::new('models', 'models', [CompletionResultType]::ParameterValue, 'List each provider''s models with context windows and prices')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Write or check the config file')
            [CompletionResult]::new('keys', 'keys', [CompletionResultType]::ParameterValue, 'Create, list, revoke and rotate virtual keys for `bifrost serve`')
            [CompletionResult]::new('mcp', 'mcp', [CompletionResultType]::ParameterValue, 'Inspect and call the configured MCP servers')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('generate-assets', 'generate-assets', [CompletionResultType]::ParameterValue, 'Regenerate completions/ and man/ (for maintainers)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'bifrost;help;codex' {
            break
        }
        'bifrost;help;run' {
            break
        }
        'bifrost;help;serve' {
            break
        }
        'bifrost;help;logs' {
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print one request: metadata, headers (redacted), request and response')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Delete old requests and their bodies')
            break
        }
        'bifrost;help;logs;show' {
            break
        }
        'bifrost;help;logs;prune' {
            break
        }
        'bifrost;help;stats' {
            break
        }
        'bifrost;help;sessions' {
            break
        }
        'bifrost;help;pricing' {
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Convert a genai-prices data.json or a LiteLLM model_prices_and_context_window.json into a TOML file of [pricing."provider/model"] tables to paste into the config')
            break
        }
        'bifrost;help;pricing;import' {
            break
        }
        'bifrost;help;ui' {
            break
        }
        'bifrost;help;models' {
            break
        }
        'bifrost;help;config' {
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Write a commented template to the config path')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Report every problem in the config, with file, line and fix')
            [CompletionResult]::new('path', 'path', [CompletionResultType]::ParameterValue, 'Print the config path in use')
            break
        }
        'bifrost;help;config;init' {
            break
        }
        'bifrost;help;config;check' {
            break
        }
        'bifrost;help;config;path' {
            break
        }
        'bifrost;help;keys' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Make a key and print it once (only its hash is stored)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'Every key: name, id, prefix, limits, spend this period, state')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Stop a key working on every gateway (within a second)')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Give a key a new secret (limits and spend stay); the old one stops working')
            break
        }
        'bifrost;help;keys;create' {
            break
        }
        'bifrost;help;keys;list' {
            break
        }
        'bifrost;help;keys;revoke' {
            break
        }
        'bifrost;help;keys;rotate' {
            break
        }
        'bifrost;help;mcp' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'Start every configured server and list its state and tools')
            [CompletionResult]::new('call', 'call', [CompletionResultType]::ParameterValue, 'Call one tool once and print its result')
            break
        }
        'bifrost;help;mcp;list' {
            break
        }
        'bifrost;help;mcp;call' {
            break
        }
        'bifrost;help;completions' {
            break
        }
        'bifrost;help;generate-assets' {
            break
        }
        'bifrost;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
