//! `content/`: the files that ship with the service, and loading them.
pub mod files;
pub mod records;
pub mod sync;

pub use files::ContentError;
pub use sync::{SyncReport, sync};
