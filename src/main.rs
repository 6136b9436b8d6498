//! The `bifrost` binary: parse, run, map errors to one line on stderr and an exit code.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of glibc's malloc: a request allocates a few hundred small strings and
/// buffers, and their malloc/free was a fifth of the gateway's instructions per request.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = bifrost::cli::Cli::parse();
    match bifrost::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            for line in e.to_string().lines() {
                eprintln!("bifrost: {line}");
            }
            ExitCode::from(e.exit_code())
        }
    }
}
