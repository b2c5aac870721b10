//! The incremental decoder of a client's byte stream into messages, without I/O: every RFC 6455
//! rule a server must enforce on what it receives, checked as early as the bytes allow.
//!
//! The decoder owns no read buffer. It is fed whatever was just read (from a buffer shared by
//! every connection of a thread) and keeps only what a later read must complete: the first bytes
//! of a split header (at most 14, inline), a control frame's payload so far, and a fragmented or
//! split message's payload so far. A message that arrived whole is handed over as a slice of the
//! input, unmasked in place, never copied.
//!
//! Rules: RSV bits and reserved opcodes → 1002; control frames fragmented or over 125 bytes →
//! 1002; unmasked client frames → 1002; a continuation without a message, or a new message
//! inside one → 1002; a message over the size limit → 1009 (checked from each header, before the
//! payload is read); text that is not UTF-8 → 1007, found on the first invalid byte even inside
//! a frame that has not fully arrived; close payloads of one byte or with a disallowed code →
//! 1002, with a reason that is not UTF-8 → 1007.

use std::ops::ControlFlow;

use super::frame::{self, OpCode, MAX_CONTROL_PAYLOAD, MAX_HEADER_BYTES};

/// A client broke the protocol. Each violation has the close code the server answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// RSV1-3 set, with no extension negotiated.
    #[error("reserved bits set without an extension")]
    ReservedBits,
    /// An opcode RFC 6455 reserves.
    #[error("reserved opcode {0:#x}")]
    ReservedOpcode(u8),
    /// A close, ping or pong without FIN.
    #[error("fragmented control frame")]
    FragmentedControl,
    /// A close, ping or pong with a payload over 125 bytes.
    #[error("control frame payload over 125 bytes")]
    ControlTooLong,
    /// Clients must mask every frame.
    #[error("unmasked client frame")]
    Unmasked,
    /// A continuation frame with no fragmented message to continue.
    #[error("continuation frame without a message to continue")]
    UnexpectedContinuation,
    /// A text or binary frame while a fragmented message is unfinished.
    #[error("new message inside a fragmented one")]
    ExpectedContinuation,
    /// A 64-bit payload length with its most significant bit set.
    #[error("payload length over 2^63")]
    BadLength,
    /// The message would be larger than the limit.
    #[error("message larger than {0} bytes")]
    TooBig(usize),
    /// A text message (or a close reason) that is not UTF-8.
    #[error("text is not valid UTF-8")]
    InvalidUtf8,
    /// A close frame with a one-byte payload.
    #[error("close payload of one byte")]
    BadClosePayload,
    /// A close code that may not be sent.
    #[error("close code {0} may not be sent")]
    BadCloseCode(u16),
}

impl ProtocolError {
    /// The close code to answer with: 1009 for size, 1007 for bad UTF-8, 1002 otherwise.
    pub fn close_code(&self) -> u16 {
        match self {
            Self::TooBig(_) => 1009,
            Self::InvalidUtf8 => 1007,
            _ => 1002,
        }
    }
}

/// What the decoder found in the bytes it was fed.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming<'a> {
    /// A complete text message.
    Text(&'a str),
    /// A complete binary message.
    Binary(&'a [u8]),
    /// A ping; answer with a pong carrying the same bytes.
    Ping(&'a [u8]),
    /// A pong.
    Pong(&'a [u8]),
    /// A close frame: its code and reason, if it had any.
    Close(Option<(u16, &'a str)>),
    /// The client broke the protocol. The decoder goes on only to find the client's close frame:
    /// data frames are skipped from here on.
    Violation(ProtocolError),
}

#[derive(Debug, Clone, Copy)]
struct FrameState {
    opcode: OpCode,
    fin: bool,
    mask: [u8; 4],
    len: u64,
    /// Payload bytes still to come.
    remaining: u64,
    /// The frame broke a rule: its payload is read past, not used.
    skip: bool,
}

impl FrameState {
    fn received(&self) -> usize {
        (self.len - self.remaining) as usize
    }
}

#[derive(Debug)]
struct Partial {
    text: bool,
    data: Vec<u8>,
    /// How much of a text message's `data` is known to be valid UTF-8.
    checked: usize,
}

/// A decoder for one connection's incoming bytes.
#[derive(Debug)]
pub struct Decoder {
    max_message: usize,
    /// The first bytes of a header that has not fully arrived.
    stash: [u8; MAX_HEADER_BYTES],
    stash_len: u8,
    frame: Option<FrameState>,
    /// The fragmented (or not yet fully arrived) data message.
    message: Option<Partial>,
    /// The payload so far of a control frame that has not fully arrived.
    control: Vec<u8>,
    /// After a violation: skip data frames, look only for a close.
    discarding: bool,
    /// The stream cannot be framed any more (a length over 2^63): ignore everything.
    poisoned: bool,
}

impl Decoder {
    /// A decoder that refuses messages over `max_message` bytes.
    pub fn new(max_message: usize) -> Self {
        Self {
            max_message,
            stash: [0; MAX_HEADER_BYTES],
            stash_len: 0,
            frame: None,
            message: None,
            control: Vec::new(),
            discarding: false,
            poisoned: false,
        }
    }

    /// From now on, skip data frames and report only control frames (used while waiting for
    /// the client's answer to a close the server sent).
    pub fn discard_data(&mut self) {
        self.discarding = true;
        self.message = None;
    }

    /// Decodes `input` (unmasking it in place), calling `on` for each complete message or
    /// control frame, until the input is used up or `on` breaks.
    pub fn feed<B>(
        &mut self,
        input: &mut [u8],
        on: &mut impl FnMut(Incoming<'_>) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        let mut at = 0;
        loop {
            if self.poisoned {
                return ControlFlow::Continue(());
            }
            if self.frame.is_none() {
                if at == input.len() {
                    return ControlFlow::Continue(());
                }
                let Some((used, refused)) = self.read_header(&input[at..]) else {
                    return ControlFlow::Continue(());
                };
                at += used;
                if let Some(error) = refused {
                    self.violation(error, on)?;
                }
                if self.poisoned {
                    return ControlFlow::Continue(());
                }
            }
            let frame = self.frame.as_mut().expect("a frame is in progress");
            let take = frame.remaining.min((input.len() - at) as u64) as usize;
            let chunk = &mut input[at..at + take];
            at += take;
            self.payload(chunk, on)?;
            if self.frame.is_some() {
                // The rest of this frame has not arrived yet.
                return ControlFlow::Continue(());
            }
        }
    }

    fn violation<B>(
        &mut self,
        error: ProtocolError,
        on: &mut impl FnMut(Incoming<'_>) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        let already = self.discarding;
        self.discard_data();
        if already {
            return ControlFlow::Continue(());
        }
        on(Incoming::Violation(error))
    }

    /// Takes the next header from the stash and `input`: how many bytes of `input` it used, and
    /// the rule it broke, if any. `None`: not all here yet (what is, is stashed). A refused
    /// frame is still set up, to be skipped, so that the client's close can be found after it.
    fn read_header(&mut self, input: &[u8]) -> Option<(usize, Option<ProtocolError>)> {
        let (header, used) = self.take_header(input)?;
        if header.len > i64::MAX as u64 {
            self.poisoned = true;
            return Some((used, Some(ProtocolError::BadLength)));
        }
        let opcode = OpCode::from_bits(header.opcode);
        let refused = if self.discarding {
            // Data frames are skipped while closing, but control frames are still read (the
            // client's close is one): one claiming more than a control frame may carry is
            // skipped too, never buffered.
            (opcode.is_some_and(OpCode::is_control) && header.len > MAX_CONTROL_PAYLOAD as u64)
                .then_some(ProtocolError::ControlTooLong)
        } else {
            self.check(&header, opcode).err()
        };
        self.frame = Some(FrameState {
            opcode: opcode.unwrap_or(OpCode::Binary),
            fin: header.fin,
            mask: header.mask.unwrap_or_default(),
            len: header.len,
            remaining: header.len,
            skip: refused.is_some(),
        });
        Some((used, refused))
    }

    /// The header at the start of the stash and `input`, and how many bytes of `input` it used.
    fn take_header(&mut self, input: &[u8]) -> Option<(frame::Header, usize)> {
        let stashed = usize::from(self.stash_len);
        if stashed == 0 {
            let parsed = frame::parse_header(input);
            if parsed.is_none() {
                // Shorter than a header, so it fits.
                self.stash[..input.len()].copy_from_slice(input);
                self.stash_len = input.len() as u8;
            }
            return parsed;
        }
        let copied = input.len().min(MAX_HEADER_BYTES - stashed);
        self.stash[stashed..stashed + copied].copy_from_slice(&input[..copied]);
        match frame::parse_header(&self.stash[..stashed + copied]) {
            Some((header, size)) => {
                self.stash_len = 0;
                Some((header, size - stashed))
            }
            None => {
                self.stash_len = (stashed + copied) as u8;
                None
            }
        }
    }

    /// The rules a header must pass.
    fn check(&self, header: &frame::Header, opcode: Option<OpCode>) -> Result<(), ProtocolError> {
        let Some(opcode) = opcode else {
            return Err(ProtocolError::ReservedOpcode(header.opcode));
        };
        if header.rsv != 0 {
            return Err(ProtocolError::ReservedBits);
        }
        if header.mask.is_none() {
            return Err(ProtocolError::Unmasked);
        }
        if opcode.is_control() {
            if !header.fin {
                return Err(ProtocolError::FragmentedControl);
            }
            if header.len > MAX_CONTROL_PAYLOAD as u64 {
                return Err(ProtocolError::ControlTooLong);
            }
            return Ok(());
        }
        let so_far = match (&self.message, opcode) {
            (None, OpCode::Continuation) => return Err(ProtocolError::UnexpectedContinuation),
            (Some(_), OpCode::Text | OpCode::Binary) => {
                return Err(ProtocolError::ExpectedContinuation)
            }
            (Some(partial), _) => partial.data.len() as u64,
            (None, _) => 0,
        };
        if so_far + header.len > self.max_message as u64 {
            return Err(ProtocolError::TooBig(self.max_message));
        }
        Ok(())
    }

    /// Handles the next `chunk` of the current frame's payload (masked on entry).
    fn payload<B>(
        &mut self,
        chunk: &mut [u8],
        on: &mut impl FnMut(Incoming<'_>) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        let frame = self.frame.as_mut().expect("a frame is in progress");
        frame::unmask(chunk, frame.mask, frame.received());
        let whole = frame.remaining == frame.len && chunk.len() as u64 == frame.len;
        frame.remaining -= chunk.len() as u64;
        let frame = *frame;
        if frame.remaining == 0 {
            self.frame = None;
        }
        if frame.skip {
            return ControlFlow::Continue(());
        }
        if frame.opcode.is_control() {
            return self.control_payload(frame, whole, chunk, on);
        }
        if self.discarding {
            return ControlFlow::Continue(());
        }
        if whole && frame.fin && self.message.is_none() {
            // The common case: a whole unfragmented message in this read. No copy.
            return if frame.opcode == OpCode::Text {
                match std::str::from_utf8(chunk) {
                    Ok(text) => on(Incoming::Text(text)),
                    Err(_) => self.violation(ProtocolError::InvalidUtf8, on),
                }
            } else {
                on(Incoming::Binary(chunk))
            };
        }
        let partial = self.message.get_or_insert_with(|| Partial {
            text: frame.opcode == OpCode::Text,
            data: Vec::with_capacity(frame.len as usize),
            checked: 0,
        });
        partial.data.extend_from_slice(chunk);
        if partial.text {
            // Fail fast: judge what has arrived so far. An error with no `error_len` is a
            // character cut off at the end, which the next bytes may complete.
            match std::str::from_utf8(&partial.data[partial.checked..]) {
                Ok(_) => partial.checked = partial.data.len(),
                Err(error) if error.error_len().is_none() => partial.checked += error.valid_up_to(),
                Err(_) => return self.violation(ProtocolError::InvalidUtf8, on),
            }
        }
        if frame.remaining > 0 || !frame.fin {
            return ControlFlow::Continue(());
        }
        let partial = self.message.take().expect("a message is in progress");
        if !partial.text {
            return on(Incoming::Binary(&partial.data));
        }
        match std::str::from_utf8(&partial.data) {
            Ok(text) => on(Incoming::Text(text)),
            Err(_) => self.violation(ProtocolError::InvalidUtf8, on),
        }
    }

    fn control_payload<B>(
        &mut self,
        frame: FrameState,
        whole: bool,
        chunk: &[u8],
        on: &mut impl FnMut(Incoming<'_>) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        if whole {
            return self.control_frame(frame.opcode, chunk, on);
        }
        if self.control.is_empty() {
            self.control.reserve_exact(frame.len as usize);
        }
        self.control.extend_from_slice(chunk);
        if frame.remaining > 0 {
            return ControlFlow::Continue(());
        }
        let payload = std::mem::take(&mut self.control);
        self.control_frame(frame.opcode, &payload, on)
    }

    fn control_frame<B>(
        &mut self,
        opcode: OpCode,
        payload: &[u8],
        on: &mut impl FnMut(Incoming<'_>) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        match opcode {
            OpCode::Ping => on(Incoming::Ping(payload)),
            OpCode::Pong => on(Incoming::Pong(payload)),
            _ => match parse_close(payload) {
                Ok(close) => on(Incoming::Close(close)),
                // Once closing, any close ends it, well-formed or not.
                Err(_) if self.discarding => on(Incoming::Close(None)),
                Err(error) => self.violation(error, on),
            },
        }
    }
}

fn parse_close(payload: &[u8]) -> Result<Option<(u16, &str)>, ProtocolError> {
    match payload {
        [] => Ok(None),
        [_] => Err(ProtocolError::BadClosePayload),
        [high, low, reason @ ..] => {
            let code = u16::from_be_bytes([*high, *low]);
            if !frame::close_code_is_valid(code) {
                return Err(ProtocolError::BadCloseCode(code));
            }
            let reason = std::str::from_utf8(reason).map_err(|_| ProtocolError::InvalidUtf8)?;
            Ok(Some((code, reason)))
        }
    }
}

#[cfg(test)]
#[path = "decoder_tests.rs"]
mod tests;
