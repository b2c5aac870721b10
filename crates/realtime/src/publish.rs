//! Publishing an event to channels: the rules an event must pass (name, size, channel count,
//! names, encrypted-channel restrictions) and its delivery. Shared by the HTTP API and by
//! in-process publishers, so both refuse exactly the same things.

use bytes::Bytes;
use parley_protocol::{frame, ChannelKind, ChannelName, SocketId};

use crate::{apps::App, cluster, hub::Source};

/// An event that passed validation.
#[derive(Debug, Clone)]
pub struct Event {
    /// The event name.
    pub name: String,
    /// The data string, forwarded verbatim.
    pub data: String,
    /// Target channels.
    pub channels: Vec<ChannelName>,
    /// A socket to leave out (the sender, for `toOthers`).
    pub except: Option<SocketId>,
}

/// Why an event was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    /// No app has this id.
    #[error("unknown app {0:?}")]
    UnknownApp(String),
    /// The event names no channel.
    #[error("the event names no channel")]
    NoChannels,
    /// More channels than the app allows in one event.
    #[error("an event may name at most {0} channels")]
    TooManyChannels(usize),
    /// A channel name is invalid.
    #[error("invalid channel {name:?}: {reason}")]
    BadChannel {
        /// The name sent.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Encrypted payloads are per-channel, so one event cannot go to several channels when
    /// any of them is encrypted.
    #[error("cannot publish to several channels when one is encrypted")]
    EncryptedMulticast,
    /// The event name is empty or too long.
    #[error("event name must be 1 to {0} characters")]
    BadName(usize),
    /// `data` exceeds the app's limit.
    #[error("event data is larger than {0} bytes")]
    TooLarge(usize),
    /// `socket_id` is not `digits.digits`.
    #[error("invalid socket_id")]
    BadSocketId,
}

impl PublishError {
    /// The HTTP status the API answers with.
    pub fn status(&self) -> u16 {
        match self {
            Self::UnknownApp(_) => 404,
            Self::TooLarge(_) => 413,
            _ => 400,
        }
    }
}

/// Checks an event against `app`'s limits.
pub fn validate(
    app: &App,
    name: String,
    data: String,
    channels: &[String],
    socket_id: Option<&str>,
) -> Result<Event, PublishError> {
    let limits = &app.config;
    if name.is_empty() || name.len() > limits.max_event_name_length {
        return Err(PublishError::BadName(limits.max_event_name_length));
    }
    if data.len() > limits.max_event_payload_bytes {
        return Err(PublishError::TooLarge(limits.max_event_payload_bytes));
    }
    if channels.is_empty() {
        return Err(PublishError::NoChannels);
    }
    if channels.len() > limits.max_channels_per_event {
        return Err(PublishError::TooManyChannels(limits.max_channels_per_event));
    }
    let channels = channels
        .iter()
        .map(|name| {
            ChannelName::parse(name, limits.max_channel_name_length).map_err(|e| {
                PublishError::BadChannel {
                    name: name.clone(),
                    reason: e.to_string(),
                }
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if channels.len() > 1
        && channels
            .iter()
            .any(|c| c.kind() == ChannelKind::PrivateEncrypted)
    {
        return Err(PublishError::EncryptedMulticast);
    }
    let except = match socket_id {
        Some(id) => Some(SocketId::parse(id).ok_or(PublishError::BadSocketId)?),
        None => None,
    };
    Ok(Event {
        name,
        data,
        channels,
        except,
    })
}

/// Delivers a validated event: each channel's frame is encoded once and shared by all its
/// subscribers. Returns how many sockets it was queued to.
pub fn deliver(app: &App, event: &Event) -> usize {
    event
        .channels
        .iter()
        .map(|channel| {
            let frame = Bytes::from(frame::channel_event(
                &event.name,
                channel.as_str(),
                &event.data,
            ));
            fan_out(app, channel, &frame, event.except, Source::Server)
        })
        .sum()
}

/// Delivers an encoded frame to `channel`'s subscribers here and on every other node. Returns
/// how many sockets here it was queued to.
pub fn fan_out(
    app: &App,
    channel: &ChannelName,
    frame: &Bytes,
    except: Option<SocketId>,
    source: Source,
) -> usize {
    cluster::forward_frame(app, channel, frame, except, source);
    app.hub.publish(channel, frame, except, source)
}
