//! Schema migrations. A migration that has landed on `main` is never edited: add a new one.
pub use sea_orm_migration::prelude::*;

mod m20261121_000001_directory;
mod m20261121_000002_referrals;
mod m20261121_000003_outbox;
mod m20261121_000004_sync;
mod m20261121_000005_category_source;
mod m20261202_000006_young_person;
mod m20261202_000007_second_factor;
mod m20261202_000008_console_sessions;
mod m20261203_000009_password_links;
mod m20261203_000010_referral_views;
mod m20261203_000011_inbox_order_index;
mod m20261203_000012_unclaimed_urgent_index;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_directory::Migration),
            Box::new(m20261121_000002_referrals::Migration),
            Box::new(m20261121_000003_outbox::Migration),
            Box::new(m20261121_000004_sync::Migration),
            Box::new(m20261121_000005_category_source::Migration),
            Box::new(m20261202_000006_young_person::Migration),
            Box::new(m20261202_000007_second_factor::Migration),
            Box::new(m20261202_000008_console_sessions::Migration),
            Box::new(m20261203_000009_password_links::Migration),
            Box::new(m20261203_000010_referral_views::Migration),
            Box::new(m20261203_000011_inbox_order_index::Migration),
            Box::new(m20261203_000012_unclaimed_urgent_index::Migration),
        ]
    }
}
