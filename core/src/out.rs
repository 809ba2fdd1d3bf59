//! Where text written piece by piece goes: a byte buffer, a `String` or a formatter.
//!
//! The hand-written JSON of a preview writes some thirty pieces per line (keys, digits, dates,
//! words). Into a `String`, every piece of bytes needed a UTF-8 check of its own, and words went
//! through `fmt`'s dynamic calls and padding. Into a `Vec<u8>` each piece is a copy, and the
//! whole buffer is checked once when it becomes a `String`. The same writers still serve
//! `Display` through [`FmtOut`].

use std::fmt;

/// A sink for text.
pub(crate) trait Out {
    /// Appends `s`.
    fn put(&mut self, s: &str);
    /// Appends bytes that are ASCII (digits, dates, punctuation).
    fn ascii(&mut self, b: &[u8]);
    /// Appends formatted text: for the rarer shapes, where `fmt` costs nothing that matters.
    fn args(&mut self, args: fmt::Arguments<'_>);
}

impl Out for Vec<u8> {
    #[inline]
    fn put(&mut self, s: &str) {
        self.extend_from_slice(s.as_bytes());
    }
    #[inline]
    fn ascii(&mut self, b: &[u8]) {
        self.extend_from_slice(b);
    }
    fn args(&mut self, args: fmt::Arguments<'_>) {
        struct Bytes<'v>(&'v mut Vec<u8>);
        impl fmt::Write for Bytes<'_> {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                self.0.extend_from_slice(s.as_bytes());
                Ok(())
            }
        }
        // Writing to a `Vec` cannot fail.
        let _ = fmt::write(&mut Bytes(self), args);
    }
}

impl Out for String {
    #[inline]
    fn put(&mut self, s: &str) {
        self.push_str(s);
    }
    #[inline]
    fn ascii(&mut self, b: &[u8]) {
        // Each ASCII byte is the character of that code.
        self.extend(b.iter().map(|&c| char::from(c)));
    }
    fn args(&mut self, args: fmt::Arguments<'_>) {
        // Writing to a `String` cannot fail.
        let _ = fmt::Write::write_fmt(self, args);
    }
}

/// A formatter as an [`Out`]: keeps the first error, as `?` after each `write_str` would.
pub(crate) struct FmtOut<'f, 'g> {
    f: &'f mut fmt::Formatter<'g>,
    result: fmt::Result,
}

impl<'f, 'g> FmtOut<'f, 'g> {
    pub(crate) fn new(f: &'f mut fmt::Formatter<'g>) -> Self {
        FmtOut { f, result: Ok(()) }
    }

    /// The first error met, if any.
    pub(crate) fn result(self) -> fmt::Result {
        self.result
    }
}

impl Out for FmtOut<'_, '_> {
    fn put(&mut self, s: &str) {
        if self.result.is_ok() {
            self.result = self.f.write_str(s);
        }
    }
    fn ascii(&mut self, b: &[u8]) {
        match std::str::from_utf8(b) {
            Ok(s) => self.put(s),
            Err(_) => self.result = Err(fmt::Error),
        }
    }
    fn args(&mut self, args: fmt::Arguments<'_>) {
        if self.result.is_ok() {
            self.result = self.f.write_fmt(args);
        }
    }
}

/// Appends `n` in decimal digits.
pub(crate) fn put_u32(n: u32, out: &mut impl Out) {
    let mut buf = [0u8; 10];
    let mut at = buf.len();
    let mut n = n;
    loop {
        at -= 1;
        if let Some(slot) = buf.get_mut(at) {
            *slot = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || at == 0 {
            break;
        }
    }
    out.ascii(buf.get(at..).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_display_writes_them() {
        for n in (0..2000).chain([9_999, 10_000, 65_535, 1 << 31, u32::MAX - 1, u32::MAX]) {
            let mut bytes = Vec::new();
            put_u32(n, &mut bytes);
            let mut text = String::new();
            put_u32(n, &mut text);
            assert_eq!(bytes, n.to_string().into_bytes());
            assert_eq!(text, n.to_string());
        }
    }

    #[test]
    fn every_sink_gets_the_same_text() {
        struct Shown;
        impl fmt::Display for Shown {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut o = FmtOut::new(f);
                o.put("né ");
                o.ascii(b"12.50");
                o.args(format_args!(" {}-{}", 7, "x"));
                o.result()
            }
        }
        let mut bytes = Vec::new();
        let mut text = String::new();
        bytes.put("né ");
        bytes.ascii(b"12.50");
        bytes.args(format_args!(" {}-{}", 7, "x"));
        text.put("né ");
        text.ascii(b"12.50");
        text.args(format_args!(" {}-{}", 7, "x"));
        assert_eq!(
            String::from_utf8(bytes).ok().as_deref(),
            Some("né 12.50 7-x")
        );
        assert_eq!(text, "né 12.50 7-x");
        assert_eq!(Shown.to_string(), "né 12.50 7-x");
    }
}
