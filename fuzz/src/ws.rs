//! The WebSocket decoder's targets: arbitrary bytes, and client frames encoded here (masked,
//! fragmented, interleaved with control frames) that must decode to exactly what was sent.

use std::ops::ControlFlow;

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use parley_realtime::websocket::{
    decoder::{Decoder, Incoming},
    frame::{self, client_frame, OpCode, MAX_CONTROL_PAYLOAD},
    ProtocolError,
};

/// What the decoder reported, owned so runs can be compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// A whole text message.
    Text(String),
    /// A whole binary message.
    Binary(Vec<u8>),
    /// A ping's payload.
    Ping(Vec<u8>),
    /// A pong's payload.
    Pong(Vec<u8>),
    /// A close frame's code and reason.
    Close(Option<(u16, String)>),
    /// A protocol violation.
    Violation(ProtocolError),
}

fn seen(incoming: Incoming<'_>) -> Seen {
    match incoming {
        Incoming::Text(text) => Seen::Text(text.into()),
        Incoming::Binary(bytes) => Seen::Binary(bytes.into()),
        Incoming::Ping(bytes) => Seen::Ping(bytes.into()),
        Incoming::Pong(bytes) => Seen::Pong(bytes.into()),
        Incoming::Close(close) => Seen::Close(close.map(|(code, reason)| (code, reason.into()))),
        Incoming::Violation(error) => Seen::Violation(error),
    }
}

/// Feeds `stream` to a fresh decoder in the pieces `cuts` gives (sorted offsets), collecting
/// what it reports. `discard` starts it the way a server waits for a client's close.
pub fn decode_in_pieces(max: usize, discard: bool, stream: &[u8], cuts: &[usize]) -> Vec<Seen> {
    let mut decoder = Decoder::new(max);
    if discard {
        decoder.discard_data();
    }
    let mut out = Vec::new();
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&stream.len())) {
        let cut = cut.clamp(start, stream.len());
        let mut piece = stream[start..cut].to_vec();
        let _ = decoder.feed(&mut piece, &mut |incoming| {
            out.push(seen(incoming));
            ControlFlow::<()>::Continue(())
        });
        start = cut;
    }
    out
}

/// Offsets that cut `len` bytes into pieces, drawn from `seed` (a small xorshift).
pub fn cuts_from(seed: u64, len: usize) -> Vec<usize> {
    let mut state = seed | 1;
    let mut cuts = Vec::new();
    let mut at = 0usize;
    while at < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        at += 1 + (state % 23) as usize;
        cuts.push(at.min(len));
    }
    cuts
}

/// Any bytes: the decoder must not panic, must report the same whatever the read boundaries,
/// and what it reports must obey the rules it enforces.
pub fn decoder_raw(data: &[u8]) {
    let [flags, seed, stream @ ..] = data else {
        return;
    };
    let max = 1 + usize::from(flags & 0x7F) * 8;
    let discard = flags & 0x80 != 0;
    let whole = decode_in_pieces(max, discard, stream, &[]);
    let bytewise: Vec<usize> = (1..stream.len()).collect();
    assert_eq!(
        whole,
        decode_in_pieces(max, discard, stream, &bytewise),
        "byte-by-byte reads changed what was decoded"
    );
    assert_eq!(
        whole,
        decode_in_pieces(
            max,
            discard,
            stream,
            &cuts_from(u64::from(*seed), stream.len())
        ),
        "other read boundaries changed what was decoded"
    );
    let mut violated = discard;
    for event in &whole {
        match event {
            Seen::Text(text) => {
                assert!(!violated, "a message after a violation");
                assert!(text.len() <= max, "a text message over the limit");
            }
            Seen::Binary(bytes) => {
                assert!(!violated, "a message after a violation");
                assert!(bytes.len() <= max, "a binary message over the limit");
            }
            Seen::Ping(payload) | Seen::Pong(payload) => {
                assert!(
                    payload.len() <= MAX_CONTROL_PAYLOAD,
                    "a control frame over 125 bytes"
                );
            }
            Seen::Close(close) => {
                if let Some((code, reason)) = close {
                    assert!(frame::close_code_is_valid(*code), "close code {code}");
                    assert!(reason.len() <= MAX_CONTROL_PAYLOAD - 2);
                }
            }
            Seen::Violation(_) => {
                assert!(!violated, "a second violation was reported");
                violated = true;
            }
        }
    }
    // A stream the decoder took whole is one a server could have been sent: the header parser
    // agrees with every frame's length.
    let mut at = 0;
    while let Some((header, size)) = frame::parse_header(&stream[at..]) {
        assert!((2..=frame::MAX_HEADER_BYTES).contains(&size));
        let Some(next) = (at + size).checked_add(header.len.try_into().unwrap_or(usize::MAX))
        else {
            break;
        };
        if next > stream.len() {
            break;
        }
        at = next;
    }
}

/// A message a client sends, as the fuzzer chose it.
#[derive(Debug, Arbitrary)]
pub enum ClientMessage {
    /// Text, cut into frames at these sizes.
    Text(String, Vec<u8>),
    /// Binary, cut into frames at these sizes.
    Binary(Vec<u8>, Vec<u8>),
    /// A ping (payload cut to 125 bytes).
    Ping(Vec<u8>),
    /// A pong (payload cut to 125 bytes).
    Pong(Vec<u8>),
}

/// A client's session: messages with a mask each, control frames slipped between fragments, and
/// how the bytes are split into reads.
#[derive(Debug, Arbitrary)]
pub struct ClientSession {
    messages: Vec<(ClientMessage, [u8; 4])>,
    /// Pings put between the fragments of the next fragmented message.
    interleaved: Vec<Vec<u8>>,
    close: Option<(u16, String)>,
    seed: u64,
}

fn control(bytes: &[u8]) -> &[u8] {
    &bytes[..bytes.len().min(MAX_CONTROL_PAYLOAD)]
}

/// Encodes `payload` as frames of the sizes `sizes` gives (the last takes the rest).
fn fragments(
    opcode: u8,
    payload: &[u8],
    sizes: &[u8],
    mask: [u8; 4],
    pings: &mut std::slice::Iter<'_, Vec<u8>>,
    stream: &mut Vec<u8>,
    expected: &mut Vec<Seen>,
) {
    let mut at = 0;
    let mut first = true;
    for &size in sizes {
        let end = (at + usize::from(size)).min(payload.len());
        if end == payload.len() {
            break;
        }
        stream.extend(client_frame(
            if first { opcode } else { 0 },
            &payload[at..end],
            mask,
        ));
        first = false;
        at = end;
        if let Some(ping) = pings.next() {
            stream.extend(client_frame(0x89, control(ping), mask));
            expected.push(Seen::Ping(control(ping).to_vec()));
        }
    }
    stream.extend(client_frame(
        0x80 | if first { opcode } else { 0 },
        &payload[at..],
        mask,
    ));
}

/// Valid client frames: decoding them (in any read sizes) gives back exactly what was encoded.
pub fn decoder_roundtrip(session: ClientSession) {
    let mut stream = Vec::new();
    let mut expected = Vec::new();
    let mut pings = session.interleaved.iter();
    let mut largest = 0;
    for (message, mask) in &session.messages {
        match message {
            ClientMessage::Text(text, sizes) => {
                fragments(
                    1,
                    text.as_bytes(),
                    sizes,
                    *mask,
                    &mut pings,
                    &mut stream,
                    &mut expected,
                );
                expected.push(Seen::Text(text.clone()));
                largest = largest.max(text.len());
            }
            ClientMessage::Binary(bytes, sizes) => {
                fragments(
                    2,
                    bytes,
                    sizes,
                    *mask,
                    &mut pings,
                    &mut stream,
                    &mut expected,
                );
                expected.push(Seen::Binary(bytes.clone()));
                largest = largest.max(bytes.len());
            }
            ClientMessage::Ping(payload) => {
                stream.extend(client_frame(0x89, control(payload), *mask));
                expected.push(Seen::Ping(control(payload).to_vec()));
            }
            ClientMessage::Pong(payload) => {
                stream.extend(client_frame(0x8A, control(payload), *mask));
                expected.push(Seen::Pong(control(payload).to_vec()));
            }
        }
    }
    if let Some((code, reason)) = &session.close {
        let code = if frame::close_code_is_valid(*code) {
            *code
        } else {
            1000
        };
        // The server's own encoder cuts the reason at a character boundary to fit.
        let close = frame::close(code, reason);
        let mut payload = close[2..].to_vec();
        assert_eq!(usize::from(close[1]), payload.len());
        let reason = String::from_utf8(payload.split_off(2)).expect("a cut at a char boundary");
        stream.extend(client_frame(0x88, &close[2..], [9, 8, 7, 6]));
        expected.push(Seen::Close(Some((code, reason))));
    }
    let cuts = cuts_from(session.seed, stream.len());
    assert_eq!(
        decode_in_pieces(largest.max(1), false, &stream, &cuts),
        expected
    );
    assert_eq!(
        decode_in_pieces(largest.max(1), false, &stream, &[]),
        expected
    );
}

/// The server's frames: what `frame::encode` writes parses back to the same opcode, length and
/// payload, unmasked, whatever the length form.
pub fn server_frame_roundtrip(data: &[u8]) {
    let [op, repeat, payload @ ..] = data else {
        return;
    };
    let opcode = [
        OpCode::Text,
        OpCode::Binary,
        OpCode::Ping,
        OpCode::Pong,
        OpCode::Close,
    ][usize::from(*op) % 5];
    // Repeat the payload to reach the 16- and 64-bit length forms.
    let payload = payload.repeat(1 + usize::from(*repeat) * 4);
    let encoded = frame::encode(opcode, &payload);
    let (header, size) = frame::parse_header(&encoded).expect("a whole header");
    assert!(header.fin && header.rsv == 0 && header.mask.is_none());
    assert_eq!(OpCode::from_bits(header.opcode), Some(opcode));
    assert_eq!(header.len, payload.len() as u64);
    assert_eq!(&encoded[size..], &payload[..]);
}
