//! An index for "urgent and nobody has taken it" (organisation, urgency, holder, status):
//! the inbox counts these on every page and every refresh for its tab title, and the team
//! page lists them. Without it each count reads all of the organisation's referrals.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Referrals {
    Table,
    OrganisationId,
    Urgency,
    ClaimedBy,
    Status,
}

const INDEX: &str = "ix_referrals_open_urgent";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(Referrals::Table)
                    .col(Referrals::OrganisationId)
                    .col(Referrals::Urgency)
                    .col(Referrals::ClaimedBy)
                    .col(Referrals::Status)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(INDEX).table(Referrals::Table).to_owned())
            .await
    }
}
