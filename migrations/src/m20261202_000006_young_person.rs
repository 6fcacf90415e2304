//! The young person's side, issue 10: when they last opened their thread, replayable
//! answers for retried requests (`Idempotency-Key`), and reports of wrong listings.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Referrals {
    Table,
    YoungPersonSeenAt,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    KeyHash,
    ReferralId,
    ResponseSealed,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum ServiceReports {
    Table,
    Id,
    ServiceId,
    OrganisationId,
    Reason,
    DetailsSealed,
    State,
    CreatedAt,
    ResolvedAt,
    ResolvedBy,
}

fn ts<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .not_null()
        .take()
}

fn ts_null<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().null().take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Referrals::Table)
                    .add_column(ts_null(Referrals::YoungPersonSeenAt))
                    .to_owned(),
            )
            .await?;

        // The key itself is never stored: only a keyed hash of it, and the answer sealed
        // under a key derived from it, so the server alone cannot read a stored receipt.
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(
                        ColumnDef::new(IdempotencyKeys::KeyHash)
                            .text()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(IdempotencyKeys::ReferralId).uuid().null())
                    .col(
                        ColumnDef::new(IdempotencyKeys::ResponseSealed)
                            .text()
                            .not_null(),
                    )
                    .col(ts(IdempotencyKeys::CreatedAt))
                    .col(ts(IdempotencyKeys::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_idempotency_keys_expires_at")
                    .table(IdempotencyKeys::Table)
                    .col(IdempotencyKeys::ExpiresAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_idempotency_keys_referral_id")
                    .table(IdempotencyKeys::Table)
                    .col(IdempotencyKeys::ReferralId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ServiceReports::Table)
                    .col(
                        ColumnDef::new(ServiceReports::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(ServiceReports::ServiceId).uuid().not_null())
                    .col(
                        ColumnDef::new(ServiceReports::OrganisationId)
                            .uuid()
                            .not_null(),
                    )
                    .col(ColumnDef::new(ServiceReports::Reason).text().not_null())
                    .col(ColumnDef::new(ServiceReports::DetailsSealed).text().null())
                    .col(ColumnDef::new(ServiceReports::State).text().not_null())
                    .col(ts(ServiceReports::CreatedAt))
                    .col(ts_null(ServiceReports::ResolvedAt))
                    .col(ColumnDef::new(ServiceReports::ResolvedBy).uuid().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_service_reports_state_created")
                    .table(ServiceReports::Table)
                    .col(ServiceReports::State)
                    .col(ServiceReports::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ServiceReports::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(IdempotencyKeys::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Referrals::Table)
                    .drop_column(Referrals::YoungPersonSeenAt)
                    .to_owned(),
            )
            .await
    }
}
