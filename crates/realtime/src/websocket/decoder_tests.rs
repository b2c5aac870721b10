//! The decoder's rules, each with the bytes a client would send.

use std::ops::ControlFlow;

use super::*;

const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(Option<(u16, String)>),
    Violation(ProtocolError),
}

/// A client frame: `first` is the FIN/RSV/opcode byte; the payload is masked with `MASK`.
fn masked(first: u8, payload: &[u8]) -> Vec<u8> {
    frame::client_frame(first, payload, MASK)
}

fn feed_in(decoder: &mut Decoder, bytes: &[u8], seen: &mut Vec<Seen>) {
    let mut input = bytes.to_vec();
    let _ = decoder.feed(&mut input, &mut |incoming| {
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

/// Everything decoded from `bytes` fed at once, and again fed one byte at a time (the events
/// must not depend on how the bytes were split).
fn decode(max: usize, bytes: &[u8]) -> Vec<Seen> {
    let mut whole = Vec::new();
    feed_in(&mut Decoder::new(max), bytes, &mut whole);
    let mut split = Vec::new();
    let mut decoder = Decoder::new(max);
    for byte in bytes {
        feed_in(&mut decoder, std::slice::from_ref(byte), &mut split);
    }
    assert_eq!(whole, split, "splitting the input changed what was decoded");
    whole
}

fn violation(error: ProtocolError) -> Seen {
    Seen::Violation(error)
}

#[test]
fn whole_messages_of_each_size() {
    let medium = "m".repeat(300);
    let large = "L".repeat(70_000);
    let mut bytes = masked(0x81, b"Hello");
    bytes.extend(masked(0x81, medium.as_bytes()));
    bytes.extend(masked(0x81, large.as_bytes()));
    bytes.extend(masked(0x82, &[0, 1, 2]));
    bytes.extend(masked(0x81, b""));
    assert_eq!(
        decode(1 << 20, &bytes),
        [
            Seen::Text("Hello".into()),
            Seen::Text(medium),
            Seen::Text(large),
            Seen::Binary(vec![0, 1, 2]),
            Seen::Text(String::new()),
        ]
    );
}

#[test]
fn fragments_are_joined_and_control_frames_may_come_between() {
    let mut bytes = masked(0x01, b"Hel");
    bytes.extend(masked(0x89, b"are you there"));
    bytes.extend(masked(0x00, b""));
    bytes.extend(masked(0x80, b"lo"));
    bytes.extend(masked(0x02, &[1]));
    bytes.extend(masked(0x8A, b""));
    bytes.extend(masked(0x80, &[2]));
    assert_eq!(
        decode(1024, &bytes),
        [
            Seen::Ping(b"are you there".to_vec()),
            Seen::Text("Hello".into()),
            Seen::Pong(Vec::new()),
            Seen::Binary(vec![1, 2]),
        ]
    );
}

#[test]
fn control_frames_are_short_and_whole() {
    assert_eq!(
        decode(1024, &masked(0x09, b"ping")),
        [violation(ProtocolError::FragmentedControl)]
    );
    assert_eq!(
        decode(1024, &masked(0x89, &[0; 126])),
        [violation(ProtocolError::ControlTooLong)]
    );
    assert_eq!(
        decode(1024, &masked(0x89, &[7; 125])),
        [Seen::Ping(vec![7; 125])]
    );
}

#[test]
fn reserved_bits_and_opcodes_are_refused() {
    for first in [0xC1, 0xA1, 0x91] {
        assert_eq!(
            decode(1024, &masked(first, b"x")),
            [violation(ProtocolError::ReservedBits)]
        );
    }
    for opcode in [3, 7, 0xB, 0xF] {
        assert_eq!(
            decode(1024, &masked(0x80 | opcode, b"")),
            [violation(ProtocolError::ReservedOpcode(opcode))]
        );
    }
}

#[test]
fn client_frames_must_be_masked() {
    assert_eq!(
        decode(1024, &[0x81, 0x02, b'h', b'i']),
        [violation(ProtocolError::Unmasked)]
    );
}

#[test]
fn continuations_must_continue_something() {
    assert_eq!(
        decode(1024, &masked(0x80, b"x")),
        [violation(ProtocolError::UnexpectedContinuation)]
    );
    let mut bytes = masked(0x01, b"a");
    bytes.extend(masked(0x81, b"b"));
    assert_eq!(
        decode(1024, &bytes),
        [violation(ProtocolError::ExpectedContinuation)]
    );
}

#[test]
fn size_is_refused_from_the_header_with_1009() {
    // The header alone is enough to refuse: no payload follows here.
    let header = &masked(0x82, &[0; 2000])[..8];
    let seen = decode(1000, header);
    assert_eq!(seen, [violation(ProtocolError::TooBig(1000))]);
    assert_eq!(ProtocolError::TooBig(1000).close_code(), 1009);
    // Fragments count together.
    let mut bytes = masked(0x02, &[0; 600]);
    bytes.extend(masked(0x80, &[0; 600]));
    assert_eq!(
        decode(1000, &bytes),
        [violation(ProtocolError::TooBig(1000))]
    );
    assert_eq!(decode(1200, &bytes), [Seen::Binary(vec![0; 1200])]);
}

#[test]
fn invalid_utf8_is_refused_with_1007() {
    assert_eq!(
        decode(1024, &masked(0x81, b"ok \xff")),
        [violation(ProtocolError::InvalidUtf8)]
    );
    assert_eq!(ProtocolError::InvalidUtf8.close_code(), 1007);
    // A character split across fragments is fine.
    let euro = "€".as_bytes();
    let mut bytes = masked(0x01, &euro[..1]);
    bytes.extend(masked(0x00, &euro[1..2]));
    bytes.extend(masked(0x80, &euro[2..]));
    assert_eq!(decode(1024, &bytes), [Seen::Text("€".into())]);
    // But not one left unfinished at the end of the message.
    let mut bytes = masked(0x01, b"a");
    bytes.extend(masked(0x80, &euro[..2]));
    assert_eq!(
        decode(1024, &bytes),
        [violation(ProtocolError::InvalidUtf8)]
    );
}

#[test]
fn invalid_utf8_fails_fast() {
    // The first fragment is valid, the second is not, the last never comes.
    let mut bytes = masked(0x01, "κόσμε".as_bytes());
    bytes.extend(masked(
        0x00,
        b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80",
    ));
    assert_eq!(
        decode(1024, &bytes),
        [violation(ProtocolError::InvalidUtf8)]
    );
    // Inside one frame: refused before the rest of the frame has arrived.
    let frame = masked(
        0x81,
        b"valid, then \xf4\x90\x80\x80, then more that never arrives",
    );
    assert_eq!(
        decode(1024, &frame[..6 + 16]),
        [violation(ProtocolError::InvalidUtf8)]
    );
}

#[test]
fn close_frames() {
    assert_eq!(decode(1024, &masked(0x88, b"")), [Seen::Close(None)]);
    let mut payload = 1000u16.to_be_bytes().to_vec();
    payload.extend_from_slice("bye ✓".as_bytes());
    assert_eq!(
        decode(1024, &masked(0x88, &payload)),
        [Seen::Close(Some((1000, "bye ✓".into())))]
    );
    assert_eq!(
        decode(1024, &masked(0x88, &[0x03])),
        [violation(ProtocolError::BadClosePayload)]
    );
    assert_eq!(
        decode(1024, &masked(0x88, &1005u16.to_be_bytes())),
        [violation(ProtocolError::BadCloseCode(1005))]
    );
    let mut payload = 1000u16.to_be_bytes().to_vec();
    payload.push(0xff);
    assert_eq!(
        decode(1024, &masked(0x88, &payload)),
        [violation(ProtocolError::InvalidUtf8)]
    );
}

#[test]
fn after_a_violation_only_the_close_is_looked_for() {
    let mut bytes = masked(0xC1, b"rsv set");
    bytes.extend(masked(0x81, b"ignored"));
    bytes.extend(masked(0x01, b"frag"));
    bytes.extend(masked(0x88, &1000u16.to_be_bytes()));
    assert_eq!(
        decode(1024, &bytes),
        [
            violation(ProtocolError::ReservedBits),
            Seen::Close(Some((1000, String::new())))
        ]
    );
    // A too-big message's payload is skipped without being kept.
    let mut bytes = masked(0x82, &[9; 3000]);
    bytes.extend(masked(0x88, b""));
    let mut decoder = Decoder::new(100);
    let mut seen = Vec::new();
    feed_in(&mut decoder, &bytes, &mut seen);
    assert_eq!(
        seen,
        [violation(ProtocolError::TooBig(100)), Seen::Close(None)]
    );
    assert!(decoder.message.is_none());
}

#[test]
fn a_length_over_2_pow_63_stops_decoding() {
    let mut bytes = vec![0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0];
    bytes.extend_from_slice(&MASK);
    bytes.extend(masked(0x88, b""));
    assert_eq!(decode(1024, &bytes), [violation(ProtocolError::BadLength)]);
}

#[test]
fn nothing_is_kept_between_whole_messages() {
    let mut decoder = Decoder::new(1024);
    let mut seen = Vec::new();
    let bytes = masked(0x81, b"one");
    feed_in(&mut decoder, &bytes[..3], &mut seen);
    assert_eq!(decoder.stash_len, 3);
    feed_in(&mut decoder, &bytes[3..], &mut seen);
    assert_eq!(seen, [Seen::Text("one".into())]);
    assert!(decoder.frame.is_none() && decoder.message.is_none());
    assert_eq!(decoder.stash_len, 0);
    assert_eq!(decoder.control.capacity(), 0);
}

#[test]
fn a_break_stops_decoding() {
    let mut bytes = masked(0x81, b"first");
    bytes.extend(masked(0x81, b"second"));
    let mut decoder = Decoder::new(1024);
    let mut count = 0;
    let flow = decoder.feed(&mut bytes, &mut |_| {
        count += 1;
        ControlFlow::Break("stop")
    });
    assert_eq!((flow, count), (ControlFlow::Break("stop"), 1));
}
