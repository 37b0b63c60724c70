//! The one error type of the core, with stable string codes (JS) and numbers (C).

use std::fmt;
use std::path::Path;

/// Stable error codes. The first seven are the codes of the old TypeScript
/// `StateManagerError`; the rest are the ones the old system lacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// A record, file or backup that was asked for does not exist.
    NotFound,
    /// A write did not reach the disk.
    WriteFailed,
    /// The backend cannot be opened or read (I/O error, missing directory, read-only backend).
    BackendUnavailable,
    /// Input failed validation (bad address, hash, chain id, key, option).
    ValidationFailed,
    /// A migration between backends failed.
    MigrationFailed,
    /// A lock could not be taken before the timeout.
    LockTimeout,
    /// A value could not be serialised.
    SerializationFailed,
    /// The file changed underneath a compare-and-swap write.
    Conflict,
    /// Stored data cannot be decoded (unparseable JSON, bad LevelDB block, wrong schema).
    Corrupt,
    /// Another process holds the store, or an emergency stop is in force.
    Locked,
    /// A caller broke the API contract (NULL pointer, invalid UTF-8, unknown option).
    InvalidArgument,
    /// A bug: a panic caught at the boundary.
    Internal,
}

impl ErrorCode {
    /// Every code, in C-number order.
    pub const ALL: [ErrorCode; 12] = [
        ErrorCode::NotFound,
        ErrorCode::WriteFailed,
        ErrorCode::BackendUnavailable,
        ErrorCode::ValidationFailed,
        ErrorCode::MigrationFailed,
        ErrorCode::LockTimeout,
        ErrorCode::SerializationFailed,
        ErrorCode::Conflict,
        ErrorCode::Corrupt,
        ErrorCode::Locked,
        ErrorCode::InvalidArgument,
        ErrorCode::Internal,
    ];

    /// The JS `err.code` string.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NotFound => "STATE_NOT_FOUND",
            ErrorCode::WriteFailed => "STATE_WRITE_FAILED",
            ErrorCode::BackendUnavailable => "BACKEND_UNAVAILABLE",
            ErrorCode::ValidationFailed => "VALIDATION_FAILED",
            ErrorCode::MigrationFailed => "MIGRATION_FAILED",
            ErrorCode::LockTimeout => "LOCK_TIMEOUT",
            ErrorCode::SerializationFailed => "SERIALIZATION_FAILED",
            ErrorCode::Conflict => "STATE_CONFLICT",
            ErrorCode::Corrupt => "STATE_CORRUPT",
            ErrorCode::Locked => "STATE_LOCKED",
            ErrorCode::InvalidArgument => "INVALID_ARGUMENT",
            ErrorCode::Internal => "INTERNAL_ERROR",
        }
    }

    /// The fixed C status number (0 is success and belongs to no error).
    pub fn number(self) -> i32 {
        match self {
            ErrorCode::NotFound => 1,
            ErrorCode::WriteFailed => 2,
            ErrorCode::BackendUnavailable => 3,
            ErrorCode::ValidationFailed => 4,
            ErrorCode::MigrationFailed => 5,
            ErrorCode::LockTimeout => 6,
            ErrorCode::SerializationFailed => 7,
            ErrorCode::Conflict => 8,
            ErrorCode::Corrupt => 9,
            ErrorCode::Locked => 10,
            ErrorCode::InvalidArgument => 11,
            ErrorCode::Internal => 12,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an error happened, as far as it is known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorDetails {
    /// The file or directory involved.
    pub path: Option<String>,
    /// The LevelDB key or contract name involved.
    pub key: Option<String>,
    /// A byte offset, line or JSON position inside `path`.
    pub offset: Option<u64>,
}

/// An error of the core: a code, a sentence for a person, and where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The stable code.
    pub code: ErrorCode,
    /// What happened and what to do next.
    pub message: String,
    /// Path, key and offset where known.
    pub details: ErrorDetails,
}

/// The result type of the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error with no details.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
            details: ErrorDetails::default(),
        }
    }

    /// Attaches the path the error is about.
    pub fn with_path(mut self, path: impl AsRef<Path>) -> Self {
        self.details.path = Some(path.as_ref().display().to_string());
        self
    }

    /// Attaches the key or contract name the error is about.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.details.key = Some(key.into());
        self
    }

    /// Attaches a position inside the file.
    pub fn with_offset(mut self, offset: u64) -> Self {
        self.details.offset = Some(offset);
        self
    }

    /// An I/O failure while reading `path`.
    pub fn read_io(path: impl AsRef<Path>, err: &std::io::Error) -> Self {
        let path = path.as_ref();
        Error::new(
            ErrorCode::BackendUnavailable,
            format!("cannot read {}: {err}", path.display()),
        )
        .with_path(path)
    }

    /// An I/O failure while writing `path`.
    pub fn write_io(path: impl AsRef<Path>, err: &std::io::Error) -> Self {
        let path = path.as_ref();
        Error::new(
            ErrorCode::WriteFailed,
            format!(
                "cannot write {}: {err}; the previous content is unchanged",
                path.display()
            ),
        )
        .with_path(path)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_numbers_are_unique_and_stable() {
        let mut names: Vec<_> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        let mut numbers: Vec<_> = ErrorCode::ALL.iter().map(|c| c.number()).collect();
        names.sort();
        names.dedup();
        numbers.sort();
        numbers.dedup();
        assert_eq!(names.len(), ErrorCode::ALL.len());
        assert_eq!(numbers, (1..=12).collect::<Vec<_>>());
        assert_eq!(ErrorCode::Corrupt.as_str(), "STATE_CORRUPT");
        assert_eq!(ErrorCode::NotFound.number(), 1);
    }
}
