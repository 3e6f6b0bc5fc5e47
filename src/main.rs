//! The `sluice` binary: parses the command line, runs the command and maps errors to exit
//! codes (0 success, 1 run failed, 2 usage or configuration error).

mod cli;
mod commands;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    commands::init_logging(&cli);
    match commands::dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            let code = match e.downcast_ref::<sluice::Error>().map(sluice::Error::domain) {
                Some(sluice::ErrorDomain::Config) => 2,
                _ => 1,
            };
            eprintln!("error: {e:#}");
            ExitCode::from(code)
        }
    }
}
