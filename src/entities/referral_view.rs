use sea_orm::entity::prelude::*;

/// When a worker last opened a referral: one row per worker and referral, replaced on
/// every opening. The inbox's unread mark compares it with when the young person last
/// wrote.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "referral_views")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub worker_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub referral_id: Uuid,
    pub viewed_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
