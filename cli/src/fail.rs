//! Why a command failed: a message for the user, or an output error.
//!
//! Output errors are kept apart because a closed stdout is not a failure of the command (see
//! `main`), while every other error is reported on stderr.

use std::fmt;
use std::io;

/// A command's failure.
#[derive(Debug)]
pub enum Failure {
    /// Bad input, an unusable store, a core error: the message says what and why.
    Message(String),
    /// Writing the output failed.
    Output(io::Error),
}

impl Failure {
    /// A failure with this message.
    pub fn new(message: impl Into<String>) -> Failure {
        Failure::Message(message.into())
    }

    /// Whether stdout was closed by its reader.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Failure::Output(error) if error.kind() == io::ErrorKind::BrokenPipe)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Message(message) => f.write_str(message),
            Failure::Output(error) => write!(f, "cannot write the output: {error}"),
        }
    }
}

impl From<io::Error> for Failure {
    fn from(error: io::Error) -> Failure {
        Failure::Output(error)
    }
}

impl From<almanac_core::Error> for Failure {
    fn from(error: almanac_core::Error) -> Failure {
        Failure::Message(message(error))
    }
}

/// A core error's message; for bad input without the `invalid input:` label, which on the
/// command line only repeats what `error:` already says.
fn message(error: almanac_core::Error) -> String {
    match error {
        almanac_core::Error::InvalidInput(message) => message,
        other => other.to_string(),
    }
}

/// Adds what was being done to a core error: `--rrule: <error>`.
pub trait Context<T> {
    /// The result with `what` prefixed to its error message.
    fn context(self, what: &str) -> Result<T, Failure>;
}

impl<T> Context<T> for Result<T, almanac_core::Error> {
    fn context(self, what: &str) -> Result<T, Failure> {
        self.map_err(|error| Failure::Message(format!("{what}: {}", message(error))))
    }
}
