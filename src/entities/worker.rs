use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "workers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organisation_id: Uuid,
    /// Stored lowercased.
    pub email: String,
    pub name: String,
    /// `worker`, `coordinator` or `admin`.
    pub role: String,
    /// argon2id PHC string.
    pub password_hash: String,
    pub active: bool,
    pub created_at: DateTimeUtc,
    /// The TOTP secret (base32), sealed with the worker's id as associated data; `None`
    /// until the worker has set up a second factor.
    pub totp_secret_sealed: Option<String>,
    pub totp_enrolled_at: Option<DateTimeUtc>,
    /// The last TOTP time step accepted: a code for it or an earlier step is refused.
    pub totp_last_step: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
