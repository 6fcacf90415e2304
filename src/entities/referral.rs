use sea_orm::entity::prelude::*;

/// A self-referral. `*_sealed` columns are encrypted; `receipt_hash` is an HMAC of the
/// receipt (the receipt itself is never stored) and is cleared on withdrawal.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "referrals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub reference: String,
    pub receipt_hash: Option<String>,
    pub status: String,
    pub urgency: String,
    /// JSON array of need slugs.
    pub needs: String,
    pub borough_id: Option<i32>,
    pub organisation_id: Uuid,
    pub service_id: Option<Uuid>,
    pub in_danger_now: bool,
    pub message_sealed: Option<String>,
    pub age_sealed: Option<String>,
    pub where_sealed: Option<String>,
    pub contact_method: Option<String>,
    pub contact_sealed: Option<String>,
    pub claimed_by: Option<Uuid>,
    pub outcome: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub closed_at: Option<DateTimeUtc>,
    pub withdrawn_at: Option<DateTimeUtc>,
    pub erased_at: Option<DateTimeUtc>,
    /// When an unclaimed urgent referral was escalated (once).
    pub escalated_at: Option<DateTimeUtc>,
    /// When an unclaimed routine referral's reminder went out (once).
    pub reminded_at: Option<DateTimeUtc>,
    /// When the retention purge erased it.
    pub purged_at: Option<DateTimeUtc>,
    /// When the young person last opened their thread (the time only).
    pub young_person_seen_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
