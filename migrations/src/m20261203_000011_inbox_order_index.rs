//! An index in the inbox's own order (organisation, urgent first, then oldest, then id), so
//! a page of the inbox reads its 25 rows instead of sorting all of the organisation's
//! referrals (issue 11's benchmark: 10,000 referrals in one organisation).
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Referrals {
    Table,
    OrganisationId,
    Urgency,
    CreatedAt,
    Id,
}

const INDEX: &str = "ix_referrals_inbox_order";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(Referrals::Table)
                    .col(Referrals::OrganisationId)
                    .col((Referrals::Urgency, IndexOrder::Desc))
                    .col(Referrals::CreatedAt)
                    .col(Referrals::Id)
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
