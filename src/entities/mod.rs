//! sea-orm entities: the tables as rows. Never serialised to clients; each capability maps
//! them to its own response types.
pub mod borough;
pub mod category;
pub mod directory_revision;
pub mod idempotency_key;
pub mod location;
pub mod login_challenge;
pub mod opening_hours;
pub mod organisation;
pub mod outbox;
pub mod password_link;
pub mod programme;
pub mod recovery_code;
pub mod referral;
pub mod referral_event;
pub mod referral_message;
pub mod referral_view;
pub mod service;
pub mod service_borough;
pub mod service_category;
pub mod service_programme;
pub mod service_report;
pub mod sync_item;
pub mod webhook_endpoint;
pub mod worker;
pub mod worker_session;
