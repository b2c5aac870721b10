//! The receive side of a run's subscribed connections: one thread that waits on all of their
//! sockets with one epoll (mio), reads each into one shared buffer and decodes WebSocket frames
//! in place.
//!
//! Why not a task per connection: the generator has one core, and waking, scheduling and
//! polling a task cost several µs per delivery, more than reading the frame. In a fan-out to
//! 5 000 sockets that made the generator, not the server, the slowest stage, so the latency
//! measured was partly the generator's own. Connecting and subscribing still happen on tasks
//! (they are not measured per delivery); only then is a socket handed over here.
//!
//! The protocol side is what a Pusher client owes the server: answer WebSocket pings and
//! `pusher:ping`, ping after `activity_timeout` of silence, mask what it sends, and say goodbye
//! with a close frame.

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token, Waker};
use tokio::sync::oneshot;

use crate::fleet;
use crate::payload::Listen;
use crate::seq::Received;
use crate::stats::Recorder;
use crate::wire::{self, Frame};

mod frame;

use frame::{masked_frame, WsFrame, MAX_MESSAGE};

const WAKER: Token = Token(usize::MAX);
/// How often quiet sockets are checked for a keep-alive ping.
const KEEPALIVE_SCAN: Duration = Duration::from_secs(1);

/// A subscribed connection handed over by its task.
pub struct Adopted {
    pub socket: std::net::TcpStream,
    pub stream: u32,
    pub listen: Listen,
    pub activity_timeout: Duration,
    /// Where the connection's deliveries go once it ends (closed, or the run stopped).
    pub done: oneshot::Sender<Received>,
}

/// The thread and how to reach it.
pub struct Reactor {
    adopt: Mutex<mpsc::Sender<Adopted>>,
    waker: Waker,
    stopping: Arc<AtomicBool>,
}

impl Reactor {
    /// Starts the thread; it runs until [`Reactor::stop`].
    pub fn start(recorder: Arc<Recorder>) -> io::Result<Reactor> {
        let poll = Poll::new()?;
        let waker = Waker::new(poll.registry(), WAKER)?;
        let (adopt, adopted) = mpsc::channel();
        let stopping = Arc::new(AtomicBool::new(false));
        let mut worker = Worker {
            poll,
            adopted,
            stopping: Arc::clone(&stopping),
            recorder,
            slots: Vec::new(),
            free: Vec::new(),
            buffer: vec![0; 64 * 1024],
            mask_state: 0x9E37_79B9_7F4A_7C15,
        };
        std::thread::Builder::new()
            .name("receive".into())
            .spawn(move || worker.run())?;
        Ok(Reactor {
            adopt: Mutex::new(adopt),
            waker,
            stopping,
        })
    }

    /// Hands a connection over. If the thread is gone, the connection ends at once with
    /// nothing received.
    pub fn adopt(&self, adopted: Adopted) {
        let sent = self
            .adopt
            .lock()
            .map_err(|_| ())
            .and_then(|tx| tx.send(adopted).map_err(|_| ()));
        if sent.is_ok() {
            let _ = self.waker.wake();
        }
    }

    /// Ends every connection (each reports what it received) and the thread. Idempotent.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Release);
        let _ = self.waker.wake();
    }
}

impl Drop for Reactor {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Slot {
    socket: TcpStream,
    stream: u32,
    listen: Listen,
    received: Received,
    done: oneshot::Sender<Received>,
    /// Bytes of a frame that has not fully arrived (usually empty).
    partial: Vec<u8>,
    /// A fragmented text message being put together.
    fragments: Option<Vec<u8>>,
    activity_timeout: Duration,
    last_heard: Instant,
}

struct Worker {
    poll: Poll,
    adopted: mpsc::Receiver<Adopted>,
    stopping: Arc<AtomicBool>,
    recorder: Arc<Recorder>,
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    buffer: Vec<u8>,
    mask_state: u64,
}

/// Why a connection ended.
pub(crate) struct Closed(String);

impl Worker {
    fn run(&mut self) {
        let mut events = Events::with_capacity(1024);
        let mut next_scan = Instant::now() + KEEPALIVE_SCAN;
        loop {
            let wait = next_scan.saturating_duration_since(Instant::now());
            if let Err(error) = self.poll.poll(&mut events, Some(wait)) {
                if error.kind() != io::ErrorKind::Interrupted {
                    self.recorder.errors.count("receive_poll", error);
                    self.finish_all();
                    return;
                }
            }
            for event in events.iter() {
                match event.token() {
                    WAKER => self.take_adopted(),
                    Token(index) => self.on_readable(index),
                }
            }
            if self.stopping.load(Ordering::Acquire) {
                self.finish_all();
                return;
            }
            if Instant::now() >= next_scan {
                self.keep_alive();
                next_scan = Instant::now() + KEEPALIVE_SCAN;
            }
        }
    }

    fn take_adopted(&mut self) {
        while let Ok(adopted) = self.adopted.try_recv() {
            let received = Received::default();
            if let Err(error) = adopted.socket.set_nonblocking(true) {
                self.recorder.errors.count("closed_early", error);
                let _ = adopted.done.send(received);
                continue;
            }
            let index = self.free.pop().unwrap_or(self.slots.len());
            let mut socket = TcpStream::from_std(adopted.socket);
            if let Err(error) =
                self.poll
                    .registry()
                    .register(&mut socket, Token(index), Interest::READABLE)
            {
                self.recorder.errors.count("closed_early", error);
                let _ = adopted.done.send(received);
                self.free.push(index);
                continue;
            }
            let slot = Slot {
                socket,
                stream: adopted.stream,
                listen: adopted.listen,
                received,
                done: adopted.done,
                partial: Vec::new(),
                fragments: None,
                activity_timeout: adopted.activity_timeout,
                last_heard: Instant::now(),
            };
            if index == self.slots.len() {
                self.slots.push(Some(slot));
            } else {
                self.slots[index] = Some(slot);
            }
            // Edge-triggered: anything that arrived before registering is read now.
            self.on_readable(index);
        }
    }

    fn on_readable(&mut self, index: usize) {
        let Some(mut slot) = self.slots.get_mut(index).and_then(Option::take) else {
            return;
        };
        match self.read_all(&mut slot) {
            Ok(()) => self.slots[index] = Some(slot),
            Err(Closed(why)) => {
                if !self.stopping.load(Ordering::Acquire) {
                    self.recorder.errors.count("closed_early", why);
                }
                let _ = self.poll.registry().deregister(&mut slot.socket);
                let _ = slot.done.send(slot.received);
                self.free.push(index);
            }
        }
    }

    /// Reads until the socket is empty (mio is edge-triggered) and handles every whole frame.
    fn read_all(&mut self, slot: &mut Slot) -> Result<(), Closed> {
        loop {
            let n = match slot.socket.read(&mut self.buffer) {
                Ok(0) => return Err(Closed("server closed the TCP stream".into())),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Closed(e.to_string())),
            };
            slot.last_heard = Instant::now();
            // A TCP read shorter than the buffer emptied the socket: whatever arrives next is a
            // new edge, so the read that would only say WouldBlock is skipped.
            let drained = n < self.buffer.len();
            if slot.partial.is_empty() {
                // The usual case: whole frames straight from the shared buffer.
                let buffer = std::mem::take(&mut self.buffer);
                let used = self.frames(slot, &buffer[..n]);
                if let Ok(used) = used {
                    slot.partial.extend_from_slice(&buffer[used..n]);
                }
                self.buffer = buffer;
                used?;
            } else {
                slot.partial.extend_from_slice(&self.buffer[..n]);
                let pending = std::mem::take(&mut slot.partial);
                let used = self.frames(slot, &pending)?;
                slot.partial = pending;
                slot.partial.drain(..used);
            }
            if drained {
                return Ok(());
            }
        }
    }

    /// Handles every whole frame at the start of `bytes`; returns how many bytes they took.
    fn frames(&mut self, slot: &mut Slot, bytes: &[u8]) -> Result<usize, Closed> {
        let mut at = 0;
        while let Some(frame) = WsFrame::parse(&bytes[at..])? {
            at += frame.len;
            let payload = &bytes[at - frame.payload_len..at];
            match frame.opcode {
                0x1 if frame.fin => self.on_text(slot, payload)?,
                0x1 => slot.fragments = Some(payload.to_vec()),
                0x0 => {
                    let Some(message) = slot.fragments.as_mut() else {
                        return Err(Closed("continuation frame without a start".into()));
                    };
                    message.extend_from_slice(payload);
                    if message.len() > MAX_MESSAGE {
                        return Err(Closed("message too large".into()));
                    }
                    if frame.fin {
                        let message = slot.fragments.take().unwrap_or_default();
                        self.on_text(slot, &message)?;
                    }
                }
                0x8 => {
                    let code = payload
                        .get(..2)
                        .map_or(1005, |c| u16::from_be_bytes([c[0], c[1]]));
                    let reason = String::from_utf8_lossy(payload.get(2..).unwrap_or_default());
                    return Err(Closed(format!("close frame {code} {reason:?}")));
                }
                0x9 => self.send(slot, 0xA, payload)?,
                // Pongs and binary messages carry nothing a Pusher client reads.
                _ => {}
            }
        }
        Ok(at)
    }

    fn on_text(&mut self, slot: &mut Slot, payload: &[u8]) -> Result<(), Closed> {
        let errors = &self.recorder.errors;
        let Ok(text) = std::str::from_utf8(payload) else {
            errors.count("garbled_frame", "a text frame that is not UTF-8");
            return Ok(());
        };
        let Some(frame) = Frame::parse(text) else {
            errors.count(
                "garbled_frame",
                format!("unparseable frame {}", wire::excerpt(text)),
            );
            return Ok(());
        };
        match frame.event.as_ref() {
            "pusher:ping" => self.send(slot, 0x1, wire::PONG.as_bytes()),
            "pusher:pong" => Ok(()),
            _ => {
                fleet::record(
                    &frame,
                    text,
                    slot.stream,
                    &slot.listen,
                    &mut slot.received,
                    &self.recorder,
                );
                Ok(())
            }
        }
    }

    /// Sends one masked frame. Control frames and pings are tiny: a socket whose send buffer
    /// cannot take them is not keeping up, and is dropped.
    fn send(&mut self, slot: &mut Slot, opcode: u8, payload: &[u8]) -> Result<(), Closed> {
        let frame = masked_frame(opcode, payload, self.next_mask());
        match slot.socket.write(&frame) {
            Ok(n) if n == frame.len() => Ok(()),
            Ok(_) => Err(Closed("send buffer full".into())),
            Err(e) => Err(Closed(format!("send failed: {e}"))),
        }
    }

    /// Pings the server on sockets quiet for their activity timeout, as pusher-js does.
    fn keep_alive(&mut self) {
        let now = Instant::now();
        let quiet: Vec<usize> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                s.as_ref()
                    .filter(|s| now.duration_since(s.last_heard) >= s.activity_timeout)
                    .map(|_| i)
            })
            .collect();
        for index in quiet {
            let Some(mut slot) = self.slots[index].take() else {
                continue;
            };
            slot.last_heard = now;
            match self.send(&mut slot, 0x1, wire::PING.as_bytes()) {
                Ok(()) => self.slots[index] = Some(slot),
                Err(Closed(why)) => {
                    self.recorder.errors.count("closed_early", why);
                    let _ = self.poll.registry().deregister(&mut slot.socket);
                    let _ = slot.done.send(slot.received);
                    self.free.push(index);
                }
            }
        }
    }

    /// The run is over: every connection says goodbye and reports what it received.
    fn finish_all(&mut self) {
        // Connections handed over after the stop still report (with nothing received).
        while let Ok(adopted) = self.adopted.try_recv() {
            let _ = adopted.done.send(Received::default());
        }
        for index in 0..self.slots.len() {
            if let Some(mut slot) = self.slots[index].take() {
                let _ = self.send(&mut slot, 0x8, &1000u16.to_be_bytes());
                let _ = slot.done.send(slot.received);
            }
        }
    }

    /// A client's mask key: RFC 6455 asks for unpredictable keys so that a browser's traffic
    /// cannot be shaped to fool proxies. xorshift is plenty for a load generator.
    fn next_mask(&mut self) -> [u8; 4] {
        let mut x = self.mask_state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.mask_state = x;
        (x as u32).to_be_bytes()
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use super::*;

    /// A server frame (unmasked, FIN set).
    fn server_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut frame = masked_frame(opcode, payload, [0; 4]);
        // Same layout without the mask bit and key: a zero mask leaves the payload as is.
        frame[1] &= 0x7F;
        let key_at = frame.len() - payload.len() - 4;
        frame.drain(key_at..key_at + 4);
        frame
    }

    /// Reads one client frame and returns (opcode, unmasked payload).
    fn client_frame(socket: &mut std::net::TcpStream) -> (u8, Vec<u8>) {
        let mut head = [0u8; 2];
        socket.read_exact(&mut head).unwrap();
        assert_ne!(head[1] & 0x80, 0, "client frames are masked");
        let len = usize::from(head[1] & 0x7F);
        assert!(len < 126, "test frames are small");
        let mut mask = [0u8; 4];
        socket.read_exact(&mut mask).unwrap();
        let mut payload = vec![0u8; len];
        socket.read_exact(&mut payload).unwrap();
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= mask[i % 4];
        }
        (head[0] & 0x0F, payload)
    }

    /// Gives `client` to the receive thread as a stream-0 benchmark receiver.
    fn hand_over(reactor: &Reactor, client: std::net::TcpStream) -> oneshot::Receiver<Received> {
        let (done, received) = oneshot::channel();
        reactor.adopt(Adopted {
            socket: client,
            stream: 0,
            listen: Listen::payload("bench"),
            activity_timeout: Duration::from_secs(120),
            done,
        });
        received
    }

    fn event(seq: u64) -> Vec<u8> {
        let data = crate::payload::Payload { c: 0, s: seq, t: 0 }.encode(0);
        let text = serde_json::json!({"event": "bench", "channel": "c", "data": data}).to_string();
        server_frame(0x1, text.as_bytes())
    }

    #[test]
    fn receives_answers_pings_and_reports_when_the_server_closes() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        let recorder = Arc::new(Recorder::new());
        let reactor = Reactor::start(Arc::clone(&recorder)).unwrap();
        let received = hand_over(&reactor, client);

        // Two events in one write, then one split across two writes.
        let mut both = event(0);
        both.extend(event(1));
        server.write_all(&both).unwrap();
        let third = event(2);
        server.write_all(&third[..7]).unwrap();
        server.flush().unwrap();
        // Not waiting for anything: a pause so that the halves arrive as two reads and the
        // partial-frame path is taken.
        std::thread::sleep(Duration::from_millis(20));
        server.write_all(&third[7..]).unwrap();
        // A fragmented message: text start, continuation with FIN.
        let whole = event(3);
        let text = &whole[2..];
        let mut start = server_frame(0x1, &text[..10]);
        start[0] &= 0x7F;
        server.write_all(&start).unwrap();
        server.write_all(&server_frame(0x0, &text[10..])).unwrap();

        server.write_all(&server_frame(0x9, b"hi")).unwrap();
        assert_eq!(client_frame(&mut server), (0xA, b"hi".to_vec()));
        server
            .write_all(&server_frame(0x1, br#"{"event":"pusher:ping","data":{}}"#))
            .unwrap();
        let (opcode, pong) = client_frame(&mut server);
        assert_eq!((opcode, pong.as_slice()), (0x1, wire::PONG.as_bytes()));

        server.write_all(&server_frame(0x8, &[0x0F, 0xA1])).unwrap();
        let received = received.blocking_recv().unwrap();
        assert_eq!(received.seen.len(), 4);
        assert_eq!(recorder.deliveries.load(Ordering::Relaxed), 4);
        assert_eq!(recorder.errors.get("closed_early"), 1);
        reactor.stop();
    }

    #[test]
    fn stopping_says_goodbye_and_reports_every_connection() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let recorder = Arc::new(Recorder::new());
        let reactor = Reactor::start(Arc::clone(&recorder)).unwrap();
        let mut servers = Vec::new();
        let mut results = Vec::new();
        for _ in 0..3 {
            let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            servers.push(listener.accept().unwrap().0);
            results.push(hand_over(&reactor, client));
        }
        servers[1].write_all(&event(7)).unwrap();
        // Wait for the delivery before stopping, without sleeping a guessed time.
        while recorder.deliveries.load(Ordering::Relaxed) == 0 {
            std::thread::yield_now();
        }
        reactor.stop();
        let seen: Vec<u64> = results
            .into_iter()
            .map(|r| r.blocking_recv().unwrap().seen.len())
            .collect();
        assert_eq!(seen, [0, 1, 0]);
        for server in &mut servers {
            let (opcode, payload) = client_frame(server);
            assert_eq!(
                (opcode, payload.as_slice()),
                (0x8, &1000u16.to_be_bytes()[..])
            );
        }
        assert_eq!(recorder.errors.get("closed_early"), 0);
    }
}
