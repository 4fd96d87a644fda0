//! Lines out of a byte stream, in linear time and bounded memory whatever
//! the stream holds: a line longer than the limit is cut and the rest of it
//! skipped (counted), so a file growing without a newline costs no memory.

use nodepair_protocol::api::logs::{MAX_LINE_BYTES, cut_line};

/// Splits bytes into lines as they come.
#[derive(Debug, Default)]
pub(crate) struct LineSplitter {
    /// The start of a line not ended yet, at most [`MAX_LINE_BYTES`] + 1.
    partial: Vec<u8>,
    /// Inside a line already cut: its bytes are skipped to the newline.
    skipping: bool,
    /// Bytes dropped since last asked (the cut-off rests of long lines).
    dropped: u64,
}

impl LineSplitter {
    /// Feeds `bytes`; returns the lines they ended (without their line
    /// ends, `\r` too), each cut to [`MAX_LINE_BYTES`]. Each byte is looked
    /// at a bounded number of times.
    pub(crate) fn push(&mut self, mut bytes: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        while !bytes.is_empty() {
            let end = bytes.iter().position(|&b| b == b'\n');
            let (part, ended) = match end {
                Some(i) => (&bytes[..i], true),
                None => (bytes, false),
            };
            bytes = match end {
                Some(i) => &bytes[i + 1..],
                None => &[],
            };
            if self.skipping {
                self.dropped += part.len() as u64;
            } else {
                // Keep at most one byte past the limit: enough to know the
                // line is too long.
                let room = (MAX_LINE_BYTES + 1).saturating_sub(self.partial.len());
                let take = part.len().min(room);
                self.partial.extend_from_slice(&part[..take]);
                let rest = (part.len() - take) as u64;
                if self.partial.len() > MAX_LINE_BYTES {
                    let line = self.line();
                    lines.push(line);
                    self.dropped += rest;
                    self.skipping = !ended;
                    continue;
                }
            }
            if ended {
                if self.skipping {
                    self.skipping = false;
                } else {
                    lines.push(self.line());
                }
            }
        }
        lines
    }

    /// The line collected so far, cut to the limit, and a fresh start.
    fn line(&mut self) -> String {
        let mut bytes = std::mem::take(&mut self.partial);
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        let text = String::from_utf8_lossy(&bytes);
        let (line, lost) = cut_line(&text);
        self.dropped += lost;
        line
    }

    /// Bytes dropped since the last call (the rests of cut lines).
    pub(crate) fn take_dropped(&mut self) -> u64 {
        std::mem::take(&mut self.dropped)
    }

    /// The line not ended yet, if any (a file that ends without a newline).
    pub(crate) fn finish(&mut self) -> Option<String> {
        (!self.partial.is_empty() && !self.skipping).then(|| self.line())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_across_chunks_and_crlf() {
        let mut s = LineSplitter::default();
        assert!(s.push(b"one\r\ntw").len() == 1);
        assert_eq!(s.push(b"o\nthree\n"), ["two", "three"]);
        assert_eq!(s.push(b"four"), Vec::<String>::new());
        assert_eq!(s.finish().as_deref(), Some("four"));
    }

    #[test]
    fn a_line_without_end_keeps_no_more_than_the_limit() {
        let mut s = LineSplitter::default();
        let chunk = vec![b'a'; 1 << 20];
        let mut out = Vec::new();
        for _ in 0..50 {
            out.extend(s.push(&chunk));
            assert!(
                s.partial.capacity() <= 4 * MAX_LINE_BYTES,
                "memory stays bounded"
            );
        }
        assert_eq!(out.len(), 1, "one cut line");
        assert!(out[0].ends_with('…'));
        out.extend(s.push(b"tail\nnext\n"));
        assert_eq!(out[1..], ["next"]);
        let dropped = s.take_dropped();
        // Every byte of the long line is sent or counted ("tail" ends it).
        assert_eq!(
            dropped as usize + out[0].len() - '…'.len_utf8(),
            (50 << 20) + "tail".len()
        );
    }

    #[test]
    fn two_byte_lines_cost_linear_time() {
        let mut s = LineSplitter::default();
        let chunk: Vec<u8> = b"x\n".repeat(1 << 19);
        let lines = s.push(&chunk);
        assert_eq!(lines.len(), 1 << 19);
    }
}
