//! The team's accounts, for coordinators and admins (of their own organisation): the
//! list, adding an account (it starts with a one-time set-password link, shown once),
//! and per account a new link, a role change, resetting the second factor, and
//! deactivation. The rules are in [`crate::workers::accounts`]; these handlers parse,
//! call and render.
use askama::Template;
use axum::{
    Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use uuid::Uuid;

use super::csrf::CsrfField;
use super::error::{ConsoleError, ConsoleResult, internal, not_found};
use super::session::{ConsoleSession, SignedInForm};
use super::team::{TeamTab, lead_only, role_label};
use super::{Layout, london, method_not_allowed, render};
use crate::state::AppState;
use crate::workers::accounts::{self, AccountError, Field};
use crate::workers::password_links;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/console/team/accounts",
            get(list).fallback(method_not_allowed),
        )
        .route(
            "/console/team/accounts/new",
            get(new_form).post(create).fallback(method_not_allowed),
        )
        .route(
            "/console/team/accounts/{id}",
            get(show).fallback(method_not_allowed),
        )
        .route("/console/team/accounts/{id}/role", action(change_role))
        .route("/console/team/accounts/{id}/link", action(new_link))
        .route(
            "/console/team/accounts/{id}/second-factor",
            action(reset_second_factor),
        )
        .route("/console/team/accounts/{id}/deactivate", action(deactivate))
}

/// An account's form: POST acts; GET leads back to the account's page.
fn action<H, T>(handler: H) -> axum::routing::MethodRouter<AppState>
where
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    post(handler)
        .get(back_to_account)
        .fallback(method_not_allowed)
}

async fn back_to_account(Path(id): Path<String>) -> ConsoleResult<Redirect> {
    let id = parse_id(&id)?;
    Ok(Redirect::to(&account_href(id)))
}

fn parse_id(id: &str) -> ConsoleResult<Uuid> {
    Uuid::parse_str(id.trim()).map_err(|_| not_found())
}

fn account_href(id: Uuid) -> String {
    format!("/console/team/accounts/{id}")
}

/// The console's answer to an account change that did not happen. A field's problem is a
/// 422 naming the field; `back` is where "what to do next" leads.
pub fn account_error(e: AccountError, back: &str, back_label: &str) -> ConsoleError {
    match e {
        AccountError::NotFound => not_found(),
        AccountError::Invalid { field, message } => ConsoleError::page(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("Check the {}", field_label(field)),
            format!("{message}. Nothing was changed."),
        )
        .next(back, back_label),
        AccountError::Refused(why) => ConsoleError::page(
            StatusCode::FORBIDDEN,
            "This cannot be done",
            format!("{}. Nothing was changed.", capitalised(why)),
        )
        .next(back, back_label),
        AccountError::Db(e) => e.into(),
        AccountError::Other(e) => {
            tracing::error!(error = %e, "console: account change failed");
            internal()
        }
    }
}

pub fn field_label(field: Field) -> &'static str {
    match field {
        Field::Name => "name",
        Field::Email => "email address",
        Field::Role => "role",
        Field::CurrentPassword => "current password",
        Field::NewPassword => "new password",
        Field::NewPasswordAgain => "new password, typed again",
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// One account as a line of the list.
pub struct Row {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: &'static str,
    pub active: bool,
    pub second_factor: bool,
    pub waiting_for_password: bool,
    pub last_sign_in: Option<String>,
}

#[derive(Template)]
#[template(path = "accounts/list.html")]
struct ListPage {
    layout: Layout,
    tab: TeamTab,
    rows: Vec<Row>,
}

/// `GET /console/team/accounts`.
pub async fn list(State(state): State<AppState>, me: ConsoleSession) -> ConsoleResult<Response> {
    lead_only(&me)?;
    let rows = accounts::list(&state.db, me.worker.organisation_id)
        .await?
        .into_iter()
        .map(|a| Row {
            id: a.id.to_string(),
            name: a.name,
            email: a.email,
            role: role_label(&a.role),
            active: a.active,
            second_factor: a.second_factor,
            waiting_for_password: a.waiting_for_password,
            last_sign_in: a.last_sign_in.map(london),
        })
        .collect();
    let view = ListPage {
        layout: Layout::new("Accounts", Some(me.me())),
        tab: TeamTab::Accounts,
        rows,
    };
    Ok(render(StatusCode::OK, &view))
}

/// A role someone may give, for a `<select>`.
pub struct RoleChoice {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

fn role_choices(actor_role: &str, selected: &str) -> Vec<RoleChoice> {
    accounts::grantable_roles(actor_role)
        .into_iter()
        .map(|r| RoleChoice {
            value: r,
            label: role_label(r),
            selected: r == selected,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "accounts/new.html")]
struct NewPage {
    layout: Layout,
    tab: TeamTab,
    csrf: String,
    name: String,
    email: String,
    roles: Vec<RoleChoice>,
    /// (field id, message) of the problem, if any.
    error: Option<(&'static str, String)>,
}

fn new_page(
    me: &ConsoleSession,
    status: StatusCode,
    form: &NewAccount,
    error: Option<(&'static str, String)>,
) -> Response {
    let role = if form.role.is_empty() {
        "worker"
    } else {
        form.role.as_str()
    };
    let view = NewPage {
        layout: Layout::new(
            if error.is_some() {
                "Error: Add an account"
            } else {
                "Add an account"
            },
            Some(me.me()),
        ),
        tab: TeamTab::Accounts,
        csrf: me.csrf.clone(),
        name: form.name.clone(),
        email: form.email.clone(),
        roles: role_choices(&me.worker.role, role),
        error,
    };
    render(status, &view)
}

/// `GET /console/team/accounts/new`.
pub async fn new_form(me: ConsoleSession) -> ConsoleResult<Response> {
    lead_only(&me)?;
    Ok(new_page(&me, StatusCode::OK, &NewAccount::default(), None))
}

#[derive(Debug, Default, Deserialize)]
pub struct NewAccount {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

#[derive(Template)]
#[template(path = "accounts/link.html")]
struct LinkPage {
    layout: Layout,
    tab: TeamTab,
    /// The account was just made (else: a new link for an existing one).
    created: bool,
    id: String,
    name: String,
    email: String,
    link: String,
    hours: i64,
}

fn link_page(
    state: &AppState,
    me: &ConsoleSession,
    created: bool,
    w: &crate::entities::worker::Model,
    token: &str,
) -> Response {
    let view = LinkPage {
        layout: Layout::new(
            if created {
                "Account made: its set-password link"
            } else {
                "A new set-password link"
            },
            Some(me.me()),
        ),
        tab: TeamTab::Accounts,
        created,
        id: w.id.to_string(),
        name: w.name.clone(),
        email: w.email.clone(),
        link: password_links::url(&state.settings, token),
        hours: password_links::LINK_HOURS,
    };
    render(StatusCode::OK, &view)
}

/// `POST /console/team/accounts/new` (`name`, `email`, `role`, `csrf`): makes the account
/// and shows its set-password link once. A problem with a field: the form again, 422.
pub async fn create(
    State(state): State<AppState>,
    SignedInForm { me, form }: SignedInForm<NewAccount>,
) -> ConsoleResult<Response> {
    lead_only(&me)?;
    match accounts::create(
        &state,
        &me.worker,
        &form.name,
        &form.email,
        form.role.trim(),
    )
    .await
    {
        Ok((w, token)) => Ok(link_page(&state, &me, true, &w, &token)),
        Err(AccountError::Invalid { field, message }) => Ok(new_page(
            &me,
            StatusCode::UNPROCESSABLE_ENTITY,
            &form,
            Some((field_id(field), message)),
        )),
        Err(e) => Err(account_error(
            e,
            "/console/team/accounts",
            "Go to the accounts",
        )),
    }
}

fn field_id(field: Field) -> &'static str {
    match field {
        Field::Name => "name",
        Field::Email => "email",
        Field::Role => "role",
        Field::CurrentPassword => "current-password",
        Field::NewPassword => "new-password",
        Field::NewPasswordAgain => "new-password-again",
    }
}

#[derive(Template)]
#[template(path = "accounts/show.html")]
struct ShowPage {
    layout: Layout,
    tab: TeamTab,
    csrf: String,
    id: String,
    name: String,
    email: String,
    role: &'static str,
    active: bool,
    second_factor: bool,
    waiting_for_password: bool,
    /// The coordinator's own account.
    is_me: bool,
    /// The coordinator may change it.
    manageable: bool,
    roles: Vec<RoleChoice>,
    notice: Option<&'static str>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ShowQuery {
    #[serde(default)]
    done: String,
}

/// `GET /console/team/accounts/{id}` (`?done=` after a change, for its notice).
pub async fn show(
    State(state): State<AppState>,
    me: ConsoleSession,
    Path(id): Path<String>,
    Query(q): Query<ShowQuery>,
) -> ConsoleResult<Response> {
    lead_only(&me)?;
    let id = parse_id(&id)?;
    let w = accounts::find_in(&state.db, me.worker.organisation_id, id)
        .await
        .map_err(|e| account_error(e, "/console/team/accounts", "Go to the accounts"))?;
    let notice = match q.done.as_str() {
        "role" => Some("The role has been changed."),
        "second-factor" => Some(
            "The second factor has been reset. They will set it up again when they next sign in.",
        ),
        "deactivated" => Some(
            "The account has been deactivated. They have been signed out everywhere, and any \
             referral they had taken has gone back to the team, unclaimed.",
        ),
        _ => None,
    };
    let view = ShowPage {
        layout: Layout::new(&w.name, Some(me.me())),
        tab: TeamTab::Accounts,
        csrf: me.csrf.clone(),
        id: w.id.to_string(),
        name: w.name.clone(),
        email: w.email.clone(),
        role: role_label(&w.role),
        active: w.active,
        second_factor: w.totp_secret_sealed.is_some(),
        waiting_for_password: w.password_hash == accounts::NO_PASSWORD,
        is_me: w.id == me.worker.id,
        manageable: accounts::may_manage(&me.worker, &w),
        roles: role_choices(&me.worker.role, &w.role),
        notice,
    };
    Ok(render(StatusCode::OK, &view))
}

#[derive(Debug, Default, Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

/// `POST /console/team/accounts/{id}/role` (`role`, `csrf`).
pub async fn change_role(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedInForm { me, form }: SignedInForm<RoleForm>,
) -> ConsoleResult<Response> {
    lead_only(&me)?;
    let id = parse_id(&id)?;
    let back = account_href(id);
    accounts::change_role(&state, &me.worker, id, form.role.trim())
        .await
        .map_err(|e| account_error(e, &back, "Go back to the account"))?;
    Ok(Redirect::to(&format!("{back}?done=role")).into_response())
}

/// `POST /console/team/accounts/{id}/link` (`csrf`): a new set-password link, shown once;
/// the account's older unused links stop working.
pub async fn new_link(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedInForm { me, .. }: SignedInForm<CsrfField>,
) -> ConsoleResult<Response> {
    lead_only(&me)?;
    let id = parse_id(&id)?;
    let (w, token) = accounts::new_password_link(&state, &me.worker, id)
        .await
        .map_err(|e| account_error(e, &account_href(id), "Go back to the account"))?;
    Ok(link_page(&state, &me, false, &w, &token))
}

/// `POST /console/team/accounts/{id}/second-factor` (`csrf`).
pub async fn reset_second_factor(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedInForm { me, .. }: SignedInForm<CsrfField>,
) -> ConsoleResult<Response> {
    lead_only(&me)?;
    let id = parse_id(&id)?;
    let back = account_href(id);
    accounts::reset_second_factor(&state, &me.worker, id)
        .await
        .map_err(|e| account_error(e, &back, "Go back to the account"))?;
    Ok(Redirect::to(&format!("{back}?done=second-factor")).into_response())
}

/// `POST /console/team/accounts/{id}/deactivate` (`csrf`).
pub async fn deactivate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedInForm { me, .. }: SignedInForm<CsrfField>,
) -> ConsoleResult<Response> {
    lead_only(&me)?;
    let id = parse_id(&id)?;
    let back = account_href(id);
    accounts::deactivate_account(&state, &me.worker, id)
        .await
        .map_err(|e| account_error(e, &back, "Go back to the account"))?;
    Ok(Redirect::to(&format!("{back}?done=deactivated")).into_response())
}
