//! The library's error type: one enum that says who is at fault (the pipeline file, the input
//! data, or sluice itself), so the CLI can pick an exit code and a helpful message.

use std::path::PathBuf;

/// Who is at fault for an error; picks the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorDomain {
    /// The pipeline file or the command line is wrong (exit code 2).
    Config,
    /// The input data or the file system failed during a run (exit code 1).
    Data,
    /// A bug in sluice (exit code 1).
    Internal,
}

/// Every error the sluice library returns.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The pipeline file is invalid; `message` lists every problem found.
    #[error("{}: {message}", .path.display())]
    Config {
        /// The pipeline file.
        path: PathBuf,
        /// One problem per line, each naming the stage or section.
        message: String,
    },
    /// A configuration value is invalid (no file context yet).
    #[error("{0}")]
    Invalid(String),
    /// A bad input record or file, with its location.
    #[error("{location}: {message}")]
    Input {
        /// `file:line N` or `file: row N`, or just the file.
        location: String,
        /// What is wrong and, where possible, how to fix it.
        message: String,
    },
    /// An I/O error on a named path.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The path being read or written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An error inside a stage, with the stage id.
    #[error("stage `{stage}`: {inner}")]
    InStage {
        /// The stage id from the pipeline file.
        stage: String,
        /// The underlying error (in the message already, so not a `source`: a chain printed
        /// with `{:#}` would repeat it).
        inner: Box<Error>,
    },
    /// An Arrow error.
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),
    /// A Parquet error.
    #[error(transparent)]
    Parquet(#[from] parquet::errors::ParquetError),
    /// A SQL planning or evaluation error from DataFusion.
    #[error("SQL: {0}")]
    Sql(String),
    /// A tokenizer error.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// A broken invariant: a bug in sluice.
    #[error("internal error (a bug, please report it): {0}")]
    Internal(String),
}

impl Error {
    /// Who is at fault.
    pub fn domain(&self) -> ErrorDomain {
        match self {
            Error::Config { .. } | Error::Invalid(_) => ErrorDomain::Config,
            Error::InStage { inner, .. } => inner.domain(),
            Error::Internal(_) => ErrorDomain::Internal,
            _ => ErrorDomain::Data,
        }
    }

    /// Wraps the error with the id of the stage it happened in.
    pub fn in_stage(self, stage: &str) -> Error {
        Error::InStage { stage: stage.to_string(), inner: Box::new(self) }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io { path: path.into(), source }
    }

    /// A bad-input error at `location`.
    pub fn input(location: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Input { location: location.into(), message: message.into() }
    }
}

/// The library's result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;
