//! Who will read a referral. Until partner teams have accounts the duty team is the real
//! front door: a referral for a team with nobody signed up goes to the duty team and is
//! escalated at once, and a duty team with nobody is an alarm (a metric, an error in the
//! log, a detail in `/readyz`), and the young person is told plainly.
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter};
use uuid::Uuid;

use crate::entities::worker;
use crate::state::AppState;

/// Active youth-worker accounts in an organisation.
pub async fn active_workers<C: ConnectionTrait>(db: &C, organisation: Uuid) -> Result<u64, DbErr> {
    worker::Entity::find()
        .filter(worker::Column::OrganisationId.eq(organisation))
        .filter(worker::Column::Active.eq(true))
        .count(db)
        .await
}

/// Who will read a new referral.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// The team it was meant for has youth workers signed up.
    Team,
    /// The team it was meant for has nobody signed up: the duty team reads it instead.
    DutyTeamInstead,
    /// Nobody at all is signed up to read it, not even the duty team.
    Nobody,
}

/// The duty team, as `/readyz` and `/metrics` report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DutyTeamStatus {
    pub slug: String,
    /// False when the duty team is not in the directory at all.
    pub listed: bool,
    pub active_workers: u64,
}

impl DutyTeamStatus {
    pub fn staffed(&self) -> bool {
        self.listed && self.active_workers > 0
    }

    /// The alarm, in words, when there is one.
    pub fn alarm(&self) -> Option<String> {
        if !self.listed {
            Some(format!(
                "the duty team {} is not in the directory: referrals that no team can take have nowhere to go",
                self.slug
            ))
        } else if self.active_workers == 0 {
            Some(format!(
                "the duty team {} has no active youth worker: referrals it receives have nobody to read them",
                self.slug
            ))
        } else {
            None
        }
    }
}

pub async fn duty_team_status(state: &AppState) -> Result<DutyTeamStatus, DbErr> {
    let slug = state.referral_rules.duty_team.clone();
    let id = {
        let dir = state.directory.load();
        dir.organisations
            .iter()
            .find(|o| o.slug == slug)
            .map(|o| o.id)
    };
    let active = match id {
        Some(id) => active_workers(&state.db, id).await?,
        None => 0,
    };
    Ok(DutyTeamStatus {
        slug,
        listed: id.is_some(),
        active_workers: active,
    })
}

/// What the young person is told about who will read their request and when.
pub fn what_happens_next(reader: Reader, team: &str, respond_within_hours: u32) -> String {
    let when = if respond_within_hours <= 24 {
        format!("within {respond_within_hours} hours")
    } else {
        format!(
            "within {} days ({respond_within_hours} hours)",
            respond_within_hours / 24
        )
    };
    match reader {
        Reader::Team => format!(
            "A youth worker at {team} will read your request. They aim to reply here {when}."
        ),
        Reader::DutyTeamInstead => format!(
            "The team for this is not taking requests through Signpost yet, so youth workers at {team} will read it instead. They aim to reply here {when}."
        ),
        Reader::Nobody => "Right now nobody is signed in to read new requests, so we cannot promise when someone will reply. We have raised an alert so that someone picks it up. If you are in danger now, call 999. The help lines below can help you now.".to_string(),
    }
}

/// What a young person coming back is told, from where their request is now.
/// `team_staffed` is whether the team it is with has an active youth worker now.
pub fn status_next_step(
    status: &str,
    team: &str,
    team_staffed: bool,
    respond_within_hours: u32,
) -> String {
    match status {
        "claimed" | "in_progress" => {
            format!("A youth worker at {team} is looking after your request. They will reply here.")
        }
        "closed" => "This request is closed. You can ask for help again at any time.".to_string(),
        _ if !team_staffed => what_happens_next(Reader::Nobody, team, respond_within_hours),
        _ => what_happens_next(Reader::Team, team, respond_within_hours),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reader_is_told_plainly() {
        let team = what_happens_next(Reader::Team, "Safer London", 2);
        assert!(team.contains("Safer London") && team.contains("within 2 hours"));
        let duty = what_happens_next(Reader::DutyTeamInstead, "the Signpost duty team", 48);
        assert!(duty.contains("not taking requests") && duty.contains("within 2 days (48 hours)"));
        let nobody = what_happens_next(Reader::Nobody, "x", 2);
        assert!(nobody.contains("cannot promise") && nobody.contains("999"));
    }

    #[test]
    fn alarm_only_when_unstaffed() {
        let mut s = DutyTeamStatus {
            slug: "duty".into(),
            listed: true,
            active_workers: 1,
        };
        assert!(s.staffed() && s.alarm().is_none());
        s.active_workers = 0;
        assert!(!s.staffed() && s.alarm().is_some());
        s.listed = false;
        assert!(
            s.alarm()
                .is_some_and(|a| a.contains("not in the directory"))
        );
    }
}
