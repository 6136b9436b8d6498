
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
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('codex', 'codex', [CompletionResultType]::ParameterValue, 'Run Codex through the gateway; every argument after `codex` goes to codex unchanged')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run any OpenAI-compatible program with OPENAI_BASE_URL and OPENAI_API_KEY pointing at the gateway')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the gateway as a long-lived server for other clients')
            [CompletionResult]::new('logs', 'logs', [CompletionResultType]::ParameterValue, 'Show logged requests')
            [CompletionResult]::new('ui', 'ui', [CompletionResultType]::ParameterValue, 'Serve the logs dashboard on 127.0.0.1 (no providers needed) and print its one-time URL')
            [CompletionResult]::new('models', 'models', [CompletionResultType]::ParameterValue, 'List each provider''s models with context windows and prices')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Write or check the config file')
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
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'At most N requests (the newest)')
            [CompletionResult]::new('--last', '--last', [CompletionResultType]::ParameterName, 'Only the latest session')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'JSON array instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print one request: metadata, headers (redacted), request and response')
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
        'bifrost;logs;help' {
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print one request: metadata, headers (redacted), request and response')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'bifrost;logs;help;show' {
            break
        }
        'bifrost;logs;help;help' {
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
            [CompletionResult]::new('ui', 'ui', [CompletionResultType]::ParameterValue, 'Serve the logs dashboard on 127.0.0.1 (no providers needed) and print its one-time URL')
            [CompletionResult]::new('models', 'models', [CompletionResultType]::ParameterValue, 'List each provider''s models with context windows and prices')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Write or check the config file')
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
            break
        }
        'bifrost;help;logs;show' {
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
