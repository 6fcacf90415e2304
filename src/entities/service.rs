use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "services")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organisation_id: Uuid,
    /// Where the record came from (`content`, or an import source) and its key there:
    /// records from different sources never retire each other.
    pub source: String,
    pub source_key: String,
    pub source_file: Option<String>,
    pub name: String,
    pub summary: String,
    pub description: String,
    pub min_age: i32,
    pub max_age: i32,
    pub free: bool,
    pub cost: Option<String>,
    pub accepts_self_referral: bool,
    pub how_to_access: Option<String>,
    pub url: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// JSON array of strings.
    pub languages: String,
    /// JSON array of strings.
    pub accessibility: String,
    pub all_boroughs: bool,
    pub active: bool,
    /// Hash of the source record: an unchanged record is not rewritten.
    pub content_hash: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
