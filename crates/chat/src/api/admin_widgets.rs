//! The admins' widget pages (`/api/admin/widgets…`): create, rename, allowed origins and
//! settings, a new token (shown once, with the snippet to paste), revoke; the knowledge the
//! widget's bot answers from, edited entry by entry; and trying the bot on a question.
//!
//! The knowledge lives in the widget's settings (`settings.bot.knowledge`), so the bot runner,
//! which rebuilds a widget's bot whenever its settings change, answers from an edit at once.

use std::sync::Arc;

use axum::{
    extract::State,
    http::{header, HeaderMap, StatusCode},
    Json,
};
use parley_bot::{BotKind, BotSettings, Entry, KnowledgeBot};
use parley_store::{NewWidget, Widget};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    admin::AdminAuth,
    extract::{ApiJson, ApiPath, ApiQuery},
    AppState,
};
use crate::{error::ApiError, text, tokens, widgets};

/// A widget as admins see it (never its token: that is shown once, when made).
fn widget_json(widget: &Widget) -> Value {
    json!({
        "id": widget.id,
        "name": widget.name,
        "allowed_origins": widget.allowed_origins,
        "settings": widget.settings,
        "has_identity_secret": widget.identity_secret.is_some(),
        // Colour pairs visitors may not be able to read (saved all the same).
        "warnings": widgets::colour_warnings(&widget.settings),
        "created_at": widget.created_at,
        "revoked_at": widget.revoked_at,
    })
}

/// Where pages reach Parley: the configured public address, else the host this request came to.
fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.service.config.public_url {
        return url.clone();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

/// `GET /api/admin/widgets`: every widget, revoked ones included, and `site_name` (the site's
/// name, `PARLEY_APP_NAME`: what visitors see a widget called when it has no display name).
pub async fn list(
    State(state): State<Arc<AppState>>,
    _: AdminAuth,
) -> Result<Json<Value>, ApiError> {
    let widgets = state.service.store.widgets().await?;
    let listed: Vec<Value> = widgets.iter().map(widget_json).collect();
    Ok(Json(json!({
        "success": true,
        "widgets": listed,
        "site_name": state.service.config.app_name,
    })))
}

/// Body of `POST /api/admin/widgets` and `PATCH /api/admin/widgets/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WidgetForm {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    allowed_origins: Option<Vec<String>>,
    /// Replaces the settings whole (colours, position, greeting, strings, bot…).
    #[serde(default)]
    settings: Option<Value>,
}

/// `POST /api/admin/widgets {name, allowed_origins?, settings?}` → 201 with the widget, its token
/// (shown only now) and the snippet to paste.
pub async fn create(
    State(state): State<Arc<AppState>>,
    caller: AdminAuth,
    headers: HeaderMap,
    ApiJson(form): ApiJson<WidgetForm>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let name = widgets::check_name(form.name.as_deref().unwrap_or(""))?;
    let allowed_origins = widgets::check_origins(&form.allowed_origins.unwrap_or_default())?;
    let settings = form.settings.unwrap_or_else(|| json!({}));
    widgets::check_settings(&settings)?;
    let token = tokens::new_widget_token();
    let widget = state
        .service
        .store
        .create_widget(NewWidget {
            name,
            token_hash: tokens::hash_token(&token),
            allowed_origins,
            settings,
            identity_secret: Some(tokens::new_identity_secret()),
        })
        .await?;
    caller.audit(&state, "widget.create", &widget, None).await?;
    state.service.widgets_changed();
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "success": true,
            "widget": widget_json(&widget),
            "token": token,
            "identity_secret": widget.identity_secret,
            "snippet": widgets::snippet(&base_url(&state, &headers), &token),
        })),
    ))
}

/// `PATCH /api/admin/widgets/{id} {name?, allowed_origins?, settings?}`.
pub async fn update(
    State(state): State<Arc<AppState>>,
    caller: AdminAuth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(form): ApiJson<WidgetForm>,
) -> Result<Json<Value>, ApiError> {
    let current = live(&state, id).await?;
    // Everything is checked before anything is written.
    let name = match &form.name {
        Some(name) => widgets::check_name(name)?,
        None => current.name.clone(),
    };
    let origins = match &form.allowed_origins {
        Some(origins) => widgets::check_origins(origins)?,
        None => current.allowed_origins.clone(),
    };
    if let Some(settings) = &form.settings {
        widgets::check_settings(settings)?;
    }
    let store = &state.service.store;
    let settings_changed = form.settings.is_some();
    let mut widget = store
        .update_widget(id, &name, &origins)
        .await?
        .ok_or(ApiError::NotFound("widget"))?;
    if let Some(settings) = form.settings {
        store.update_widget_settings(id, settings.clone()).await?;
        widget.settings = settings;
    }
    caller
        .audit(
            &state,
            "widget.update",
            &widget,
            Some(json!({
                "name": form.name.is_some(),
                "allowed_origins": form.allowed_origins.is_some(),
                "settings": settings_changed,
            })),
        )
        .await?;
    if settings_changed {
        // Automatic assignment may have been turned on, or given more room.
        state.service.offer_queued_logged().await;
    }
    Ok(Json(
        json!({ "success": true, "widget": widget_json(&widget) }),
    ))
}

/// `POST /api/admin/widgets/{id}/token`: a new token; the old one stops working at once (pages
/// still carrying it must be given the new snippet).
pub async fn new_token(
    State(state): State<Arc<AppState>>,
    caller: AdminAuth,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, ApiError> {
    let widget = live(&state, id).await?;
    let token = tokens::new_widget_token();
    if !state
        .service
        .store
        .set_widget_token(id, &tokens::hash_token(&token))
        .await?
    {
        return Err(ApiError::NotFound("widget"));
    }
    caller
        .audit(&state, "widget.new_token", &widget, None)
        .await?;
    Ok(Json(json!({
        "success": true,
        "token": token,
        "snippet": widgets::snippet(&base_url(&state, &headers), &token),
    })))
}

/// `POST /api/admin/widgets/{id}/identity-secret`: a new identity secret, shown only now; user
/// tokens signed with the old one stop verifying at once (the site's backend must be given the
/// new one).
pub async fn new_identity_secret(
    State(state): State<Arc<AppState>>,
    caller: AdminAuth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, ApiError> {
    let widget = live(&state, id).await?;
    let secret = tokens::new_identity_secret();
    if !state.service.store.set_identity_secret(id, &secret).await? {
        return Err(ApiError::NotFound("widget"));
    }
    caller
        .audit(&state, "widget.new_identity_secret", &widget, None)
        .await?;
    Ok(Json(json!({ "success": true, "identity_secret": secret })))
}

/// `POST /api/admin/widgets/{id}/revoke`: the token stops working and visitors' sockets close.
pub async fn revoke(
    State(state): State<Arc<AppState>>,
    caller: AdminAuth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, ApiError> {
    let widget = live(&state, id).await?;
    if !state.service.store.revoke_widget(id).await? {
        return Err(ApiError::NotFound("widget"));
    }
    caller.audit(&state, "widget.revoke", &widget, None).await?;
    state.service.widgets_changed();
    Ok(Json(json!({ "success": true })))
}

/// Query of `GET /api/admin/widgets/{id}/knowledge`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnowledgeQuery {
    #[serde(default)]
    q: Option<String>,
}

/// `GET /api/admin/widgets/{id}/knowledge?q=`: the widget's entries, each with its `index`;
/// `q` keeps those whose questions or answer contain the text, ignoring case.
pub async fn knowledge(
    State(state): State<Arc<AppState>>,
    _: AdminAuth,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<KnowledgeQuery>,
) -> Result<Json<Value>, ApiError> {
    let widget = live(&state, id).await?;
    let entries = bot_settings(&widget)?.knowledge;
    let needle = query
        .q
        .as_deref()
        .map(str::trim)
        .unwrap_or("")
        .to_lowercase();
    let listed: Vec<Value> = entries
        .iter()
        .enumerate()
        .filter(|(_, entry)| {
            needle.is_empty()
                || entry.answer.to_lowercase().contains(&needle)
                || entry
                    .questions
                    .iter()
                    .any(|q| q.to_lowercase().contains(&needle))
        })
        .map(|(index, entry)| entry_json(index, entry))
        .collect();
    Ok(Json(json!({
        "success": true,
        "entries": listed,
        "total": entries.len(),
    })))
}

fn entry_json(index: usize, entry: &Entry) -> Value {
    json!({ "index": index, "questions": entry.questions, "answer": entry.answer })
}

/// Body of the knowledge writes: one or more phrasings of a question, and its answer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryForm {
    questions: Vec<String>,
    answer: String,
}

/// Longest question or answer, in characters.
const MAX_ENTRY_CHARS: usize = 5000;
/// Most inline entries per widget (more belong in knowledge files).
const MAX_ENTRIES: usize = 2000;

impl EntryForm {
    fn checked(self) -> Result<Entry, ApiError> {
        let questions: Vec<String> = self
            .questions
            .iter()
            .map(|q| q.trim().to_string())
            .filter(|q| !q.is_empty())
            .collect();
        let answer = self.answer.trim().to_string();
        if questions.is_empty() || answer.is_empty() {
            return Err(ApiError::Validation(
                "an entry needs at least one question and an answer".into(),
            ));
        }
        for field in questions.iter().chain([&answer]) {
            text::check("entry", field)?;
            if field.chars().count() > MAX_ENTRY_CHARS {
                return Err(ApiError::Validation(format!(
                    "questions and answers are at most {MAX_ENTRY_CHARS} characters"
                )));
            }
        }
        Ok(Entry { questions, answer })
    }
}

/// `POST /api/admin/widgets/{id}/knowledge {questions, answer}` → 201 with the entry.
pub async fn add_entry(
    State(state): State<Arc<AppState>>,
    caller: AdminAuth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(form): ApiJson<EntryForm>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let entry = form.checked()?;
    let index = edit_knowledge(&state, &caller, id, "knowledge.add", |entries| {
        if entries.len() >= MAX_ENTRIES {
            return Err(ApiError::Validation(format!(
                "a widget holds at most {MAX_ENTRIES} entries; put more in knowledge files"
            )));
        }
        entries.push(entry.clone());
        Ok(entries.len() - 1)
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "success": true, "entry": entry_json(index, &entry) })),
    ))
}

/// `PUT /api/admin/widgets/{id}/knowledge/{index} {questions, answer}`.
pub async fn change_entry(
    State(state): State<Arc<AppState>>,
    caller: AdminAuth,
    ApiPath((id, index)): ApiPath<(i64, usize)>,
    ApiJson(form): ApiJson<EntryForm>,
) -> Result<Json<Value>, ApiError> {
    let entry = form.checked()?;
    edit_knowledge(&state, &caller, id, "knowledge.change", |entries| {
        let slot = entries.get_mut(index).ok_or(ApiError::NotFound("entry"))?;
        *slot = entry.clone();
        Ok(())
    })
    .await?;
    Ok(Json(
        json!({ "success": true, "entry": entry_json(index, &entry) }),
    ))
}

/// `DELETE /api/admin/widgets/{id}/knowledge/{index}`: later entries move up one index.
pub async fn delete_entry(
    State(state): State<Arc<AppState>>,
    caller: AdminAuth,
    ApiPath((id, index)): ApiPath<(i64, usize)>,
) -> Result<Json<Value>, ApiError> {
    edit_knowledge(&state, &caller, id, "knowledge.delete", |entries| {
        if index >= entries.len() {
            return Err(ApiError::NotFound("entry"));
        }
        entries.remove(index);
        Ok(())
    })
    .await?;
    Ok(Json(json!({ "success": true })))
}

/// Applies `edit` to a live widget's inline knowledge and stores the settings back.
async fn edit_knowledge<T>(
    state: &AppState,
    caller: &AdminAuth,
    id: i64,
    action: &str,
    edit: impl FnOnce(&mut Vec<Entry>) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let widget = live(state, id).await?;
    let mut entries = bot_settings(&widget)?.knowledge;
    let outcome = edit(&mut entries)?;
    let mut settings = widget.settings.clone();
    let bot = settings
        .as_object_mut()
        .ok_or_else(|| ApiError::Validation("the widget's settings are not an object".into()))?
        .entry("bot")
        .or_insert_with(|| json!({}));
    if bot.is_null() {
        *bot = json!({});
    }
    let bot = bot
        .as_object_mut()
        .ok_or_else(|| ApiError::Validation("settings.bot is not an object".into()))?;
    bot.insert(
        "knowledge".into(),
        serde_json::to_value(&entries).expect("entries serialise"),
    );
    widgets::check_settings(&settings)?;
    if !state
        .service
        .store
        .update_widget_settings(id, settings)
        .await?
    {
        return Err(ApiError::NotFound("widget"));
    }
    caller.audit(state, action, &widget, None).await?;
    Ok(outcome)
}

/// Body of `POST /api/admin/widgets/{id}/bot/try`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Try {
    message: String,
}

/// `POST /api/admin/widgets/{id}/bot/try {message}`: what the knowledge bot would match for a
/// question, with its confidence and whether that clears the widget's threshold.
pub async fn try_bot(
    State(state): State<Arc<AppState>>,
    _: AdminAuth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<Try>,
) -> Result<Json<Value>, ApiError> {
    text::check("message", &body.message)?;
    let widget = live(&state, id).await?;
    let settings = bot_settings(&widget)?;
    if settings.kind != BotKind::Knowledge {
        return Err(ApiError::Conflict(
            "only the knowledge bot can be tried here".into(),
        ));
    }
    let knowledge_dir = state.service.config.knowledge_dir.clone();
    let message = body.message;
    // Loading the knowledge reads files and builds an index: off the async workers.
    let found = tokio::task::spawn_blocking(move || {
        let bot = KnowledgeBot::new(&settings, &knowledge_dir, id)?;
        bot.best_answer(&message)
            .map(|found| (found, settings.threshold))
    })
    .await
    .map_err(|error| ApiError::Internal(Box::new(error)))?
    .map_err(|error| ApiError::Validation(error.to_string()))?;
    let (found, threshold) = found;
    let (matched, score) = match found {
        Some((entry, score)) => (
            json!({ "questions": entry.questions, "answer": entry.answer }),
            score,
        ),
        None => (Value::Null, 0.0),
    };
    Ok(Json(json!({
        "success": true,
        "matched": matched,
        "score": score,
        "threshold": threshold,
        "answers": !matched.is_null() && score >= threshold,
    })))
}

/// A widget that is not revoked, or 404.
async fn live(state: &AppState, id: i64) -> Result<Widget, ApiError> {
    state
        .service
        .store
        .widget(id)
        .await?
        .filter(|widget| widget.revoked_at.is_none())
        .ok_or(ApiError::NotFound("widget"))
}

fn bot_settings(widget: &Widget) -> Result<BotSettings, ApiError> {
    BotSettings::from_widget_settings(&widget.settings)
        .map_err(|error| ApiError::Validation(error.to_string()))
}
