//! The youth-worker console (issue 11): a sign-in is either a bearer token for the JSON
//! API (`api`) or a browser session cookie (`console`), and a console session ends after
//! a while without activity, so it records when it was last used.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WorkerSessions {
    Table,
    LastSeenAt,
    Kind,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        manager
            .alter_table(
                Table::alter()
                    .table(WorkerSessions::Table)
                    .add_column(
                        ColumnDef::new(WorkerSessions::LastSeenAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(WorkerSessions::Table)
                    .add_column(
                        ColumnDef::new(WorkerSessions::Kind)
                            .text()
                            .not_null()
                            .default("api"),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(WorkerSessions::Table)
                    .drop_column(WorkerSessions::Kind)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(WorkerSessions::Table)
                    .drop_column(WorkerSessions::LastSeenAt)
                    .to_owned(),
            )
            .await
    }
}
