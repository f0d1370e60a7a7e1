//! Ways to carry a session's frames: between two stores in one process, and over any byte
//! stream with a 4-byte length before each frame. The state machine itself does no I/O.

use std::io::{ErrorKind, Read, Write};

use super::{Session, SessionConfig, SyncReport};
use crate::Store;
use crate::error::{Error, Result};

/// Runs a session between two stores of this process until both are finished, as if their
/// frames crossed a network (every frame goes through its encoding). Returns each side's
/// report.
pub fn sync_in_process(
    a: &Store,
    a_config: SessionConfig,
    b: &Store,
    b_config: SessionConfig,
) -> Result<(SyncReport, SyncReport)> {
    let mut left = Session::new(a, a_config)?;
    let mut right = Session::new(b, b_config)?;
    // Each step moves every pending frame one way; a session that stops producing frames
    // before finishing would loop forever, so the number of quiet rounds is bounded.
    let mut quiet = 0;
    while !(left.is_finished() && right.is_finished()) {
        let mut moved = false;
        while let Some(frame) = left.poll_transmit() {
            moved = true;
            if !right.is_finished() {
                right.receive(&frame)?;
            }
        }
        while let Some(frame) = right.poll_transmit() {
            moved = true;
            if !left.is_finished() {
                left.receive(&frame)?;
            }
        }
        quiet = if moved { 0 } else { quiet + 1 };
        if quiet > 2 {
            return Err(Error::Protocol("the session stalled with nothing left to send".into()));
        }
    }
    Ok((left.report().clone(), right.report().clone()))
}

/// Writes one frame with its length (4 bytes, big-endian) in front.
pub fn write_frame(stream: &mut impl Write, frame: &[u8]) -> Result<()> {
    let length = u32::try_from(frame.len())
        .map_err(|_| Error::InvalidInput("a frame is larger than 4 GiB".into()))?;
    stream.write_all(&length.to_be_bytes())?;
    stream.write_all(frame)?;
    Ok(())
}

/// Reads one frame written by [`write_frame`]; `None` at a clean end of the stream. A length
/// above `limit` is refused before anything is allocated.
pub fn read_frame(stream: &mut impl Read, limit: usize) -> Result<Option<Vec<u8>>> {
    let mut length = [0u8; 4];
    match stream.read_exact(&mut length) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let length = usize::try_from(u32::from_be_bytes(length)).unwrap_or(usize::MAX);
    if length > limit {
        return Err(Error::Decode {
            what: "a sync message",
            detail: format!("a frame of {length} bytes is larger than the limit of {limit}"),
        });
    }
    let mut frame = vec![0u8; length];
    stream.read_exact(&mut frame)?;
    Ok(Some(frame))
}

/// Runs a session over a byte stream (a socket, say) until it is finished: writes pending
/// frames, then reads one, and so on. Blocking; for tests and tools (apps use the async
/// client).
pub fn sync_over_stream<S: Read + Write>(session: &mut Session<'_>, stream: &mut S) -> Result<()> {
    let limit = session.max_frame_bytes();
    loop {
        while let Some(frame) = session.poll_transmit() {
            write_frame(stream, &frame)?;
        }
        stream.flush()?;
        if session.is_finished() {
            return Ok(());
        }
        let received = match read_frame(stream, limit) {
            Ok(Some(frame)) => session.receive(&frame),
            Ok(None) => Err(Error::Protocol("the peer closed the connection".into())),
            Err(error) => Err(error),
        };
        if let Err(error) = received {
            // Tell the peer why (the session queued an Error frame), then give up.
            while let Some(frame) = session.poll_transmit() {
                let _ = write_frame(stream, &frame);
            }
            let _ = stream.flush();
            return Err(error);
        }
    }
}
