//! What a connection does with each frame a client sends: subscribe, unsubscribe, sign in,
//! ping, and client events, with every rule the protocol puts on them. Frames arrive parsed once
//! by the protocol crate ([`ClientFrame`]); a frame it cannot take is answered as its
//! [`ClientFrameError`](parley_protocol::frame::ClientFrameError) says.

use bytes::Bytes;
use parley_protocol::{
    frame::{
        self, ClientEvent, ClientFrame, PresenceChannelData, Signin, Subscribe, Unsubscribe,
        UserData,
    },
    signature::{verify_channel_auth, verify_user_auth},
    ChannelKind, ChannelName, ErrorCode,
};

use super::{Refusal, Session, SignedIn};
use crate::{
    config::MAX_PRESENCE_USER_ID_LENGTH,
    hub::{MemberInfo, Source, SubscribeRefusal},
    webhooks::WebhookEvent,
};

impl Session {
    /// Handles one text frame. Returns a refusal when the connection must close.
    pub(super) fn handle_text(&mut self, text: &str) -> Option<Refusal> {
        let request = match ClientFrame::parse(text) {
            Ok(request) => request,
            Err(error) => {
                let message = error.to_string();
                return match error.close_code() {
                    Some(code) => Some(Refusal { code, message }),
                    None => {
                        self.reply(frame::error(None, &message));
                        None
                    }
                };
            }
        };
        match request {
            ClientFrame::Ping => self.reply(frame::pong()),
            ClientFrame::Pong => {}
            ClientFrame::Subscribe(request) => self.subscribe(&request),
            ClientFrame::Unsubscribe(request) => self.unsubscribe(&request),
            ClientFrame::Signin(request) => return self.sign_in(&request),
            ClientFrame::ClientEvent(event) => self.client_event(&event),
        }
        None
    }

    fn subscribe(&mut self, request: &Subscribe) {
        let channel =
            match ChannelName::parse(&request.channel, self.app.config.max_channel_name_length) {
                Ok(channel) => channel,
                Err(error) => {
                    self.reply(frame::subscription_error(
                        &request.channel,
                        "InvalidChannel",
                        &error.to_string(),
                        400,
                    ));
                    return;
                }
            };
        if !self.channels.contains(channel.as_str())
            && self.channels.len() >= self.max_subscriptions
            && !self.forget_refused()
        {
            self.reply(frame::subscription_error(
                channel.as_str(),
                "LimitReached",
                &format!(
                    "A connection may be subscribed to at most {} channels; unsubscribe from one first",
                    self.max_subscriptions
                ),
                403,
            ));
            return;
        }
        let app = &self.app.config;
        let socket_id = self.socket_id.to_string();
        let auth = request.auth.as_deref().unwrap_or("");
        let deny = |session: &Self, message: &str| {
            session.reply(frame::subscription_error(
                channel.as_str(),
                "AuthError",
                message,
                401,
            ));
        };
        let member = match channel.kind() {
            ChannelKind::Public => None,
            ChannelKind::Private | ChannelKind::PrivateEncrypted => {
                if !verify_channel_auth(
                    &app.key,
                    &app.secret,
                    &socket_id,
                    channel.as_str(),
                    None,
                    auth,
                ) {
                    return deny(self, &format!("Invalid signature for channel {channel}"));
                }
                None
            }
            ChannelKind::Presence => {
                let channel_data = request.channel_data.as_deref().filter(|d| !d.is_empty());
                if !verify_channel_auth(
                    &app.key,
                    &app.secret,
                    &socket_id,
                    channel.as_str(),
                    channel_data,
                    auth,
                ) {
                    return deny(self, &format!("Invalid signature for channel {channel}"));
                }
                let member = match (channel_data, &self.user) {
                    (Some(channel_data), _) => match parse_member(channel_data) {
                        Some(member) => member,
                        None => {
                            return deny(self, "channel_data needs a string or numeric user_id")
                        }
                    },
                    // Pusher's "Authorizing users" page: once a connection has signed in, the
                    // user object in a presence authorization is optional, and the member is
                    // the signed-in user (pusher-js then awaits the sign-in and takes its id).
                    (None, Some(user)) => MemberInfo {
                        user_id: user.id.clone(),
                        user_info: user.info.clone(),
                    },
                    (None, None) => {
                        return deny(
                            self,
                            "Presence channels need channel_data, or a signed-in connection",
                        )
                    }
                };
                if let Some(refusal) = presence_limits(app, &member) {
                    self.reply(frame::subscription_error(
                        channel.as_str(),
                        "LimitReached",
                        &refusal,
                        413,
                    ));
                    return;
                }
                Some(member)
            }
            ChannelKind::ServerToUser => {
                let signed_in_as = self.user.as_ref().map(|user| user.id.as_str());
                if signed_in_as != channel.server_to_user_id() {
                    return deny(
                        self,
                        "Only the signed-in user may subscribe to their own channel",
                    );
                }
                None
            }
        };
        let user_id = member.as_ref().map(|m| m.user_id.clone());
        match self
            .app
            .hub
            .subscribe(&channel, self.socket_id, &self.outbox, member)
        {
            Ok(()) => {
                if channel.kind().needs_signature() {
                    self.authorised = true;
                }
                if self.channels.insert(channel, user_id) {
                    self.app.metrics.subscriptions.inc();
                }
            }
            Err(SubscribeRefusal::TooManyMembers) => self.reply(frame::subscription_error(
                channel.as_str(),
                "LimitReached",
                &format!(
                    "Presence channel has {} members, the most allowed",
                    self.app.config.max_presence_members
                ),
                403,
            )),
        }
    }

    /// In a cluster, a presence subscription this session counted can be refused afterwards
    /// (Redis found the channel full): forgets those. Returns whether any were.
    fn forget_refused(&mut self) -> bool {
        if !self.app.hub.clustered() {
            return false;
        }
        let (hub, socket, before) = (&self.app.hub, self.socket_id, self.channels.len());
        self.channels
            .retain(|channel, user| user.is_none() || hub.holds(channel, socket));
        for _ in self.channels.len()..before {
            self.app.metrics.subscriptions.dec();
        }
        self.channels.len() < before
    }

    fn unsubscribe(&mut self, request: &Unsubscribe) {
        let Some((channel, _)) = self.channels.remove(request.channel.as_str()) else {
            return; // Unsubscribing twice is a no-op, as pusher-js expects.
        };
        self.app.hub.unsubscribe(&channel, self.socket_id);
        self.app.metrics.subscriptions.dec();
    }

    fn sign_in(&mut self, request: &Signin) -> Option<Refusal> {
        let app = &self.app.config;
        let refused = |message: &str| {
            Some(Refusal {
                code: ErrorCode::Unauthorized,
                message: message.into(),
            })
        };
        if !verify_user_auth(
            &app.key,
            &app.secret,
            &self.socket_id.to_string(),
            &request.user_data,
            &request.auth,
        ) {
            return refused("Invalid signature for user data");
        }
        let Ok(user_data) = serde_json::from_str::<UserData>(&request.user_data) else {
            return refused("user_data must be a JSON object with an id");
        };
        let Some(id) = user_data.id_string() else {
            return refused("user_data.id must be a non-empty string");
        };
        if let Some(current) = self.user.as_ref().filter(|user| user.id != id) {
            // The protocol page: a sign-in "fails if the connection is already associated with
            // a different user id". The first identity stays; the connection stays open.
            self.reply(frame::error(
                None,
                &format!(
                    "This connection is signed in as {:?} and cannot sign in as another user",
                    current.id
                ),
            ));
            return None;
        }
        let mut watchlist = user_data.watchlist_strings();
        let limit = app.max_watchlist_size;
        let truncated = watchlist.len() > limit;
        watchlist.truncate(limit);
        if let Some(previous) = self.user.take() {
            self.app
                .hub
                .sign_out(&previous.id, self.socket_id, &previous.watchlist);
        }
        let user = SignedIn {
            id: id.to_string(),
            info: user_data.user_info,
            watchlist,
        };
        self.reply(frame::signin_success(&request.user_data));
        if truncated {
            // The protocol page: past the limit, the first ids are accepted, the sign-in
            // succeeds, and a `pusher:error` with 4302 names the accepted ids.
            self.reply(frame::error(
                Some(ErrorCode::WatchlistLimit.code()),
                &format!(
                    "Watchlist limit exceeded: only the first {limit} user ids are accepted: {}",
                    serde_json::Value::from(user.watchlist.clone())
                ),
            ));
        }
        self.app
            .hub
            .sign_in(&user.id, self.socket_id, &self.outbox, &user.watchlist);
        self.user = Some(user);
        self.authorised = true;
        None
    }

    fn client_event(&mut self, request: &ClientEvent<'_>) {
        let reject = |session: &Self, message: &str| {
            session.reply(frame::error(
                Some(ErrorCode::ClientEventRejected.code()),
                message,
            ));
        };
        let app = &self.app.config;
        if !app.client_events {
            return reject(self, "Client events are disabled for this app");
        }
        let Some((channel, user_id)) = request
            .channel
            .as_deref()
            .and_then(|name| self.channels.get(name))
        else {
            return reject(
                self,
                "Client events need a channel the connection is subscribed to",
            );
        };
        if user_id.is_some()
            && self.app.hub.clustered()
            && !self.app.hub.holds(channel, self.socket_id)
        {
            // A presence subscription the cluster refused (the channel was full).
            return reject(
                self,
                "Client events need a channel the connection is subscribed to",
            );
        }
        if !channel.kind().allows_client_events() {
            return reject(
                self,
                "Client events are only allowed on private and presence channels",
            );
        }
        if request.event.len() > app.max_event_name_length {
            return reject(self, "Event name is too long");
        }
        let data = request.data.get();
        if data.len() > app.max_event_payload_bytes {
            return reject(
                self,
                &format!(
                    "Event data is larger than {} bytes",
                    app.max_event_payload_bytes
                ),
            );
        }
        let (channel, user_id) = (channel.clone(), user_id.clone());
        if !self.client_events.take() {
            return reject(self, "Client event rate limit exceeded");
        }
        let relayed = Bytes::from(frame::client_event(
            &request.event,
            channel.as_str(),
            request.data,
            user_id.as_deref(),
        ));
        crate::publish::fan_out(
            &self.app,
            &channel,
            &relayed,
            Some(self.socket_id),
            Source::Client,
        );
        let webhooks = self.app.hub.webhooks();
        if webhooks.enabled() {
            webhooks.emit(WebhookEvent::client_event(
                &channel,
                &request.event,
                data.to_string(),
                self.socket_id.to_string(),
                user_id,
            ));
        }
    }
}

/// Why a presence member is refused, if it is: Pusher's presence channels page allows user ids
/// of up to 128 characters and a user object of up to 1 KB (configurable here).
fn presence_limits(app: &crate::AppConfig, member: &MemberInfo) -> Option<String> {
    if member.user_id.chars().count() > MAX_PRESENCE_USER_ID_LENGTH {
        return Some(format!(
            "user_id is longer than {MAX_PRESENCE_USER_ID_LENGTH} characters"
        ));
    }
    #[derive(serde::Serialize)]
    struct UserObject<'a> {
        user_id: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        user_info: Option<&'a serde_json::value::RawValue>,
    }
    let size = serde_json::to_string(&UserObject {
        user_id: &member.user_id,
        user_info: member.user_info.as_deref(),
    })
    .map_or(usize::MAX, |object| object.len());
    (size > app.max_presence_member_bytes).then(|| {
        format!(
            "The user object is larger than {} bytes",
            app.max_presence_member_bytes
        )
    })
}

fn parse_member(channel_data: &str) -> Option<MemberInfo> {
    let data: PresenceChannelData = serde_json::from_str(channel_data).ok()?;
    Some(MemberInfo {
        user_id: data.user_id_string()?,
        user_info: data.user_info,
    })
}
