//! Recovery helpers (issue 5), local sources only: fill the implementation hashes and
//! constructor arguments one live store lacks from the other store, the unified files'
//! `extended_<name>` data, the legacy v1 files and the backups, each value with its source;
//! and check the stores' timestamps. Recovering from a blockchain RPC is not done here.
//!
//! - [`recover_implementation_hashes`], [`recover_constructor_args`]: a value is only filled
//!   where the target lacks it and one distinct value is found for the same deployment;
//!   disagreeing sources are reported, never chosen between. Writes go through the backends'
//!   own writers after a `manual` backup; a dry run writes nothing.
//! - [`validate_timestamps`]: future times, times before the chain's first recorded deploy,
//!   LevelDB against unified.

mod fill;
mod sources;
mod timestamps;

pub use fill::{
    recover_constructor_args, recover_implementation_hashes, Candidate, Conflict, Filled,
    RecoverOptions, RecoveryReport, Target, Unfilled,
};
pub use sources::{Field, Source, SourceKind};
pub use timestamps::{
    validate_timestamps, FirstDeploy, TimestampReport, CLOCK_SKEW_MS, EVM_EPOCH_MS,
};
