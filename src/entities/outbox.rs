use sea_orm::entity::prelude::*;

/// One notification to deliver. Written in the same transaction as the change it tells
/// of; never deleted while undelivered (only a retention purge of its referral removes it).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub event_type: String,
    pub referral_id: Option<Uuid>,
    pub payload: String,
    /// `pending`, `delivered` or `dead`.
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    /// Retries stop (the row is marked dead) after this.
    pub retry_until: DateTimeUtc,
    pub locked_until: Option<DateTimeUtc>,
    pub locked_by: Option<String>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub delivered_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
