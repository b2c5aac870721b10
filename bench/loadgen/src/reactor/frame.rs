//! WebSocket framing as the generator's receive loop needs it: a server frame's header, read
//! in place, and the masked frames a client sends.

use super::Closed;

/// Larger messages than this are a broken server (or not a benchmark's): the socket is dropped.
pub const MAX_MESSAGE: usize = 16 << 20;

/// A server frame's header, as far as the receive loop needs it.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct WsFrame {
    pub fin: bool,
    pub opcode: u8,
    /// Header plus payload.
    pub len: usize,
    pub payload_len: usize,
}

impl WsFrame {
    /// The frame at the start of `bytes`, or `None` until all of it has arrived.
    pub fn parse(bytes: &[u8]) -> Result<Option<WsFrame>, Closed> {
        let [first, second, ..] = *bytes else {
            return Ok(None);
        };
        if second & 0x80 != 0 {
            return Err(Closed("the server masked a frame".into()));
        }
        let (header, payload_len) = match second & 0x7F {
            126 => match bytes.get(2..4) {
                Some(b) => (4, usize::from(u16::from_be_bytes([b[0], b[1]]))),
                None => return Ok(None),
            },
            127 => match bytes.get(2..10) {
                Some(b) => {
                    let len = u64::from_be_bytes(b.try_into().unwrap_or_default());
                    (10, usize::try_from(len).unwrap_or(usize::MAX))
                }
                None => return Ok(None),
            },
            len => (2, usize::from(len)),
        };
        if payload_len > MAX_MESSAGE {
            return Err(Closed(format!("a {payload_len}-byte frame")));
        }
        if bytes.len() < header + payload_len {
            return Ok(None);
        }
        Ok(Some(WsFrame {
            fin: first & 0x80 != 0,
            opcode: first & 0x0F,
            len: header + payload_len,
            payload_len,
        }))
    }
}

/// A client frame: FIN set, masked with `mask`.
pub(super) fn masked_frame(opcode: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(payload.len() + 14);
    frame.push(0x80 | opcode);
    match payload.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n if n <= usize::from(u16::MAX) => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(bytes: &[u8]) -> Option<WsFrame> {
        WsFrame::parse(bytes).unwrap_or_else(|_| panic!("rejected {bytes:?}"))
    }

    #[test]
    fn parses_the_three_length_forms_and_waits_for_the_rest() {
        let small = [0x81, 3, b'a', b'b', b'c'];
        assert_eq!(
            parsed(&small),
            Some(WsFrame {
                fin: true,
                opcode: 1,
                len: 5,
                payload_len: 3
            })
        );
        assert_eq!(parsed(&small[..4]), None);
        assert_eq!(parsed(&small[..1]), None);

        let mut medium = vec![0x01, 126, 0x01, 0x00];
        medium.resize(4 + 256, b'x');
        let frame = parsed(&medium).unwrap();
        assert_eq!((frame.fin, frame.opcode, frame.len), (false, 1, 260));
        assert_eq!(parsed(&medium[..259]), None);
        assert_eq!(parsed(&medium[..3]), None);

        let mut large = vec![0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0];
        large.resize(10 + 65536, 0);
        assert_eq!(parsed(&large).unwrap().payload_len, 65536);
        assert_eq!(parsed(&large[..9]), None);
    }

    #[test]
    fn refuses_masked_and_oversized_server_frames() {
        assert!(WsFrame::parse(&[0x81, 0x81, 1, 2, 3, 4, b'a']).is_err());
        assert!(WsFrame::parse(&[0x81, 127, 0, 0, 0, 0, 0x10, 0, 0, 0]).is_err());
    }

    #[test]
    fn masked_frames_unmask_to_the_payload() {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        // RFC 6455 §5.7: a masked "Hello".
        assert_eq!(
            masked_frame(0x1, b"Hello", mask),
            [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]
        );
        let long = vec![7u8; 300];
        let frame = masked_frame(0x1, &long, mask);
        assert_eq!(&frame[..4], &[0x81, 0x80 | 126, 0x01, 0x2c]);
        let unmasked: Vec<u8> = frame[8..]
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ mask[i % 4])
            .collect();
        assert_eq!(unmasked, long);
    }
}
