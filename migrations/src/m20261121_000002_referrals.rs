//! Self-referrals, their threads and audit trail, youth-worker accounts and sessions.
//! Referral text, contact details and message bodies are stored sealed (encrypted).
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
    Id,
    Reference,
    ReceiptHash,
    Status,
    Urgency,
    Needs,
    BoroughId,
    OrganisationId,
    ServiceId,
    InDangerNow,
    MessageSealed,
    AgeSealed,
    WhereSealed,
    ContactMethod,
    ContactSealed,
    ClaimedBy,
    Outcome,
    CreatedAt,
    UpdatedAt,
    ClosedAt,
    WithdrawnAt,
    ErasedAt,
}

#[derive(DeriveIden)]
enum ReferralMessages {
    Table,
    Id,
    ReferralId,
    Sender,
    WorkerId,
    BodySealed,
    SentAt,
}

#[derive(DeriveIden)]
enum ReferralEvents {
    Table,
    Id,
    ReferralId,
    Kind,
    WorkerId,
    OrganisationId,
    Detail,
    At,
}

#[derive(DeriveIden)]
enum Workers {
    Table,
    Id,
    OrganisationId,
    Email,
    Name,
    Role,
    PasswordHash,
    Active,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WorkerSessions {
    Table,
    Id,
    WorkerId,
    TokenHash,
    CreatedAt,
    ExpiresAt,
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

fn text<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).text().not_null().take()
}

fn text_null<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).text().null().take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Workers::Table)
                    .col(ColumnDef::new(Workers::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Workers::OrganisationId).uuid().not_null())
                    .col(text(Workers::Email).unique_key())
                    .col(text(Workers::Name))
                    .col(text(Workers::Role))
                    .col(text(Workers::PasswordHash))
                    .col(
                        ColumnDef::new(Workers::Active)
                            .boolean()
                            .not_null()
                            .default(true),
                    )
                    .col(ts(Workers::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Workers::Table, Workers::OrganisationId)
                            .to(Organisations::Table, Organisations::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(WorkerSessions::Table)
                    .col(
                        ColumnDef::new(WorkerSessions::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(WorkerSessions::WorkerId).uuid().not_null())
                    .col(text(WorkerSessions::TokenHash).unique_key())
                    .col(ts(WorkerSessions::CreatedAt))
                    .col(ts(WorkerSessions::ExpiresAt))
                    .col(ts_null(WorkerSessions::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WorkerSessions::Table, WorkerSessions::WorkerId)
                            .to(Workers::Table, Workers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Referrals::Table)
                    .col(
                        ColumnDef::new(Referrals::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(text(Referrals::Reference).unique_key())
                    // HMAC of the receipt; NULL once withdrawn, so the receipt stops working.
                    .col(text_null(Referrals::ReceiptHash).unique_key())
                    .col(text(Referrals::Status))
                    .col(text(Referrals::Urgency))
                    .col(text(Referrals::Needs))
                    .col(ColumnDef::new(Referrals::BoroughId).integer().null())
                    .col(ColumnDef::new(Referrals::OrganisationId).uuid().not_null())
                    .col(ColumnDef::new(Referrals::ServiceId).uuid().null())
                    .col(
                        ColumnDef::new(Referrals::InDangerNow)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(text_null(Referrals::MessageSealed))
                    .col(text_null(Referrals::AgeSealed))
                    .col(text_null(Referrals::WhereSealed))
                    .col(text_null(Referrals::ContactMethod))
                    .col(text_null(Referrals::ContactSealed))
                    .col(ColumnDef::new(Referrals::ClaimedBy).uuid().null())
                    .col(text_null(Referrals::Outcome))
                    .col(ts(Referrals::CreatedAt))
                    .col(ts(Referrals::UpdatedAt))
                    .col(ts_null(Referrals::ClosedAt))
                    .col(ts_null(Referrals::WithdrawnAt))
                    .col(ts_null(Referrals::ErasedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Referrals::Table, Referrals::OrganisationId)
                            .to(Organisations::Table, Organisations::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_referrals_inbox")
                    .table(Referrals::Table)
                    .col(Referrals::OrganisationId)
                    .col(Referrals::Status)
                    .col(Referrals::CreatedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ReferralMessages::Table)
                    .col(
                        ColumnDef::new(ReferralMessages::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ReferralMessages::ReferralId)
                            .uuid()
                            .not_null(),
                    )
                    .col(text(ReferralMessages::Sender))
                    .col(ColumnDef::new(ReferralMessages::WorkerId).uuid().null())
                    .col(text(ReferralMessages::BodySealed))
                    .col(ts(ReferralMessages::SentAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ReferralMessages::Table, ReferralMessages::ReferralId)
                            .to(Referrals::Table, Referrals::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_referral_messages_thread")
                    .table(ReferralMessages::Table)
                    .col(ReferralMessages::ReferralId)
                    .col(ReferralMessages::SentAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ReferralEvents::Table)
                    .col(
                        ColumnDef::new(ReferralEvents::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(ReferralEvents::ReferralId).uuid().not_null())
                    .col(text(ReferralEvents::Kind))
                    .col(ColumnDef::new(ReferralEvents::WorkerId).uuid().null())
                    .col(ColumnDef::new(ReferralEvents::OrganisationId).uuid().null())
                    // Never referral content: only codes such as a status or an outcome.
                    .col(text_null(ReferralEvents::Detail))
                    .col(ts(ReferralEvents::At))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ReferralEvents::Table, ReferralEvents::ReferralId)
                            .to(Referrals::Table, Referrals::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_referral_events_referral")
                    .table(ReferralEvents::Table)
                    .col(ReferralEvents::ReferralId)
                    .col(ReferralEvents::At)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ReferralEvents::Table.into_iden(),
            ReferralMessages::Table.into_iden(),
            Referrals::Table.into_iden(),
            WorkerSessions::Table.into_iden(),
            Workers::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
