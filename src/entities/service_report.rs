use sea_orm::entity::prelude::*;

/// An anonymous report that a listing is wrong. `details_sealed` is encrypted.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "service_reports")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub service_id: Uuid,
    /// The organisation that ran the service when it was reported.
    pub organisation_id: Uuid,
    pub reason: String,
    pub details_sealed: Option<String>,
    /// `open` or `resolved`.
    pub state: String,
    pub created_at: DateTimeUtc,
    pub resolved_at: Option<DateTimeUtc>,
    pub resolved_by: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
