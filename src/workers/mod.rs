//! Youth workers: accounts, sign-in, and the organisation-scoped inbox.
pub mod accounts;
pub mod auth;
pub mod inbox;
pub mod model;
pub mod password_links;
pub mod routes;
pub mod second_factor;
pub mod team;
pub mod unread;
