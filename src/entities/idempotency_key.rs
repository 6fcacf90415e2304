use sea_orm::entity::prelude::*;

/// A stored answer to a request sent with `Idempotency-Key`, kept 24 hours. `key_hash` is
/// a keyed hash of the scope and key; `response_sealed` is sealed under a key derived from
/// the idempotency key, which is never stored.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub key_hash: String,
    pub referral_id: Option<Uuid>,
    pub response_sealed: String,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
