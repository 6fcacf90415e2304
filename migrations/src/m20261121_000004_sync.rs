//! Offline sync: every item the app keeps offline, with the hash of what it was last
//! served as and the revision at which it last changed (or was deleted).
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SyncItems {
    Table,
    Kind,
    Key,
    Hash,
    Revision,
    Deleted,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SyncItems::Table)
                    .col(ColumnDef::new(SyncItems::Kind).text().not_null())
                    .col(ColumnDef::new(SyncItems::Key).text().not_null())
                    .col(ColumnDef::new(SyncItems::Hash).text().not_null())
                    .col(ColumnDef::new(SyncItems::Revision).big_integer().not_null())
                    .col(
                        ColumnDef::new(SyncItems::Deleted)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .primary_key(Index::create().col(SyncItems::Kind).col(SyncItems::Key))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_sync_items_revision")
                    .table(SyncItems::Table)
                    .col(SyncItems::Revision)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SyncItems::Table).to_owned())
            .await
    }
}
