use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "opening_hours")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub location_id: Uuid,
    /// `monday` … `sunday`.
    pub day: String,
    /// `HH:MM`, Europe/London wall-clock time.
    pub opens: String,
    /// `HH:MM`; earlier than `opens` (or `00:00`) means it closes after midnight.
    pub closes: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
