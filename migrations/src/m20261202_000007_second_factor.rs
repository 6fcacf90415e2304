//! A second factor for youth-worker sign-in: a TOTP secret (sealed) per worker, the step
//! last accepted (so a code is never accepted twice), single-use recovery codes (stored
//! hashed), and short-lived sign-in challenges between the password and the code.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Workers {
    Table,
    Id,
    TotpSecretSealed,
    TotpEnrolledAt,
    TotpLastStep,
}

#[derive(DeriveIden)]
enum RecoveryCodes {
    Table,
    Id,
    WorkerId,
    CodeHash,
    CreatedAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum LoginChallenges {
    Table,
    Id,
    WorkerId,
    TokenHash,
    PendingSecretSealed,
    CreatedAt,
    ExpiresAt,
    UsedAt,
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
        // One column per statement: SQLite alters one thing at a time.
        for col in [
            ColumnDef::new(Workers::TotpSecretSealed)
                .text()
                .null()
                .take(),
            ts_null(Workers::TotpEnrolledAt),
            ColumnDef::new(Workers::TotpLastStep)
                .big_integer()
                .null()
                .take(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Workers::Table)
                        .add_column(col)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(RecoveryCodes::Table)
                    .col(
                        ColumnDef::new(RecoveryCodes::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(RecoveryCodes::WorkerId).uuid().not_null())
                    .col(ColumnDef::new(RecoveryCodes::CodeHash).text().not_null())
                    .col(ts(RecoveryCodes::CreatedAt))
                    .col(ts_null(RecoveryCodes::UsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RecoveryCodes::Table, RecoveryCodes::WorkerId)
                            .to(Workers::Table, Workers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_recovery_codes_worker_id")
                    .table(RecoveryCodes::Table)
                    .col(RecoveryCodes::WorkerId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(LoginChallenges::Table)
                    .col(
                        ColumnDef::new(LoginChallenges::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(LoginChallenges::WorkerId).uuid().not_null())
                    .col(
                        ColumnDef::new(LoginChallenges::TokenHash)
                            .text()
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(LoginChallenges::PendingSecretSealed)
                            .text()
                            .null(),
                    )
                    .col(ts(LoginChallenges::CreatedAt))
                    .col(ts(LoginChallenges::ExpiresAt))
                    .col(ts_null(LoginChallenges::UsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(LoginChallenges::Table, LoginChallenges::WorkerId)
                            .to(Workers::Table, Workers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_login_challenges_expires_at")
                    .table(LoginChallenges::Table)
                    .col(LoginChallenges::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LoginChallenges::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(RecoveryCodes::Table).to_owned())
            .await?;
        for col in [
            Workers::TotpLastStep,
            Workers::TotpEnrolledAt,
            Workers::TotpSecretSealed,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Workers::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
