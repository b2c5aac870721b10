//! RFC 6455 frames as bytes, without I/O: parsing a client frame's header, unmasking its
//! payload, encoding the server's (unmasked) frames, and which close codes may be sent.

use bytes::{BufMut, Bytes, BytesMut};

/// The longest frame header: 2 bytes, an 8-byte extended length, a 4-byte mask.
pub const MAX_HEADER_BYTES: usize = 14;

/// The largest payload a control frame (close, ping, pong) may carry.
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// A frame's opcode, for the opcodes RFC 6455 defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpCode {
    /// The next fragment of a text or binary message.
    Continuation,
    /// The first (or only) frame of a text message.
    Text,
    /// The first (or only) frame of a binary message.
    Binary,
    /// The closing handshake.
    Close,
    /// A ping, to be answered with a pong carrying the same payload.
    Ping,
    /// A pong.
    Pong,
}

impl OpCode {
    /// The opcode of a header's low nibble; `None` for the reserved ones (3-7, 0xB-0xF).
    pub fn from_bits(bits: u8) -> Option<Self> {
        Some(match bits {
            0x0 => Self::Continuation,
            0x1 => Self::Text,
            0x2 => Self::Binary,
            0x8 => Self::Close,
            0x9 => Self::Ping,
            0xA => Self::Pong,
            _ => return None,
        })
    }

    fn bits(self) -> u8 {
        match self {
            Self::Continuation => 0x0,
            Self::Text => 0x1,
            Self::Binary => 0x2,
            Self::Close => 0x8,
            Self::Ping => 0x9,
            Self::Pong => 0xA,
        }
    }

    /// Whether this is a control frame (close, ping, pong).
    pub fn is_control(self) -> bool {
        matches!(self, Self::Close | Self::Ping | Self::Pong)
    }
}

/// A frame header as sent, before any rule is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The FIN bit: this frame ends its message.
    pub fin: bool,
    /// RSV1-3, which must be zero without a negotiated extension.
    pub rsv: u8,
    /// The raw opcode nibble.
    pub opcode: u8,
    /// The masking key, if the MASK bit is set.
    pub mask: Option<[u8; 4]>,
    /// The payload length (a 64-bit length may have its top bit set; the caller refuses it).
    pub len: u64,
}

/// Parses a header from the start of `bytes`. Returns it with its size in bytes, or `None` when
/// `bytes` ends before the header does.
pub fn parse_header(bytes: &[u8]) -> Option<(Header, usize)> {
    let [first, second, ..] = *bytes else {
        return None;
    };
    let masked = second & 0x80 != 0;
    let (len, mut at) = match second & 0x7F {
        126 => (
            u64::from(u16::from_be_bytes(bytes.get(2..4)?.try_into().ok()?)),
            4,
        ),
        127 => (u64::from_be_bytes(bytes.get(2..10)?.try_into().ok()?), 10),
        short => (u64::from(short), 2),
    };
    let mask = if masked {
        let key: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
        at += 4;
        Some(key)
    } else {
        None
    };
    let header = Header {
        fin: first & 0x80 != 0,
        rsv: (first >> 4) & 0x7,
        opcode: first & 0x0F,
        mask,
        len,
    };
    Some((header, at))
}

/// XORs `data` with `mask`, where `data` starts `offset` bytes into the payload (a payload
/// unmasked in pieces keeps its place in the key).
pub fn unmask(data: &mut [u8], mask: [u8; 4], offset: usize) {
    let mut key = mask;
    key.rotate_left(offset % 4);
    let [a, b, c, d] = key;
    let wide = u64::from_ne_bytes([a, b, c, d, a, b, c, d]);
    let mut chunks = data.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let word = u64::from_ne_bytes(chunk.try_into().expect("chunks of 8")) ^ wide;
        chunk.copy_from_slice(&word.to_ne_bytes());
    }
    for (byte, key) in chunks.into_remainder().iter_mut().zip(key.iter().cycle()) {
        *byte ^= key;
    }
}

/// Encodes a whole server frame (FIN set, unmasked): header and payload in one buffer, so that
/// a frame shared by many sockets is encoded once and written with one slice.
pub fn encode(opcode: OpCode, payload: &[u8]) -> Bytes {
    let mut frame = BytesMut::with_capacity(MAX_HEADER_BYTES - 4 + payload.len());
    frame.put_u8(0x80 | opcode.bits());
    match payload.len() {
        len @ 0..=125 => frame.put_u8(len as u8),
        len @ 126..=0xFFFF => {
            frame.put_u8(126);
            frame.put_u16(len as u16);
        }
        len => {
            frame.put_u8(127);
            frame.put_u64(len as u64);
        }
    }
    frame.put_slice(payload);
    frame.freeze()
}

/// A text frame.
pub fn text(payload: &str) -> Bytes {
    encode(OpCode::Text, payload.as_bytes())
}

/// A close frame with `code` and `reason`, the reason cut (at a character boundary) to fit the
/// 125-byte control payload.
pub fn close(code: u16, reason: &str) -> Bytes {
    let mut end = reason.len().min(MAX_CONTROL_PAYLOAD - 2);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let mut payload = Vec::with_capacity(2 + end);
    payload.extend_from_slice(&code.to_be_bytes());
    payload.extend_from_slice(&reason.as_bytes()[..end]);
    encode(OpCode::Close, &payload)
}

/// A frame as a client sends it: `first` is the FIN/RSV/opcode byte, and the payload is masked
/// with `mask`. The server never sends one; its tests, fuzz targets and test clients build them.
pub fn client_frame(first: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    out.push(first);
    match payload.len() {
        len @ 0..=125 => out.push(0x80 | len as u8),
        len @ 126..=0xFFFF => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&mask);
    let start = out.len();
    out.extend_from_slice(payload);
    // Masking and unmasking are the same XOR.
    unmask(&mut out[start..], mask, 0);
    out
}

/// Whether a close frame may carry `code` (RFC 6455 7.4 and the IANA registry): the defined
/// codes that are not reserved for reporting (1004-1006, 1015), and the 3000-4999 range left to
/// libraries and applications.
pub fn close_code_is_valid(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_length_form_and_the_mask() {
        // "Hello", masked, from RFC 6455 5.7.
        let frame = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        let (header, size) = parse_header(&frame).unwrap();
        assert_eq!(size, 6);
        assert!(header.fin);
        assert_eq!(header.opcode, 0x1);
        assert_eq!(header.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
        assert_eq!(header.len, 5);
        let mut payload = frame[6..].to_vec();
        unmask(&mut payload, header.mask.unwrap(), 0);
        assert_eq!(payload, b"Hello");

        let (header, size) = parse_header(&[0x82, 0x7E, 0x01, 0x00]).unwrap();
        assert_eq!((header.len, size, header.mask), (256, 4, None));
        let long = [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0];
        assert_eq!(parse_header(&long).unwrap().0.len, 65536);
        let reserved = [0x73, 0x00];
        let (header, _) = parse_header(&reserved).unwrap();
        assert_eq!((header.fin, header.rsv, header.opcode), (false, 7, 3));
    }

    #[test]
    fn an_incomplete_header_is_none() {
        assert!(parse_header(&[]).is_none());
        assert!(parse_header(&[0x81]).is_none());
        assert!(parse_header(&[0x81, 0xFE, 0x01]).is_none());
        assert!(parse_header(&[0x81, 0xFF, 0, 0, 0, 0, 0, 0, 1]).is_none());
        assert!(parse_header(&[0x81, 0x85, 1, 2, 3]).is_none());
    }

    #[test]
    fn unmasking_in_pieces_matches_unmasking_at_once() {
        let mask = [1, 2, 3, 4];
        let original: Vec<u8> = (0..=40).collect();
        let mut whole = original.clone();
        unmask(&mut whole, mask, 0);
        let mut pieces = original.clone();
        let (a, rest) = pieces.split_at_mut(3);
        let (b, c) = rest.split_at_mut(17);
        unmask(a, mask, 0);
        unmask(b, mask, 3);
        unmask(c, mask, 20);
        assert_eq!(whole, pieces);
        assert_eq!(whole[..4], [1, 1 ^ 2, 2 ^ 3, 3 ^ 4]);
    }

    #[test]
    fn encodes_each_length_form_unmasked() {
        assert_eq!(&text("Hi")[..], [0x81, 2, b'H', b'i']);
        let medium = encode(OpCode::Binary, &[7; 300]);
        assert_eq!(medium[..4], [0x82, 126, 0x01, 0x2C]);
        assert_eq!(medium.len(), 304);
        let large = encode(OpCode::Binary, &vec![0; 70_000]);
        assert_eq!(large[..10], [0x82, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
        assert_eq!(&encode(OpCode::Pong, b"")[..], [0x8A, 0]);
    }

    #[test]
    fn close_frames_fit_the_control_limit() {
        assert_eq!(&close(1000, "")[..], [0x88, 2, 0x03, 0xE8]);
        let long = close(4100, &"é".repeat(100));
        assert_eq!(long[1] as usize, long.len() - 2);
        assert!(long.len() - 2 <= MAX_CONTROL_PAYLOAD);
        assert!(std::str::from_utf8(&long[4..]).is_ok());
    }

    #[test]
    fn close_code_rules() {
        for valid in [
            1000, 1001, 1002, 1003, 1007, 1008, 1011, 1014, 3000, 4100, 4999,
        ] {
            assert!(close_code_is_valid(valid), "{valid}");
        }
        for invalid in [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000] {
            assert!(!close_code_is_valid(invalid), "{invalid}");
        }
    }
}
