//! Notifications that are never lost: webhook endpoints per organisation, an outbox
//! written in the same transaction as each change, and escalation markers.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organisations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Referrals {
    Table,
    EscalatedAt,
    RemindedAt,
    PurgedAt,
}

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    OrganisationId,
    Url,
    SecretSealed,
    Purpose,
    Active,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    EndpointId,
    EventType,
    ReferralId,
    Payload,
    State,
    Attempts,
    NextAttemptAt,
    RetryUntil,
    LockedUntil,
    LockedBy,
    LastStatus,
    LastError,
    CreatedAt,
    DeliveredAt,
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
            .create_table(
                Table::create()
                    .table(WebhookEndpoints::Table)
                    .col(
                        ColumnDef::new(WebhookEndpoints::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(WebhookEndpoints::OrganisationId)
                            .uuid()
                            .not_null(),
                    )
                    .col(ColumnDef::new(WebhookEndpoints::Url).text().not_null())
                    .col(
                        ColumnDef::new(WebhookEndpoints::SecretSealed)
                            .text()
                            .not_null(),
                    )
                    // `notify` or `escalation`.
                    .col(ColumnDef::new(WebhookEndpoints::Purpose).text().not_null())
                    .col(
                        ColumnDef::new(WebhookEndpoints::Active)
                            .boolean()
                            .not_null()
                            .default(true),
                    )
                    .col(ts(WebhookEndpoints::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookEndpoints::Table, WebhookEndpoints::OrganisationId)
                            .to(Organisations::Table, Organisations::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .col(ColumnDef::new(Outbox::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Outbox::EndpointId).uuid().not_null())
                    .col(ColumnDef::new(Outbox::EventType).text().not_null())
                    .col(ColumnDef::new(Outbox::ReferralId).uuid().null())
                    // Only the event type, reference, urgency and a path: never content.
                    .col(ColumnDef::new(Outbox::Payload).text().not_null())
                    // `pending`, `delivered` or `dead`.
                    .col(ColumnDef::new(Outbox::State).text().not_null())
                    .col(
                        ColumnDef::new(Outbox::Attempts)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(ts(Outbox::NextAttemptAt))
                    .col(ts(Outbox::RetryUntil))
                    .col(ts_null(Outbox::LockedUntil))
                    .col(ColumnDef::new(Outbox::LockedBy).text().null())
                    .col(ColumnDef::new(Outbox::LastStatus).integer().null())
                    .col(ColumnDef::new(Outbox::LastError).text().null())
                    .col(ts(Outbox::CreatedAt))
                    .col(ts_null(Outbox::DeliveredAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Outbox::Table, Outbox::EndpointId)
                            .to(WebhookEndpoints::Table, WebhookEndpoints::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_outbox_due")
                    .table(Outbox::Table)
                    .col(Outbox::State)
                    .col(Outbox::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_outbox_referral")
                    .table(Outbox::Table)
                    .col(Outbox::ReferralId)
                    .to_owned(),
            )
            .await?;

        manager
            .alter_table(
                Table::alter()
                    .table(Referrals::Table)
                    .add_column(ts_null(Referrals::EscalatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Referrals::Table)
                    .add_column(ts_null(Referrals::RemindedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Referrals::Table)
                    .add_column(ts_null(Referrals::PurgedAt))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Outbox::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(WebhookEndpoints::Table).to_owned())
            .await?;
        for col in [
            Referrals::EscalatedAt,
            Referrals::RemindedAt,
            Referrals::PurgedAt,
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
        Ok(())
    }
}
