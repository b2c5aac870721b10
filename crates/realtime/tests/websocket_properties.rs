//! Property tests for the server's WebSocket codec: what a client encodes (masked, fragmented,
//! with control frames between fragments, split into reads anywhere) decodes to exactly what was
//! sent; the server's own frames parse back to their opcode and payload; and the decoder's
//! answers never depend on where the reads split the stream.

use std::ops::ControlFlow;

use parley_realtime::websocket::{
    decoder::{Decoder, Incoming},
    frame::{self, client_frame, OpCode, MAX_CONTROL_PAYLOAD},
    ProtocolError,
};
use proptest::prelude::*;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(Option<(u16, String)>),
    Violation(ProtocolError),
}

/// Feeds `stream` to `decoder`, cut at `cuts` (offsets, in any order).
fn feed(decoder: &mut Decoder, stream: &[u8], cuts: &[usize]) -> Vec<Seen> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    cuts.push(stream.len());
    cuts.sort_unstable();
    let mut seen = Vec::new();
    let mut start = 0;
    for cut in cuts {
        let mut piece = stream[start..cut].to_vec();
        start = cut;
        let _ = decoder.feed(&mut piece, &mut |incoming| {
            seen.push(match incoming {
                Incoming::Text(text) => Seen::Text(text.into()),
                Incoming::Binary(bytes) => Seen::Binary(bytes.into()),
                Incoming::Ping(bytes) => Seen::Ping(bytes.into()),
                Incoming::Pong(bytes) => Seen::Pong(bytes.into()),
                Incoming::Close(close) => Seen::Close(close.map(|(c, r)| (c, r.into()))),
                Incoming::Violation(error) => Seen::Violation(error),
            });
            ControlFlow::<()>::Continue(())
        });
    }
    seen
}

fn decode(max: usize, stream: &[u8], cuts: &[usize]) -> Vec<Seen> {
    feed(&mut Decoder::new(max), stream, cuts)
}

/// A message as a client sends it.
#[derive(Debug, Clone)]
enum Message {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        any::<String>().prop_map(Message::Text),
        // Long enough for the 16-bit length form now and then.
        prop::collection::vec(any::<u8>(), 0..300).prop_map(Message::Binary),
        prop::collection::vec(any::<u8>(), 0..=MAX_CONTROL_PAYLOAD).prop_map(Message::Ping),
        prop::collection::vec(any::<u8>(), 0..=MAX_CONTROL_PAYLOAD).prop_map(Message::Pong),
    ]
}

/// Encodes `messages`, data messages cut into fragments at `splits` (offsets into each
/// payload) with a ping between fragments; returns the stream and what it must decode to.
fn encode_session(messages: &[(Message, [u8; 4], Vec<usize>)]) -> (Vec<u8>, Vec<Seen>, usize) {
    let mut stream = Vec::new();
    let mut expected = Vec::new();
    let mut largest = 1;
    for (message, mask, splits) in messages {
        let (opcode, payload, seen) = match message {
            Message::Text(text) => (0x1, text.as_bytes(), Seen::Text(text.clone())),
            Message::Binary(bytes) => (0x2, &bytes[..], Seen::Binary(bytes.clone())),
            Message::Ping(bytes) => {
                stream.extend(client_frame(0x89, bytes, *mask));
                expected.push(Seen::Ping(bytes.clone()));
                continue;
            }
            Message::Pong(bytes) => {
                stream.extend(client_frame(0x8A, bytes, *mask));
                expected.push(Seen::Pong(bytes.clone()));
                continue;
            }
        };
        largest = largest.max(payload.len());
        // Fragments may cut a character in two: only the whole message must be UTF-8.
        let mut cuts: Vec<usize> = splits.iter().map(|s| s % (payload.len() + 1)).collect();
        cuts.sort_unstable();
        cuts.dedup();
        let mut start = 0;
        let mut first = true;
        for cut in cuts.into_iter().filter(|c| *c < payload.len()) {
            stream.extend(client_frame(
                if first { opcode } else { 0x0 },
                &payload[start..cut],
                *mask,
            ));
            stream.extend(client_frame(0x89, &[cut as u8], *mask));
            expected.push(Seen::Ping(vec![cut as u8]));
            first = false;
            start = cut;
        }
        stream.extend(client_frame(
            0x80 | if first { opcode } else { 0x0 },
            &payload[start..],
            *mask,
        ));
        expected.push(seen);
    }
    (stream, expected, largest)
}

/// Found by the `ws_decoder` fuzz target: after a violation (or once the server has sent its
/// close) the decoder skipped the header checks, so a ping claiming a 2^40-byte payload made it
/// reserve that much for the payload and the process aborted.
#[test]
fn a_control_frame_claiming_a_huge_payload_while_closing_is_skipped_not_buffered() {
    let mut stream = vec![0x81, 0x01, b'x']; // unmasked: a violation, then closing
    stream.extend([0x89, 0x80 | 127]);
    stream.extend((1u64 << 40).to_be_bytes());
    stream.extend([1, 2, 3, 4, 5, 6, 7, 8]);
    let seen = decode(100, &stream, &[]);
    assert_eq!(seen, [Seen::Violation(ProtocolError::Unmasked)]);

    let mut decoder = Decoder::new(100);
    decoder.discard_data();
    let mut stream = vec![0x8A, 0x80 | 126, 0xFF, 0xFF, 1, 2, 3, 4, 9];
    stream.extend(client_frame(0x88, &1000u16.to_be_bytes(), [5, 6, 7, 8]));
    assert_eq!(feed(&mut decoder, &stream, &[]), []);
}

proptest! {
    #[test]
    fn client_frames_decode_to_what_was_sent_whatever_the_fragments_and_reads(
        messages in prop::collection::vec(
            (message(), any::<[u8; 4]>(), prop::collection::vec(any::<usize>(), 0..4)),
            0..8,
        ),
        reads in prop::collection::vec(any::<usize>(), 0..12),
        close in proptest::option::of((1000u16..5000, any::<String>())),
    ) {
        let (mut stream, mut expected, largest) = encode_session(&messages);
        if let Some((code, reason)) = close {
            let code = if frame::close_code_is_valid(code) { code } else { 4000 };
            let server_close = frame::close(code, &reason);
            let payload = &server_close[2..];
            let cut_reason = std::str::from_utf8(&payload[2..]).unwrap();
            prop_assert!(reason.starts_with(cut_reason));
            prop_assert!(payload.len() <= MAX_CONTROL_PAYLOAD);
            stream.extend(client_frame(0x88, payload, [1, 2, 3, 4]));
            expected.push(Seen::Close(Some((code, cut_reason.to_string()))));
        }
        prop_assert_eq!(decode(largest, &stream, &reads), expected.clone());
        let bytewise: Vec<usize> = (1..stream.len()).collect();
        prop_assert_eq!(decode(largest, &stream, &bytewise), expected);
    }

    #[test]
    fn a_message_one_byte_over_the_limit_is_refused_in_any_fragments(
        max in 1usize..400,
        splits in prop::collection::vec(any::<usize>(), 0..4),
        text in any::<bool>(),
    ) {
        let payload = if text { "a".repeat(max + 1).into_bytes() } else { vec![7; max + 1] };
        let message = if text {
            Message::Text(String::from_utf8(payload).unwrap())
        } else {
            Message::Binary(payload)
        };
        let (stream, _, _) = encode_session(&[(message, [9, 9, 9, 9], splits)]);
        let seen = decode(max, &stream, &[]);
        prop_assert!(seen.contains(&Seen::Violation(ProtocolError::TooBig(max))), "{:?}", seen);
        prop_assert!(!seen.iter().any(|s| matches!(s, Seen::Text(_) | Seen::Binary(_))));
    }

    #[test]
    fn any_bytes_decode_the_same_whatever_the_reads(
        stream in prop::collection::vec(any::<u8>(), 0..200),
        reads in prop::collection::vec(any::<usize>(), 0..10),
        max in 1usize..300,
        discarding in any::<bool>(),
    ) {
        let run = |cuts: &[usize]| {
            let mut decoder = Decoder::new(max);
            if discarding {
                decoder.discard_data();
            }
            feed(&mut decoder, &stream, cuts)
        };
        let whole = run(&[]);
        prop_assert_eq!(run(&reads), whole.clone());
        let bytewise: Vec<usize> = (1..stream.len()).collect();
        prop_assert_eq!(run(&bytewise), whole.clone());
        prop_assert!(whole.iter().filter(|s| matches!(s, Seen::Violation(_))).count() <= 1);
    }

    #[test]
    fn server_frames_parse_back_to_their_opcode_and_payload(
        opcode in prop::sample::select(vec![OpCode::Text, OpCode::Binary, OpCode::Ping, OpCode::Pong, OpCode::Close]),
        len in prop_oneof![0usize..=125, 126usize..=0xFFFF, 0x1_0000usize..0x1_0400],
        byte in any::<u8>(),
    ) {
        let payload: Vec<u8> = (0..len).map(|i| byte.wrapping_add(i as u8)).collect();
        let encoded = frame::encode(opcode, &payload);
        let (header, size) = frame::parse_header(&encoded).unwrap();
        prop_assert!(header.fin);
        prop_assert_eq!(header.rsv, 0);
        prop_assert_eq!(header.mask, None);
        prop_assert_eq!(OpCode::from_bits(header.opcode), Some(opcode));
        prop_assert_eq!(header.len, len as u64);
        prop_assert_eq!(size, match len { 0..=125 => 2, 126..=0xFFFF => 4, _ => 10 });
        prop_assert_eq!(&encoded[size..], &payload[..]);
        // A header cut short is never taken for a whole one.
        for end in 0..size {
            prop_assert_eq!(frame::parse_header(&encoded[..end]), None);
        }
    }

    #[test]
    fn unmasking_in_any_pieces_matches_unmasking_at_once(
        data in prop::collection::vec(any::<u8>(), 0..100),
        mask in any::<[u8; 4]>(),
        cuts in prop::collection::vec(any::<usize>(), 0..5),
    ) {
        let mut whole = data.clone();
        frame::unmask(&mut whole, mask, 0);
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
        cuts.push(data.len());
        cuts.sort_unstable();
        let mut pieces = data.clone();
        let mut start = 0;
        for cut in cuts {
            frame::unmask(&mut pieces[start..cut], mask, start);
            start = cut;
        }
        prop_assert_eq!(&pieces, &whole);
        frame::unmask(&mut pieces, mask, 0);
        prop_assert_eq!(pieces, data);
    }
}
