//! The inbox's unread mark and "waiting for us" filter (issue 11), kept cheap to read with
//! 10,000 referrals in one organisation:
//! - `referral_views`: when each worker last opened each referral (one row per pair,
//!   replaced on every opening), backfilled from the `viewed` audit events;
//! - on `referrals`, who wrote the last message in the thread (`last_message_from`:
//!   `young_person` or `youth_worker`; notes and notices do not count) and when
//!   (`last_message_at`), and when the young person last wrote (`young_person_wrote_at`),
//!   backfilled from the thread.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ReferralViews {
    Table,
    WorkerId,
    ReferralId,
    ViewedAt,
}

#[derive(DeriveIden)]
enum Referrals {
    Table,
    Id,
    LastMessageFrom,
    LastMessageAt,
    YoungPersonWroteAt,
}

#[derive(DeriveIden)]
enum Workers {
    Table,
    Id,
}

const BACKFILL_THREADS: &str = "UPDATE referrals SET \
    young_person_wrote_at = (SELECT MAX(m.sent_at) FROM referral_messages m \
        WHERE m.referral_id = referrals.id AND m.sender = 'young_person'), \
    last_message_at = (SELECT MAX(m.sent_at) FROM referral_messages m \
        WHERE m.referral_id = referrals.id AND m.sender IN ('young_person', 'youth_worker')), \
    last_message_from = (SELECT m.sender FROM referral_messages m \
        WHERE m.referral_id = referrals.id AND m.sender IN ('young_person', 'youth_worker') \
        ORDER BY m.sent_at DESC, m.id DESC LIMIT 1)";

const BACKFILL_VIEWS: &str = "INSERT INTO referral_views (worker_id, referral_id, viewed_at) \
    SELECT e.worker_id, e.referral_id, MAX(e.at) FROM referral_events e \
    JOIN workers w ON w.id = e.worker_id \
    WHERE e.kind = 'viewed' AND e.worker_id IS NOT NULL \
    GROUP BY e.worker_id, e.referral_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ReferralViews::Table)
                    .col(ColumnDef::new(ReferralViews::WorkerId).uuid().not_null())
                    .col(ColumnDef::new(ReferralViews::ReferralId).uuid().not_null())
                    .col(
                        ColumnDef::new(ReferralViews::ViewedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(ReferralViews::WorkerId)
                            .col(ReferralViews::ReferralId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ReferralViews::Table, ReferralViews::WorkerId)
                            .to(Workers::Table, Workers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ReferralViews::Table, ReferralViews::ReferralId)
                            .to(Referrals::Table, Referrals::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // SQLite adds one column per ALTER TABLE.
        for col in [
            ColumnDef::new(Referrals::LastMessageFrom)
                .text()
                .null()
                .take(),
            ColumnDef::new(Referrals::LastMessageAt)
                .timestamp_with_time_zone()
                .null()
                .take(),
            ColumnDef::new(Referrals::YoungPersonWroteAt)
                .timestamp_with_time_zone()
                .null()
                .take(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Referrals::Table)
                        .add_column(col)
                        .to_owned(),
                )
                .await?;
        }
        let db = manager.get_connection();
        db.execute_unprepared(BACKFILL_THREADS).await?;
        db.execute_unprepared(BACKFILL_VIEWS).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            Referrals::YoungPersonWroteAt,
            Referrals::LastMessageAt,
            Referrals::LastMessageFrom,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Referrals::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(ReferralViews::Table).to_owned())
            .await
    }
}
