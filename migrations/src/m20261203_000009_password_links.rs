//! One-time set-password links (issue 11): a coordinator makes an account with no usable
//! password and hands its new owner a link. Only the SHA-256 of the link's token is stored;
//! a link lives 24 hours, works once, and stops working when a newer one is made.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Workers {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum PasswordLinks {
    Table,
    Id,
    WorkerId,
    TokenHash,
    CreatedBy,
    CreatedAt,
    ExpiresAt,
    UsedAt,
    RevokedAt,
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
                    .table(PasswordLinks::Table)
                    .col(
                        ColumnDef::new(PasswordLinks::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(PasswordLinks::WorkerId).uuid().not_null())
                    .col(
                        ColumnDef::new(PasswordLinks::TokenHash)
                            .text()
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(PasswordLinks::CreatedBy).uuid().null())
                    .col(ts(PasswordLinks::CreatedAt))
                    .col(ts(PasswordLinks::ExpiresAt))
                    .col(ts_null(PasswordLinks::UsedAt))
                    .col(ts_null(PasswordLinks::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PasswordLinks::Table, PasswordLinks::WorkerId)
                            .to(Workers::Table, Workers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_password_links_worker_id")
                    .table(PasswordLinks::Table)
                    .col(PasswordLinks::WorkerId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PasswordLinks::Table).to_owned())
            .await
    }
}
