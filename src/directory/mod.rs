//! The public directory of services: search, one service, and its reference lists.
pub mod index;
pub mod opening;
pub mod routes;
pub mod search;
pub mod snapshot;
pub mod store;
pub mod views;

pub use snapshot::Directory;
