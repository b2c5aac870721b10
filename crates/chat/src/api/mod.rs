//! The HTTP API: the widget's under `/api/chatbot/…` (plus Echo's `/broadcasting/auth`), the
//! agents' under `/api/agent/…`, and external bots' replies under `/api/bot/…`; the layers
//! around them are in [`edge`].

mod admin;
mod admin_privacy;
mod admin_webhooks;
mod admin_widgets;
mod agent;
mod agent_inbox;
mod attachments;
mod auth;
mod away_email;
mod bot_replies;
mod broadcasting;
mod edge;
mod extract;
mod labels;
mod mail;
mod messages;
mod notes;
mod reports;
mod saved_replies;
mod transfer;
mod widget;

use std::sync::Arc;

use axum::{
    extract::DefaultBodyLimit,
    middleware,
    routing::{delete, get, patch, post, put},
    Router,
};

pub use edge::{add_security_headers, security_headers};
pub(crate) use notes::note_json;

use crate::{accounts::SetupLink, ratelimit::RateLimiter, service::ChatService};

/// What every handler shares.
#[derive(Debug)]
pub struct AppState {
    /// The chat service.
    pub service: ChatService,
    conversations_per_ip: RateLimiter,
    conversations_per_widget: RateLimiter,
    messages_per_ip: RateLimiter,
    messages_per_widget: RateLimiter,
    /// Refused tokens per client IP (see [`edge::throttle_refused_tokens`]).
    auth_failures: RateLimiter,
    login_attempts_per_ip: RateLimiter,
    login_attempts_per_account: RateLimiter,
    /// Transcripts asked for per conversation and per client IP, per minute.
    transcripts_per_conversation: RateLimiter,
    transcripts_per_ip: RateLimiter,
    /// Emails left for the reply while the team is away, per conversation and per client IP,
    /// per minute.
    emails_per_conversation: RateLimiter,
    emails_per_ip: RateLimiter,
    /// The first admin's one-time link, while nobody can sign in.
    pub setup: SetupLink,
}

impl AppState {
    /// State for `service`, with rate limiters from its configuration.
    pub fn new(service: ChatService) -> Arc<Self> {
        let config = service.config.clone();
        // Shared by the cluster's nodes when Redis is configured; each under its own name.
        let shared = config.shared_rate_limits.as_ref();
        let limit = |name: &str, per_minute: u32| RateLimiter::new(per_minute).shared(shared, name);
        Arc::new(Self {
            conversations_per_ip: limit("conversations_ip", config.conversations_per_ip_per_minute),
            conversations_per_widget: limit(
                "conversations_widget",
                config.conversations_per_widget_per_minute,
            ),
            messages_per_ip: limit("messages_ip", config.messages_per_ip_per_minute),
            messages_per_widget: limit("messages_widget", config.messages_per_widget_per_minute),
            auth_failures: limit("auth_failures_ip", config.auth_failures_per_ip_per_minute),
            login_attempts_per_ip: limit("logins_ip", config.login_attempts_per_ip_per_minute),
            login_attempts_per_account: limit(
                "logins_account",
                config.login_attempts_per_account_per_minute,
            ),
            transcripts_per_conversation: limit("transcripts_conversation", 3),
            transcripts_per_ip: limit("transcripts_ip", 10),
            emails_per_conversation: limit("emails_conversation", 5),
            emails_per_ip: limit("emails_ip", 10),
            setup: SetupLink::default(),
            service,
        })
    }
}

/// JSON bodies are small; only message uploads carry files.
const JSON_BODY_LIMIT: usize = 64 * 1024;

/// The routes.
pub fn router(state: Arc<AppState>) -> Router {
    let upload_limit = state.service.config.max_upload_bytes + JSON_BODY_LIMIT;
    let api = Router::new()
        .route("/api/chatbot/config", get(widget::config))
        .route(
            "/api/chatbot/conversation",
            post(widget::start_conversation),
        )
        .route(
            "/api/chatbot/conversations",
            get(widget::conversations_of_user),
        )
        .route("/api/chatbot/conversation/{id}", get(widget::conversation))
        .route(
            "/api/chatbot/conversation/{id}/messages",
            post(messages::send).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/api/chatbot/conversation/{id}/read", post(widget::read))
        .route("/api/chatbot/conversation/{id}/rating", post(widget::rate))
        .route(
            "/api/chatbot/conversation/{id}/transcript",
            post(mail::transcript),
        )
        .route("/api/chatbot/conversation/{id}/seen", post(mail::seen))
        .route(
            "/api/chatbot/conversation/{id}/email",
            post(away_email::leave_email),
        )
        .route("/api/chatbot/conversation/{id}/resume", post(mail::resume))
        .route(
            "/api/chatbot/conversation/{id}/messages/{message_id}/reactions",
            post(widget::react),
        )
        .route("/api/chatbot/broadcasting/auth", post(broadcasting::auth))
        .route("/broadcasting/auth", post(broadcasting::auth))
        .route("/api/chatbot/attachments/{id}", get(attachments::download))
        .route(
            "/api/bot/conversations/{id}/messages",
            post(bot_replies::reply),
        )
        .route("/api/auth/login", post(auth::login))
        .route("/api/auth/logout", post(auth::logout))
        .route("/api/auth/session", get(auth::session))
        .route("/api/auth/sessions", get(auth::sessions))
        .route("/api/auth/sessions/{id}", delete(auth::end_session))
        .route("/api/auth/setup", get(auth::setup_state).post(auth::setup))
        .route("/api/auth/accept", post(auth::accept))
        .route(
            "/api/auth/token",
            post(auth::new_api_token).delete(auth::revoke_api_token),
        )
        .route("/api/admin/users", get(admin::users).post(admin::invite))
        .route("/api/admin/users/{id}", patch(admin::change))
        .route("/api/admin/users/{id}/disable", post(admin::disable))
        .route("/api/admin/users/{id}/widgets", put(admin::set_widgets))
        .route("/api/admin/users/{id}/reset-link", post(admin::reset_link))
        .route("/api/admin/audit", get(admin::audit))
        .route("/api/admin/visitors/export", get(admin_privacy::export))
        .route("/api/admin/visitors/erase", post(admin_privacy::erase))
        .route(
            "/api/admin/widgets",
            get(admin_widgets::list).post(admin_widgets::create),
        )
        .route("/api/admin/widgets/{id}", patch(admin_widgets::update))
        .route(
            "/api/admin/widgets/{id}/token",
            post(admin_widgets::new_token),
        )
        .route(
            "/api/admin/widgets/{id}/identity-secret",
            post(admin_widgets::new_identity_secret),
        )
        .route(
            "/api/admin/widgets/{id}/revoke",
            post(admin_widgets::revoke),
        )
        .route(
            "/api/admin/widgets/{id}/knowledge",
            get(admin_widgets::knowledge).post(admin_widgets::add_entry),
        )
        .route(
            "/api/admin/widgets/{id}/knowledge/{index}",
            put(admin_widgets::change_entry).delete(admin_widgets::delete_entry),
        )
        .route(
            "/api/admin/widgets/{id}/bot/try",
            post(admin_widgets::try_bot),
        )
        .route(
            "/api/admin/webhooks",
            get(admin_webhooks::list).post(admin_webhooks::create),
        )
        .route(
            "/api/admin/webhooks/{id}",
            patch(admin_webhooks::change).delete(admin_webhooks::delete),
        )
        .route(
            "/api/admin/webhooks/{id}/deliveries",
            get(admin_webhooks::deliveries),
        )
        .route("/api/admin/webhooks/{id}/test", post(admin_webhooks::test))
        .route("/api/agent/me", get(agent::me))
        .route("/api/agent/availability", put(agent::set_availability))
        .route("/api/agent/heartbeat", post(agent::heartbeat))
        .route("/api/agent/agents", get(agent::team))
        .route(
            "/api/agent/broadcasting/auth",
            post(agent::broadcasting_auth),
        )
        .route("/api/agent/reports", get(reports::report))
        .route("/api/agent/conversations", get(agent_inbox::list))
        .route(
            "/api/agent/conversations/{id}",
            get(agent_inbox::conversation),
        )
        .route(
            "/api/agent/conversations/{id}/messages",
            post(agent_inbox::reply).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route(
            "/api/agent/conversations/{id}/assign",
            post(agent_inbox::assign),
        )
        .route(
            "/api/agent/conversations/{id}/status",
            post(agent_inbox::set_status),
        )
        .route(
            "/api/agent/conversations/{id}/read",
            post(agent_inbox::read),
        )
        .route(
            "/api/agent/conversations/{id}/messages/{message_id}/reactions",
            post(agent_inbox::react),
        )
        .route(
            "/api/agent/conversations/{id}/notes",
            get(notes::list).post(notes::write),
        )
        .route("/api/agent/conversations/{id}/labels", put(labels::set))
        .route(
            "/api/agent/conversations/{id}/transfer",
            get(transfer::targets).post(transfer::transfer),
        )
        .route("/api/agent/labels", get(labels::list))
        .route("/api/admin/labels", post(labels::create))
        .route(
            "/api/admin/labels/{id}",
            patch(labels::update).delete(labels::delete),
        )
        .route(
            "/api/agent/saved-replies",
            get(saved_replies::list).post(saved_replies::create),
        )
        .route(
            "/api/agent/saved-replies/{id}",
            put(saved_replies::update).delete(saved_replies::delete),
        )
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            edge::throttle_refused_tokens,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), edge::cors))
        .layer(middleware::from_fn(edge::security_headers))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            edge::client_address,
        ));
    api.with_state(state)
}

fn rate_limited(result: Result<(), std::time::Duration>) -> Result<(), crate::error::ApiError> {
    result.map_err(|wait| crate::error::ApiError::RateLimited(retry_after_secs(wait)))
}

/// Whole seconds to tell a client to wait, rounded up so it does not come back too early.
fn retry_after_secs(wait: std::time::Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}
