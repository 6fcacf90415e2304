//! `content/`: the files that ship with the service, and loading them.
pub mod catalogue;
pub mod files;
pub mod markdown;
pub mod privacy;
pub mod records;
pub mod routes;
pub mod sync;

pub use files::ContentError;
pub use privacy::privacy_for;
pub use sync::{SyncReport, sync};
