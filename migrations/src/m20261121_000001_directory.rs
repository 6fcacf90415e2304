//! The public directory: boroughs, programmes, categories, organisations, services,
//! their locations and opening hours, and a revision counter that other instances poll.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Boroughs {
    Table,
    Id,
    Slug,
    GssCode,
    Name,
    Lat,
    Lon,
}

#[derive(DeriveIden)]
enum Programmes {
    Table,
    Id,
    Slug,
    Name,
    Summary,
    Description,
    Url,
    SuccessorSlug,
    Active,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Categories {
    Table,
    Id,
    Slug,
    Name,
    Description,
    ParentSlug,
    Active,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Organisations {
    Table,
    Id,
    Slug,
    Name,
    Description,
    Url,
    Email,
    Phone,
    Source,
    SourceFile,
    Active,
    ContentHash,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Services {
    Table,
    Id,
    OrganisationId,
    Source,
    SourceKey,
    SourceFile,
    Name,
    Summary,
    Description,
    MinAge,
    MaxAge,
    Free,
    Cost,
    AcceptsSelfReferral,
    HowToAccess,
    Url,
    Email,
    Phone,
    Languages,
    Accessibility,
    AllBoroughs,
    Active,
    ContentHash,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ServiceBoroughs {
    Table,
    ServiceId,
    BoroughId,
}

#[derive(DeriveIden)]
enum ServiceProgrammes {
    Table,
    ServiceId,
    ProgrammeId,
}

#[derive(DeriveIden)]
enum ServiceCategories {
    Table,
    ServiceId,
    CategoryId,
}

#[derive(DeriveIden)]
enum Locations {
    Table,
    Id,
    ServiceId,
    Position,
    Name,
    Address,
    Postcode,
    BoroughId,
    Lat,
    Lon,
}

#[derive(DeriveIden)]
enum OpeningHours {
    Table,
    Id,
    LocationId,
    Day,
    Opens,
    Closes,
}

#[derive(DeriveIden)]
enum DirectoryRevision {
    Table,
    Id,
    Revision,
    UpdatedAt,
}

fn uuid_pk<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).uuid().not_null().primary_key().take()
}

fn text<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).text().not_null().take()
}

fn text_null<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).text().null().take()
}

fn flag<T: IntoIden>(col: T, default: bool) -> ColumnDef {
    ColumnDef::new(col)
        .boolean()
        .not_null()
        .default(default)
        .take()
}

fn timestamp<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .not_null()
        .take()
}

fn fk(
    from_table: impl IntoIden,
    from_col: impl IntoIden,
    to_table: impl IntoIden,
    to_col: impl IntoIden,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from_table, from_col)
        .to(to_table, to_col)
        .on_delete(ForeignKeyAction::Cascade)
        .take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Boroughs::Table)
                    .col(
                        ColumnDef::new(Boroughs::Id)
                            .integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(text(Boroughs::Slug).unique_key())
                    .col(text(Boroughs::GssCode).unique_key())
                    .col(text(Boroughs::Name))
                    .col(ColumnDef::new(Boroughs::Lat).double().not_null())
                    .col(ColumnDef::new(Boroughs::Lon).double().not_null())
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Programmes::Table)
                    .col(uuid_pk(Programmes::Id))
                    .col(text(Programmes::Slug).unique_key())
                    .col(text(Programmes::Name))
                    .col(text(Programmes::Summary))
                    .col(text(Programmes::Description))
                    .col(text_null(Programmes::Url))
                    .col(text_null(Programmes::SuccessorSlug))
                    .col(flag(Programmes::Active, true))
                    .col(timestamp(Programmes::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Categories::Table)
                    .col(uuid_pk(Categories::Id))
                    .col(text(Categories::Slug).unique_key())
                    .col(text(Categories::Name))
                    .col(text(Categories::Description))
                    .col(text_null(Categories::ParentSlug))
                    .col(flag(Categories::Active, true))
                    .col(timestamp(Categories::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Organisations::Table)
                    .col(uuid_pk(Organisations::Id))
                    .col(text(Organisations::Slug).unique_key())
                    .col(text(Organisations::Name))
                    .col(text(Organisations::Description))
                    .col(text_null(Organisations::Url))
                    .col(text_null(Organisations::Email))
                    .col(text_null(Organisations::Phone))
                    .col(text(Organisations::Source))
                    .col(text_null(Organisations::SourceFile))
                    .col(flag(Organisations::Active, true))
                    .col(text(Organisations::ContentHash))
                    .col(timestamp(Organisations::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Services::Table)
                    .col(uuid_pk(Services::Id))
                    .col(ColumnDef::new(Services::OrganisationId).uuid().not_null())
                    .col(text(Services::Source))
                    .col(text(Services::SourceKey))
                    .col(text_null(Services::SourceFile))
                    .col(text(Services::Name))
                    .col(text(Services::Summary))
                    .col(text(Services::Description))
                    .col(ColumnDef::new(Services::MinAge).integer().not_null())
                    .col(ColumnDef::new(Services::MaxAge).integer().not_null())
                    .col(flag(Services::Free, false))
                    .col(text_null(Services::Cost))
                    .col(flag(Services::AcceptsSelfReferral, false))
                    .col(text_null(Services::HowToAccess))
                    .col(text_null(Services::Url))
                    .col(text_null(Services::Email))
                    .col(text_null(Services::Phone))
                    .col(text(Services::Languages))
                    .col(text(Services::Accessibility))
                    .col(flag(Services::AllBoroughs, false))
                    .col(flag(Services::Active, true))
                    .col(text(Services::ContentHash))
                    .col(timestamp(Services::CreatedAt))
                    .col(timestamp(Services::UpdatedAt))
                    .foreign_key(&mut fk(
                        Services::Table,
                        Services::OrganisationId,
                        Organisations::Table,
                        Organisations::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_services_source_key")
                    .table(Services::Table)
                    .col(Services::Source)
                    .col(Services::SourceKey)
                    .unique()
                    .to_owned(),
            )
            .await?;

        for (table, id_col, other_col, other_table, other_id) in [
            (
                ServiceBoroughs::Table.into_iden(),
                ServiceBoroughs::ServiceId.into_iden(),
                ServiceBoroughs::BoroughId.into_iden(),
                Boroughs::Table.into_iden(),
                Boroughs::Id.into_iden(),
            ),
            (
                ServiceProgrammes::Table.into_iden(),
                ServiceProgrammes::ServiceId.into_iden(),
                ServiceProgrammes::ProgrammeId.into_iden(),
                Programmes::Table.into_iden(),
                Programmes::Id.into_iden(),
            ),
            (
                ServiceCategories::Table.into_iden(),
                ServiceCategories::ServiceId.into_iden(),
                ServiceCategories::CategoryId.into_iden(),
                Categories::Table.into_iden(),
                Categories::Id.into_iden(),
            ),
        ] {
            let other_is_int = other_table.to_string() == Boroughs::Table.to_string();
            let mut other = ColumnDef::new(other_col.clone());
            if other_is_int {
                other.integer().not_null();
            } else {
                other.uuid().not_null();
            }
            manager
                .create_table(
                    Table::create()
                        .table(table.clone())
                        .col(ColumnDef::new(id_col.clone()).uuid().not_null())
                        .col(other)
                        .primary_key(Index::create().col(id_col.clone()).col(other_col.clone()))
                        .foreign_key(&mut fk(
                            table.clone(),
                            id_col,
                            Services::Table,
                            Services::Id,
                        ))
                        .foreign_key(&mut fk(table, other_col, other_table, other_id))
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Locations::Table)
                    .col(uuid_pk(Locations::Id))
                    .col(ColumnDef::new(Locations::ServiceId).uuid().not_null())
                    .col(ColumnDef::new(Locations::Position).integer().not_null())
                    .col(text(Locations::Name))
                    .col(text_null(Locations::Address))
                    .col(text_null(Locations::Postcode))
                    .col(ColumnDef::new(Locations::BoroughId).integer().null())
                    .col(ColumnDef::new(Locations::Lat).double().null())
                    .col(ColumnDef::new(Locations::Lon).double().null())
                    .foreign_key(&mut fk(
                        Locations::Table,
                        Locations::ServiceId,
                        Services::Table,
                        Services::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_locations_service")
                    .table(Locations::Table)
                    .col(Locations::ServiceId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OpeningHours::Table)
                    .col(uuid_pk(OpeningHours::Id))
                    .col(ColumnDef::new(OpeningHours::LocationId).uuid().not_null())
                    .col(text(OpeningHours::Day))
                    .col(text(OpeningHours::Opens))
                    .col(text(OpeningHours::Closes))
                    .foreign_key(&mut fk(
                        OpeningHours::Table,
                        OpeningHours::LocationId,
                        Locations::Table,
                        Locations::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_opening_hours_location")
                    .table(OpeningHours::Table)
                    .col(OpeningHours::LocationId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(DirectoryRevision::Table)
                    .col(
                        ColumnDef::new(DirectoryRevision::Id)
                            .integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(DirectoryRevision::Revision)
                            .big_integer()
                            .not_null(),
                    )
                    .col(timestamp(DirectoryRevision::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            DirectoryRevision::Table.into_iden(),
            OpeningHours::Table.into_iden(),
            Locations::Table.into_iden(),
            ServiceCategories::Table.into_iden(),
            ServiceProgrammes::Table.into_iden(),
            ServiceBoroughs::Table.into_iden(),
            Services::Table.into_iden(),
            Organisations::Table.into_iden(),
            Categories::Table.into_iden(),
            Programmes::Table.into_iden(),
            Boroughs::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
