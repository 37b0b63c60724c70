//! lookcoin-state: the deployment state store of the LookCoin deploy scripts.
//!
//! The core modules know nothing of Node or C; `node` and `capi` are thin glue.

pub mod backend;
pub mod backup;
pub mod capi;
pub mod chains;
pub mod compare;
mod dir_watch;
pub mod durable;
pub mod error;
pub mod fuzz_checks;
pub mod js_json;
pub mod leveldb_check;
pub mod metrics;
pub mod migrate;
#[cfg(not(test))]
mod node;
pub mod record;
pub mod recovery;
pub mod rollback;
pub mod sample;
pub mod selection;
pub mod store;
pub mod time;
pub mod unified;
pub mod validate;

pub use error::{Error, ErrorCode, ErrorDetails, Result};
